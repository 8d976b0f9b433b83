"""Every example in the README runs as written.

Each shell block is either run here or marked just above it with `<!-- readme-test: MARK -->`, a mark this
file knows (a token, a GUI client, a container runtime...). A new unmarked block without a runner fails, so no
example goes untried. The quick start (which installs from PyPI) and the npx examples run in a fresh copy of
the checkout as `outside` checks (CI, or `-m outside`); the doctor and HTTP examples run the console script of
this environment in place of `.venv/bin/mcp-oauth-clients`, so a plain `pytest` runs them and installs nothing.
Other substitutions, named where they happen: `npx -y PACKAGE@VERSION` runs the same pinned version installed
by `python3 -m tests.npm_tools` (tests download nothing), and the HTTP example's port becomes a free one
(other processes on a shared machine may hold 8000).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from mcp_oauth_clients.cli import _parser
from mcp_oauth_clients.emulator import DEMO_CLIENT_ID
from tests import npm_tools
from tests.conftest import outside_selected
from tests.stdio_client import SCRIPT, clean_env
from tests.test_http import free_port

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# The README first, so its first two blocks stay the quick start and the test command; then every docs/ page.
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SH = re.compile(r"(?:<!-- readme-test: (?P<mark>[a-z-]+) -->\n)?```sh\n(?P<body>.*?)\n```", re.S)
BLOCKS = [(m["mark"], m["body"]) for page in PAGES for m in SH.finditer(page.read_text())]
SH_BLOCKS = [body for _, body in BLOCKS]

# Why a block is not run here; each mark names what the example needs that a test machine lacks.
MARKS = {
    "runs-in-ci": "the test command itself: .ci/run runs it (test_docs checks they are the same)",
    "needs-token": "a real Cloudflare API token (or the Claude Code CLI)",
    "needs-uv-or-pipx": "uv or pipx, which the quick start does not install",
    "gui-client": "a browser or desktop MCP client",
    "needs-container-runtime": "docker or podman with the base image (tests/test_container.py tries them)",
    "on-demand": "about 20 minutes of both cores (the mutation run): run by hand, never in the suite",
    "client-cli": "an MCP client's own CLI (Claude Code): tests/test_client_snippets.py runs it with a temporary home",
}


def unmarked(pattern: str) -> list[str]:
    return [body for mark, body in BLOCKS if mark is None and re.search(pattern, body)]


def invocations() -> list[list[str]]:
    """The arguments of every `mcp-oauth-clients ...` invocation in the README's shell blocks."""
    found = []
    for block in SH_BLOCKS:
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part)
                if not words or words[0] in ("npx", "docker"):  # their arguments are the tool's, not ours
                    continue
                for i, word in enumerate(words):
                    if word.endswith("mcp-oauth-clients") and not word.startswith("/path"):
                        found.append(words[i + 1 :])
                        break
    return found


@pytest.mark.parametrize("args", invocations(), ids=lambda a: " ".join(a) or "(none)")
def test_every_readme_invocation_parses(args):
    _parser().parse_args(args)


def test_readme_has_invocations_to_check():
    assert len(invocations()) >= 4


def test_readme_flags_exist():
    options = {a for action in _parser()._actions for a in action.option_strings}
    for flag in set(re.findall(r"`(--[a-z-]+)", README)):
        assert flag in options | {"--from", "--spec", "--env", "--transport"}, flag


# --- every shell block: run, or marked ---

RUNNERS = {
    "quick start": r"^python3 -m venv \.venv && \.venv/bin/pip install -q \. && ",
    "doctor in the sandbox": r"^\.venv/bin/mcp-oauth-clients doctor --sandbox$",
    "bundle": r"^npx -y @anthropic-ai/mcpb@",
    "inspector cli": r"^npx -y @modelcontextprotocol/inspector@[^ ]+ --cli ",
    "http": r"^\.venv/bin/mcp-oauth-clients .*--transport streamable-http",
}


@pytest.mark.parametrize("mark,body", BLOCKS, ids=[body.splitlines()[0][:50] for _, body in BLOCKS])
def test_every_shell_block_is_run_here_or_marked_with_a_known_reason(mark, body):
    if mark is not None:
        assert mark in MARKS, f"unknown readme-test mark {mark!r}: add it to MARKS with the reason"
    else:
        runners = [name for name, pattern in RUNNERS.items() if re.search(pattern, body)]
        assert len(runners) == 1, f"no test runs this README block, and it has no readme-test mark:\n{body}"


def test_the_first_two_commands_are_the_quick_start_and_the_test_command():
    assert re.search(RUNNERS["quick start"], SH_BLOCKS[0]) and BLOCKS[0][0] is None
    assert "pytest" in SH_BLOCKS[1] and BLOCKS[1][0] == "runs-in-ci"


def test_the_readme_opens_with_the_product_and_asks_only_for_python_before_the_first_command():
    before = README.split("```sh", 1)[0]
    assert "MCP" in before and "Cloudflare" in before and "Python 3.10" in before
    assert "npm" not in before and "Node.js" not in before  # only the outside checks need them


def test_the_readme_python_floor_is_the_package_floor():
    floor = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert f"Python {floor} or newer" in README


def test_npx_examples_use_the_versions_the_tests_pin():
    # -y: without a terminal, npx cancels instead of asking to install, so an example would not run as written
    assert re.findall(r"npx (?!-y @)\S+", README) == []
    for package, version in re.findall(r"npx -y (@[\w-]+/[\w-]+)@([\w.]+)", README):
        assert npm_tools.PACKAGES.get(package) == version, package


def sh(body: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        **kwargs,
    )


