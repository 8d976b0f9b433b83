"""Outside tools from the npm registry, installed into .cache/npm-tools (not committed) by one command:

    python3 -m tests.npm_tools

Pinned: the MCPB CLI that validates and packs bundles, the MCP Inspector CLI (0.15.x runs on Node 20),
the MCP conformance suite with the Node 22 it needs, and Prism, which judges requests and answers
against Cloudflare's published OpenAPI schema. Tests never install them (about 440 MB): a test that needs
them calls `require()`, which skips naming this command, or fails under CI where they must run. The
scripts in scripts/ call `install()`, which installs them when missing. A file lock keeps two installs
from running at once. Only the standard library here, so the command runs before any `pip install`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = ROOT / ".cache" / "npm-tools"
STAMP = PREFIX / "installed.json"
INSTALL_COMMAND = "python3 -m tests.npm_tools"
PACKAGES = {
    "@anthropic-ai/mcpb": "2.1.2",
    "@modelcontextprotocol/inspector": "0.15.0",
    "@modelcontextprotocol/conformance": "0.1.16",
    "node": "22.23.3",
    "@stoplight/prism-cli": "5.16.0",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def installed() -> bool:
    """True when the pinned packages, exactly these versions, are in PREFIX."""
    try:
        return json.loads(STAMP.read_text()) == PACKAGES
    except (OSError, ValueError):
        return False


def missing_reason() -> str | None:
    """Why the outside checks cannot run now, or None when the tools are installed."""
    if installed():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed: the outside checks need Node.js 20+ and npm (see README)"
    return f"the npm tools are not installed: run `{INSTALL_COMMAND}` first (about 440 MB)"


def require() -> Path:
    """The prefix for a test that needs the tools; never installs. Skips with the reason, or fails under CI,
    where a check that cannot run must not pass unseen."""
    import pytest  # here, not at the top: the install command runs before pytest is installed

    reason = missing_reason()
    if reason is None:
        return PREFIX
    if in_ci():
        pytest.fail(f"outside check cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"outside check skipped: {reason}")


def install() -> Path:
    """Install the pinned packages unless already there; return the prefix. Raises when npm is missing."""
    npm = shutil.which("npm")
    if installed():
        return PREFIX
    if npm is None:
        raise RuntimeError("npm is not installed: the outside checks need Node.js 20+ and npm (see README)")
    PREFIX.mkdir(parents=True, exist_ok=True)
    with open(PREFIX / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed():  # another install may have finished while this one waited for the lock
            _npm_install(npm)
    return PREFIX


def _npm_install(npm: str) -> None:
    (PREFIX / "package.json").write_text('{"name": "mcp-oauth-clients-outside-checks", "private": true}\n')
    specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *specs],
        cwd=PREFIX,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    STAMP.write_text(json.dumps(PACKAGES))


def bin_path(name: str) -> str:
    """The installed binary `name`, for a test: skips or fails as `require()` does when it is missing."""
    return str(require() / "node_modules" / ".bin" / name)


def main() -> int:
    try:
        prefix = install()
    except (RuntimeError, subprocess.CalledProcessError) as failure:
        print(f"npm tools not installed: {failure}", file=sys.stderr)
        return 1
    print(f"npm tools installed in {prefix}: " + ", ".join(f"{n}@{v}" for n, v in PACKAGES.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
