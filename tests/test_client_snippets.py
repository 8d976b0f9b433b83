"""Every MCP client snippet in the README and docs/ works in that client's own format.

JSON snippets (Claude Desktop, Cursor, VS Code) carry a `<!-- client-snippet: CLIENT... VARIANT -->` mark. Each
is parsed, checked against the shape its client documents, then started the way that client starts a server
(its command, args and env over the default environment; the placeholders filled in) and asked for its tools
over stdio. The `claude mcp add` lines are run as written by Claude Code's own CLI, pinned below and installed
from npm into .cache/claude-code, with a temporary home folder: `claude mcp get` must then show each server's
command, arguments and environment, and its health check must connect. That test installs a package, so it is
an outside check.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mcp_oauth_clients.config import VARIABLES
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID
from tests.stdio_client import SCRIPT, clean_env

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXT = {page.relative_to(ROOT).as_posix(): page.read_text() for page in PAGES}

CLAUDE_CODE = ("@anthropic-ai/claude-code", "2.1.332")
CLAUDE_PREFIX = ROOT / ".cache" / "claude-code"

# What a person fills in; the test fills in a value of the same kind.
TOKEN = "placeholder-token-0123456789abcdef"
FILLED = {"<your-api-token>": TOKEN, "<your-account-id>": DEMO_ACCOUNT_ID}
PLACEHOLDERS = {"<path-to-checkout>", *FILLED}
CREDENTIALS = {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL"}
TOOLS = {"update_oauth_client", "get_oauth_client", "list_oauth_clients", "list_oauth_scopes"}

MARKED_JSON = re.compile(r"(?:<!-- client-snippet: (?P<mark>[a-z -]+) -->\n)?```json\n(?P<body>.*?)\n```", re.S)
SHELL = re.compile(r"```sh\n(?P<body>.*?)\n```", re.S)


def json_snippets() -> list[tuple[str, tuple[str, ...], str, str]]:
    """(page, clients, variant, body) of every JSON block; an unmarked one has no clients and no variant."""
    found = []
    for page, text in TEXT.items():
        for match in MARKED_JSON.finditer(text):
            *clients, variant = (match["mark"] or "").split() or [""]
            found.append((page, tuple(clients), variant, match["body"]))
    return found


SNIPPETS = json_snippets()
CLAUDE_LINES = [
    line
    for text in TEXT.values()
    for m in SHELL.finditer(text)
    for line in m["body"].splitlines()
    if "claude mcp add" in line
]


def snippet_id(snippet: tuple[str, tuple[str, ...], str, str]) -> str:
    page, clients, variant, _ = snippet
    return f"{page}:{'+'.join(clients) or 'unmarked'}:{variant}"


# --- the JSON snippets: the documented shape of each client ---


def check_mcp_servers_shape(config: dict) -> dict:
    """Claude Desktop's `claude_desktop_config.json` and Cursor's `mcp.json`: `mcpServers`, each a command
    with optional `args` and `env`."""
    assert set(config) == {"mcpServers"}
    for server in config["mcpServers"].values():
        assert set(server) <= {"command", "args", "env"} and isinstance(server["command"], str)
    return config["mcpServers"]


def check_vscode_shape(config: dict) -> dict:
    """VS Code's `mcp.json`: `servers` (not `mcpServers`), each with `"type": "stdio"`; every `${input:ID}` it
    uses declared once in `inputs` as a prompt, a secret one for the token."""
    assert set(config) <= {"servers", "inputs"} and "servers" in config
    inputs = {entry["id"]: entry for entry in config.get("inputs", [])}
    assert len(inputs) == len(config.get("inputs", []))
    used = set(re.findall(r"\$\{input:([^}]+)\}", json.dumps(config["servers"])))
    assert used == set(inputs), "every input is used, and every used input is declared"
    for entry in inputs.values():
        assert entry["type"] == "promptString" and entry["description"]
    for server in config["servers"].values():
        assert server["type"] == "stdio" and isinstance(server["command"], str)
        assert set(server) <= {"type", "command", "args", "env", "envFile"}
        for name, value in server.get("env", {}).items():
            if name in CREDENTIALS:
                asked = re.fullmatch(r"\$\{input:([^}]+)\}", value)
                assert asked, f"{name} is asked for, never written into the file"
                assert inputs[asked[1]].get("password") is True, "a credential is asked for as a password"
    return config["servers"]


SHAPES = {"claude-desktop": check_mcp_servers_shape, "cursor": check_mcp_servers_shape, "vscode": check_vscode_shape}


@pytest.mark.parametrize("snippet", SNIPPETS, ids=snippet_id)
def test_every_json_snippet_names_its_clients_and_has_their_documented_shape(snippet):
    _, clients, variant, body = snippet
    assert clients and set(clients) <= set(SHAPES), "mark it <!-- client-snippet: CLIENT... sandbox|token -->"
    assert variant in ("sandbox", "token")
    for client in clients:
        servers = SHAPES[client](json.loads(body))
    for server in servers.values():
        assert server["command"].endswith("/mcp-oauth-clients")
        assert set(server.get("env", {})) <= set(VARIABLES)
        assert set(re.findall(r"<[a-z-]+>", body)) <= PLACEHOLDERS, "only the placeholders the docs explain"
        if variant == "sandbox":
            assert "--sandbox" in server["args"] and not CREDENTIALS & set(server.get("env", {}))
        else:
            assert "--sandbox" not in server.get("args", []) and "CLOUDFLARE_API_TOKEN" in server["env"]
            assert "<your-api-token>" not in json.dumps(server.get("args", [])), "the token goes in env, never in args"


def test_every_client_has_a_sandbox_snippet_and_a_token_snippet():
    covered = {(client, variant) for _, clients, variant, _ in SNIPPETS for client in clients}
    assert covered == {(client, variant) for client in SHAPES for variant in ("sandbox", "token")}
    assert [line for line in CLAUDE_LINES if "--sandbox" in line]
    assert [line for line in CLAUDE_LINES if "CLOUDFLARE_API_TOKEN" in line]


def test_placeholders_are_explained_where_the_snippets_are():
    for page, text in TEXT.items():
        used = {p for p in PLACEHOLDERS if p in "".join(body for pg, _, _, body in SNIPPETS if pg == page)}
        assert [p for p in used if f"| `{p}` |" not in text] == [], page


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder where the quick start has run: its `.venv/bin/mcp-oauth-clients` is this environment's script."""
    folder = tmp_path / "checkout with space"
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "mcp-oauth-clients").symlink_to(SCRIPT)
    return folder