@pytest.fixture(scope="session")
def fresh_copy(tmp_path_factory):
    """The checkout as a fresh clone would have it (tracked and new files, nothing ignored), after running the
    README's quick start exactly as written: stdin is closed, so the server starts, finds no client, and ends.

    Made once per run: under xdist the first worker to need it makes it in the run's shared folder, under a
    lock, and the others take it from there (the install costs ~25 s; three workers paid it three times)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = tmp_path_factory.getbasetemp().parent if run else tmp_path_factory.mktemp("shared")
    with open(base / f"readme-{run or 'solo'}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        dest, made = base / f"readme-{run or 'solo'}" / "mcp-oauth-clients", base / f"readme-{run or 'solo'}.json"
        if made.exists():
            kept = json.loads(made.read_text())
            return dest, subprocess.CompletedProcess(kept["args"], kept["returncode"], kept["stdout"], kept["stderr"])
        result = _fresh_copy(dest)
        made.write_text(
            json.dumps(dict(args=result.args, returncode=result.returncode, stdout=result.stdout, stderr=result.stderr))
        )
        return dest, result


def _fresh_copy(dest: Path) -> subprocess.CompletedProcess:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True
    )
    if listed.returncode != 0:
        pytest.skip(f"README blocks not run: the checkout is not a git work tree ({listed.stderr.decode()[:200]})")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (quick_start,) = unmarked(RUNNERS["quick start"])
    return sh(quick_start, dest, timeout=900)


@pytest.mark.outside  # pip installs the package and its dependencies from PyPI
def test_quick_start_installs_and_serves_the_sandbox_on_a_fresh_copy(fresh_copy):
    _, result = fresh_copy
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == ""  # stdout belongs to JSON-RPC
    assert "serving MCP on stdio" in result.stderr and DEMO_CLIENT_ID in result.stderr


def this_environments_script(block: str) -> str:
    """The README's `.venv/bin/mcp-oauth-clients` is what the quick start installs; here, the one this
    environment installed, so the example runs without installing anything."""
    assert block.startswith(".venv/bin/mcp-oauth-clients ")
    return SCRIPT + block.removeprefix(".venv/bin/mcp-oauth-clients")


@pytest.mark.e2e
def test_doctor_example_runs_as_written(tmp_path):
    (block,) = unmarked(RUNNERS["doctor in the sandbox"])
    result = sh(this_environments_script(block), tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def pinned_npx(block: str) -> str:
    """`npx @scope/name@version` -> the same pinned version, installed once in .cache/npm-tools."""
    prefix = npm_tools.require()
    for package, version in re.findall(r"npx -y (@[\w-]+/[\w-]+)@([\w.]+)", block):
        assert npm_tools.PACKAGES[package] == version
        binary = {"@anthropic-ai/mcpb": "mcpb", "@modelcontextprotocol/inspector": "mcp-inspector"}[package]
        block = block.replace(f"npx -y {package}@{version}", str(prefix / "node_modules" / ".bin" / binary))
    return block


@pytest.mark.outside
def test_bundle_example_writes_the_file_the_readme_names(fresh_copy):
    dest, _ = fresh_copy
    (block,) = unmarked(RUNNERS["bundle"])
    result = sh(pinned_npx(block), dest, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    named = re.search(r"pack \. (\S+\.mcpb)", block).group(1)
    assert (dest / named).is_file() and f"open `{named}`" in README


@pytest.mark.outside
def test_inspector_cli_example_calls_a_tool_on_the_sandbox(fresh_copy):
    dest, _ = fresh_copy
    (block,) = unmarked(RUNNERS["inspector cli"])
    result = sh(pinned_npx(block), dest, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert not answer.get("isError") and answer["structuredContent"]["client"]["client_id"] == DEMO_CLIENT_ID


@pytest.mark.e2e
def test_http_example_serves_until_ctrl_c(tmp_path):
    (block,) = unmarked(RUNNERS["http"])
    port = free_port()
    proc = subprocess.Popen(
        shlex.split(this_environments_script(block.replace("--port 8000", f"--port {port}"))),
        cwd=tmp_path,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=5).status_code == 405
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and out == "" and "Traceback" not in err
    assert f"serving MCP over streamable HTTP at http://127.0.0.1:{port}/mcp" in err


def test_missing_npm_skips_the_outside_checks_with_the_reason_but_fails_them_in_ci(monkeypatch):
    monkeypatch.setattr(npm_tools, "installed", lambda: False)
    monkeypatch.setattr(npm_tools.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm is not installed"):
        npm_tools.require()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI: npm is not installed"):
        npm_tools.require()


@pytest.mark.parametrize(
    "markexpr,ci,runs",
    [
        ("", False, False),
        ("not e2e", False, False),
        ("not outside", False, False),
        ("outside", False, True),
        ("e2e and outside", False, True),
        ("", True, True),
    ],
)
def test_the_outside_checks_run_only_when_selected_or_under_ci(markexpr, ci, runs):
    assert outside_selected(markexpr, ci) is runs


def test_a_test_needing_the_npm_tools_never_installs_them_but_names_the_command(monkeypatch):
    def refuse() -> None:
        raise AssertionError("a test started the npm install")

    monkeypatch.setattr(npm_tools, "install", refuse)
    monkeypatch.setattr(npm_tools, "installed", lambda: False)
    monkeypatch.setattr(npm_tools.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=re.escape("run `python3 -m tests.npm_tools` first")):
        npm_tools.bin_path("mcpb")


def test_readme_says_how_long_the_sandbox_state_lives():
    opening = README.split("\n## ", 1)[0]
    assert "last as long as the process" in opening and "new process" in opening
