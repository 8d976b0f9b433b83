"""The container image keeps its promises: reproducible (base pinned by tag and digest, every package from a lock
with hashes that agrees with pyproject.toml), never root, a health check, 0.0.0.0 only with the token and the
allowed hosts, nothing secret copied in.

The Dockerfile and the locks are read statically always, offline. The image is built and started only when a
container runtime works here and its base image is available (these machines reach no image registry): otherwise
that test is skipped, with the reason, and pytest counts the skip.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.test_http import free_port

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip() for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines() if line.strip() and not line.startswith("#")
]
IMAGE = "localhost/mcp-oauth-clients-test:latest"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = "docker/requirements.lock"
BUILD_LOCK = "docker/build-requirements.lock"
BASE_IMAGE = re.compile(r"python:(?P<python>\d+\.\d+\.\d+)-slim-[a-z]+@sha256:[0-9a-f]{64}")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# What a marker can ask of the image, on either platform it is built for; not this machine's answers.
IMAGE_MARKERS = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_version": "",
}


def instructions(keyword: str) -> list[str]:
    return [line[len(keyword) :].strip() for line in INSTRUCTIONS if line.split()[0].upper() == keyword]


def base_python() -> str:
    """The exact Python release of the base image's tag, e.g. 3.12.14."""
    (base,) = instructions("FROM")
    pinned = BASE_IMAGE.fullmatch(base.split()[0])
    assert pinned, f"FROM {base}: want python:X.Y.Z-slim-<debian>@sha256:<64 hex>, a release tag and its digest"
    return pinned["python"]


def lock_pins(text: str) -> tuple[dict[str, Requirement], list[str]]:
    """The pins of a pip requirements lock by normalised name, and every problem with its form.

    A lock line is one `name==version` and at least one `--hash=sha256:` (pip's --require-hashes refuses
    anything else); any other entry or option (an editable, an index URL, a range) is a problem.
    """
    pins: dict[str, Requirement] = {}
    problems = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        entry = re.sub(r"(^|\s)#.*", "", line).strip()
        if not entry:
            continue
        words = entry.split()
        hashes = [word for word in words if HASH.fullmatch(word)]
        others = [word for word in words[1:] if word not in hashes]
        try:
            requirement = Requirement(words[0])
        except InvalidRequirement:
            problems.append(f"{words[0][:60]!r} is not a pinned requirement")
            continue
        name = canonicalize_name(requirement.name)
        specs = list(requirement.specifier)
        exact = len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version
        if not exact or requirement.marker or requirement.url:
            problems.append(f"{name} is not pinned to one version with ==: {words[0]}")
        if not hashes:
            problems.append(f"{name} has no --hash=sha256:")
        if others:
            problems.append(f"{name} has more than hashes on its line: {' '.join(others)[:60]}")
        if name in pins:
            problems.append(f"{name} is pinned twice")
        pins[name] = requirement
    return pins, problems


def lock_problems(declared: Iterable[str], lock_text: str, python: str) -> list[str]:
    """What is wrong with a lock for the requirements a pyproject.toml declares, for the image's Python on linux.

    Every declared requirement that applies there must be pinned at a version its specifier allows; every pin must
    be exact and hashed. Markers are read for both image platforms, so a requirement of either one counts.
    """
    pins, problems = lock_pins(lock_text)
    versions = {"python_version": python.rsplit(".", 1)[0], "python_full_version": python}
    versions |= {"implementation_version": python}
    environments = [IMAGE_MARKERS | versions | {"platform_machine": machine} for machine in ("x86_64", "aarch64")]
    for text in declared:
        requirement = Requirement(text)
        if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement.name} is declared ({text}) but not locked")
            continue
        exact = [spec.version for spec in pin.specifier if spec.operator == "=="]
        if len(exact) == 1 and not requirement.specifier.contains(exact[0], prereleases=True):
            problems.append(f"{requirement.name} is locked at {exact[0]}, outside what is declared: {text}")
    return problems


def lock_python(lock_text: str) -> str | None:
    """The --python-version the lock's header says it was resolved for."""
    made_for = re.search(r"^#.*--python-version (\S+)", lock_text, re.M)
    return made_for[1] if made_for else None


def test_the_base_image_is_pinned_by_release_tag_and_index_digest_to_a_python_the_project_supports():
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(base_python())


def test_every_runtime_dependency_of_pyproject_is_locked_with_hashes_at_a_version_it_allows():
    lock = (ROOT / RUNTIME_LOCK).read_text()
    assert lock_problems(PYPROJECT["project"]["dependencies"], lock, base_python()) == []


def test_the_build_backend_pyproject_names_is_locked_with_hashes_too():
    lock = (ROOT / BUILD_LOCK).read_text()
    assert lock_problems(PYPROJECT["build-system"]["requires"], lock, base_python()) == []


def test_the_locks_were_resolved_for_the_python_of_the_base_image():
    for lock in (RUNTIME_LOCK, BUILD_LOCK):
        assert lock_python((ROOT / lock).read_text()) == base_python(), lock


def test_the_lock_check_names_a_missing_dependency_a_version_out_of_range_a_range_and_a_missing_hash():
    declared = ["httpx>=0.27,<1", "dnspython>=2.6", "mcp>=2.3", "pywin32>=300; sys_platform == 'win32'"]
    lock = (
        f"httpx==1.0.0 \\\n    --hash=sha256:{'a' * 64}\n"
        f"dnspython>=2.6 \\\n    --hash=sha256:{'b' * 64}\n"
        "idna==3.10  # via httpx\n"
        f"-e . --hash=sha256:{'c' * 64}\n"
    )
    assert lock_problems(declared, lock, "3.12.14") == [
        "dnspython is not pinned to one version with ==: dnspython>=2.6",
        "idna has no --hash=sha256:",
        "'-e' is not a pinned requirement",
        "httpx is locked at 1.0.0, outside what is declared: httpx>=0.27,<1",
        "mcp is declared (mcp>=2.3) but not locked",
    ]


