"""The container image keeps its promises: pinned base, never root, a health check, 0.0.0.0 only with the token
and the allowed hosts, nothing secret copied in.

The Dockerfile is read statically always. It is built and started only when a container runtime works here
and its base image is available (these machines reach no image registry): otherwise that test is skipped,
with the reason, and pytest counts the skip.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.test_http import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip() for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines() if line.strip() and not line.startswith("#")
]
IMAGE = "localhost/mcp-oauth-clients-test:latest"


def instructions(keyword: str) -> list[str]:
    return [line[len(keyword) :].strip() for line in INSTRUCTIONS if line.split()[0].upper() == keyword]


def test_base_image_is_pinned_to_an_exact_release_or_digest():
    (base,) = instructions("FROM")
    assert "@sha256:" in base or re.search(r":\d+\.\d+\.\d+-", base), base
    assert not base.endswith(":latest")


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
    assert {"pyproject.toml", readme, "mcp_oauth_clients"} <= copied
    assert "pip install ." in " ".join(instructions("RUN"))


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