def as_the_client_starts_it(server: dict, checkout: Path) -> StdioServerParameters:
    """The placeholders filled in, `${input:...}` answered as VS Code would, and nothing else changed."""
    filled = json.dumps(server).replace("<path-to-checkout>", str(checkout))
    for placeholder, value in FILLED.items():
        filled = filled.replace(placeholder, value)
    filled = re.sub(r"\$\{input:[^}]+\}", TOKEN, filled)
    server = json.loads(filled)
    return StdioServerParameters(
        command=server["command"], args=server.get("args", []), env=server.get("env"), cwd=checkout.parent
    )


@pytest.mark.e2e
@pytest.mark.anyio
@pytest.mark.parametrize("snippet", SNIPPETS, ids=snippet_id)
async def test_every_json_snippet_starts_a_server_that_serves_the_tools(snippet, checkout):
    _, _, variant, body = snippet
    config = json.loads(body)
    for server in (config.get("mcpServers") or config["servers"]).values():
        async with Client(as_the_client_starts_it(server, checkout)) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} >= TOOLS
            if variant == "sandbox":  # nothing is sent anywhere: a read answers from the sandbox's memory
                result = await client.call_tool("get_oauth_client", {"oauth_client_id": DEMO_CLIENT_ID})
                assert not result.is_error and result.structured_content["client"]["client_id"] == DEMO_CLIENT_ID