def test_the_server_runs_as_a_non_root_user_set_after_the_last_install_step():
    users = instructions("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    position = {line: i for i, line in enumerate(INSTRUCTIONS)}
    last_run = max(i for line, i in position.items() if line.startswith("RUN"))
    assert position[f"USER {users[-1]}"] > last_run


def test_healthcheck_asks_healthz_with_python_not_curl():
    (check,) = instructions("HEALTHCHECK")
    assert "/healthz" in check and "python" in check and "curl" not in check and "wget" not in check


def test_it_listens_on_all_interfaces_on_the_port_it_exposes():
    (entrypoint,) = instructions("ENTRYPOINT")
    assert '"--host", "0.0.0.0"' in entrypoint and '"streamable-http"' in entrypoint
    assert instructions("EXPOSE") == ["8000"] and '"8000"' in entrypoint


def test_the_image_copies_what_pip_install_needs():
    copied = {word for source in instructions("COPY") for word in source.split()[:-1]}
    readme = re.search(r'^readme = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert {"pyproject.toml", readme, "mcp_oauth_clients", RUNTIME_LOCK, BUILD_LOCK} <= copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not [pattern for pattern in ignored if pattern.rstrip("/") in ("docker", "docker/*", "*.lock")]


def pip_installs() -> list[list[str]]:
    """Every `pip install` of the RUN steps, as its words."""
    commands = [command.split() for run in instructions("RUN") for command in re.split(r"&&|;", run)]
    return [words for words in commands if words[:2] == ["pip", "install"]]


def test_the_image_installs_hashed_wheels_from_the_locks_and_the_project_without_resolving():
    locked, project = [], []
    for words in pip_installs():
        if words[-1] == ".":
            project.append(words)
            continue
        assert {"--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(words), words
        locked += [words[i + 1] for i, word in enumerate(words) if word == "-r"]
    assert sorted(locked) == sorted([RUNTIME_LOCK, BUILD_LOCK])
    # The project alone: no dependency resolved from the index, no build backend fetched by build isolation.
    assert project == [["pip", "install", "--no-deps", "--no-build-isolation", "."]]
    assert "pip check" in instructions("RUN")[-1]


def test_no_secret_or_local_state_is_copied_into_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".env", ".git/", ".venv/", ".cache/", "tests/"):
        assert path in ignored, path
    for source in instructions("COPY"):
        assert ".env" not in source and source.split()[0] != "."


def test_the_readme_shows_the_container_with_the_token_and_allowed_hosts():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Run as a container", 1)[1].split("\n## ", 1)[0]
    needed = ("docker build", "docker run", "MCP_OAUTH_CLIENTS_HTTP_TOKEN", "MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS")
    assert [text for text in needed if text not in section] == []


def working_runtime() -> str | None:
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=30).returncode == 0:
            return path
    return None


def test_the_image_builds_starts_and_reports_healthy():
    runtime = working_runtime()
    if runtime is None:
        pytest.skip("container image not built: no working podman or docker on this machine")
    (base,) = instructions("FROM")
    if subprocess.run([runtime, "image", "exists", base], capture_output=True).returncode != 0:
        pulled = subprocess.run([runtime, "pull", base], capture_output=True, text=True, timeout=300)
        if pulled.returncode != 0:
            reason = (pulled.stderr.strip().splitlines() or ["no output"])[-1][-200:]
            pytest.skip(f"container image not built: base image {base} is not here and cannot be pulled ({reason})")
    subprocess.run([runtime, "build", "-t", IMAGE, str(ROOT)], check=True, capture_output=True, timeout=900)

    # The image holds the runtime lock's pins and the project, and nothing the build alone needed.
    listing = "import importlib.metadata as m; print(*(f'{d.name}=={d.version}' for d in m.distributions()))"
    listed = subprocess.run(
        [runtime, "run", "--rm", "--entrypoint", "python", IMAGE, "-c", listing],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    installed = {canonicalize_name(pin.split("==")[0]): pin.split("==")[1] for pin in listed.stdout.split()}
    runtime_pins, _ = lock_pins((ROOT / RUNTIME_LOCK).read_text())
    expected = {name: str(pin.specifier).removeprefix("==") for name, pin in runtime_pins.items()}
    assert {name: installed.get(name) for name in expected} == expected
    assert set(installed) - set(expected) == {"pip", PYPROJECT["project"]["name"]}

    refused = subprocess.run([runtime, "run", "--rm", IMAGE, "--sandbox"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "MCP_OAUTH_CLIENTS_HTTP_TOKEN" in refused.stderr

    port = free_port()
    name = f"mcp-oauth-clients-test-{port}"
    subprocess.run(
        [runtime, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000"]
        + ["-e", "MCP_OAUTH_CLIENTS_HTTP_TOKEN=container-test-token-0123456789abcdef"]
        + ["-e", "MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS=127.0.0.1", IMAGE, "--sandbox"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["status"] == "ok"
        assert httpx.post(f"http://127.0.0.1:{port}/mcp", json={}, timeout=5).status_code == 401
        user = subprocess.run([runtime, "exec", name, "id", "-u"], capture_output=True, text=True, timeout=30)
        assert user.stdout.strip() not in ("", "0")
        health = subprocess.run([runtime, "healthcheck", "run", name], capture_output=True, timeout=60)
        assert runtime.endswith("docker") or health.returncode == 0
    finally:
        subprocess.run([runtime, "rm", "-f", name], capture_output=True, timeout=60)
