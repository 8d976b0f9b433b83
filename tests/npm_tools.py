"""Outside tools from the npm registry, installed once into .cache/npm-tools (not committed).

Pinned: the MCPB CLI that validates and packs bundles, the MCP Inspector CLI (0.15.x runs on Node 20),
the MCP conformance suite with the Node 22 it needs, and Prism, which judges requests and answers
against Cloudflare's published OpenAPI schema. A file lock keeps parallel test workers from
installing twice at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PREFIX = ROOT / ".cache" / "npm-tools"
PACKAGES = {
    "@anthropic-ai/mcpb": "2.1.2",
    "@modelcontextprotocol/inspector": "0.15.0",
    "@modelcontextprotocol/conformance": "0.1.16",
    "node": "22.23.3",
    "@stoplight/prism-cli": "5.16.0",
}


def install() -> Path:
    """Install the pinned packages unless already there; return the prefix. Raises when npm is missing."""
    npm = shutil.which("npm")
    if npm is None:
        missing = "npm is not installed: the outside checks need Node.js 20+ and npm (see README)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes") or not os.environ.get("PYTEST_CURRENT_TEST"):
            raise RuntimeError(missing)  # CI must run them; a script cannot go on without them
        pytest.skip(f"outside check skipped: {missing}")
    stamp = PREFIX / "installed.json"
    PREFIX.mkdir(parents=True, exist_ok=True)
    with open(PREFIX / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and json.loads(stamp.read_text()) == PACKAGES:
            return PREFIX
        _npm_install(npm, stamp)
    return PREFIX


def _npm_install(npm: str, stamp: Path) -> None:
    (PREFIX / "package.json").write_text('{"name": "mcp-oauth-clients-outside-checks", "private": true}\n')
    specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *specs],
        cwd=PREFIX,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.write_text(json.dumps(PACKAGES))


def bin_path(name: str) -> str:
    return str(install() / "node_modules" / ".bin" / name)