# --- Claude Code: its own CLI runs the README's lines ---


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def claude_code() -> Path:
    """The pinned Claude Code CLI, installed once into .cache/claude-code (a file lock keeps two workers from
    installing at once). Without npm: skipped with the reason, or failed under CI, where it must run."""
    npm = shutil.which("npm")
    if npm is None:
        reason = "npm is not installed: Claude Code's CLI comes from the npm registry"
        if in_ci():
            pytest.fail(f"outside check cannot run under CI: {reason}", pytrace=False)
        pytest.skip(f"outside check skipped: {reason}")
    package, version = CLAUDE_CODE
    stamp = CLAUDE_PREFIX / "installed.json"
    CLAUDE_PREFIX.mkdir(parents=True, exist_ok=True)
    with open(CLAUDE_PREFIX / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or json.loads(stamp.read_text()) != [package, version]:
            (CLAUDE_PREFIX / "package.json").write_text('{"name": "claude-code-for-snippet-tests", "private": true}\n')
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"{package}@{version}"],
                cwd=CLAUDE_PREFIX,
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=600,
            )
            stamp.write_text(json.dumps([package, version]))
    return CLAUDE_PREFIX / "node_modules" / ".bin"


def claude_env(home: Path, bin_dir: Path, **extra: str) -> dict[str, str]:
    """A person's shell with the CLI on PATH and a fresh home; none of the developer's own Claude settings, and
    no update check or other traffic the CLI would otherwise send."""
    env = {k: v for k, v in clean_env().items() if not k.startswith(("CLAUDE", "ANTHROPIC"))}
    env.update(
        HOME=str(home),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        **extra,
    )
    return env


def server_name(line: str) -> str:
    """The NAME of `claude mcp add [--scope S] [--transport T] NAME ...`: its first word that is not an option."""
    words = iter(shlex.split(line.split("claude mcp add", 1)[1]))
    for word in words:
        if word in ("--scope", "-s", "--transport", "-t"):
            next(words)
        elif not word.startswith("-"):
            return word
    raise AssertionError(f"no server name in {line!r}")


def registered(shown: str) -> dict:
    """What `claude mcp get NAME` shows: status, command, arguments and environment."""
    lines = [line.strip() for line in shown.splitlines()]
    field = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines if ": " in line or line == "Args:"}
    start = lines.index("Environment:") + 1
    env_lines = lines[start : lines.index("", start)]
    return {
        "status": field["Status"],
        "command": field["Command"],
        "args": field["Args"].split(),
        "env": dict(line.split("=", 1) for line in env_lines),
    }


@pytest.mark.outside
@pytest.mark.e2e
def test_claude_code_registers_and_connects_every_server_the_docs_add(tmp_path, checkout):
    bin_dir = claude_code()
    # The exported values the token line reads, as the docs' `export` line sets them.
    env = claude_env(tmp_path / "home", bin_dir, CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_ACCOUNT_ID=DEMO_ACCOUNT_ID)
    (tmp_path / "home").mkdir()
    names = []
    for line in CLAUDE_LINES:
        added = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", line],
            cwd=checkout,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert added.returncode == 0, f"{line}\n{added.stdout}{added.stderr}"
        names.append(server_name(line))

    for name, line in zip(names, CLAUDE_LINES, strict=True):
        shown = subprocess.run(
            ["claude", "mcp", "get", name],
            cwd=checkout,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        assert shown.returncode == 0, shown.stdout + shown.stderr
        server = registered(shown.stdout)
        assert "Connected" in server["status"], shown.stdout  # Claude Code started the server and initialized it
        assert server["command"] == str(checkout / ".venv" / "bin" / "mcp-oauth-clients")
        if "--sandbox" in line:
            assert (server["args"], server["env"]) == (["--sandbox"], {})
        else:
            assert server["args"] == []
            assert server["env"] == {"CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": DEMO_ACCOUNT_ID}

    listed = subprocess.run(
        ["claude", "mcp", "list"], cwd=checkout, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    connected = [line for line in listed.stdout.splitlines() if line.endswith("Connected")]
    assert sorted(line.split(":", 1)[0] for line in connected) == sorted(names), listed.stdout
