"""Checks by tools no one here wrote: the MCPB CLI and its schema, the MCP Inspector CLI, the MCP
conformance suite. They come from the npm registry: `python3 -m tests.npm_tools` installs them once per checkout
(tests/npm_tools.py); the tests that use them are marked `outside` and never install them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from mcp import Client

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.server import build_server
from mcp_oauth_clients.tools import tool_table
from tests.npm_tools import bin_path, require
from tests.stdio_client import SCRIPT, clean_env

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
CLIENT = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"


@pytest.mark.anyio
async def test_manifest_tools_are_exactly_the_served_tools():
    async with Client(build_server(Settings(sandbox=True))) as client:
        served = [{"name": t.name, "description": t.description} for t in (await client.list_tools()).tools]
    assert MANIFEST["tools"] == served


def test_manifest_user_config_maps_into_the_servers_environment():
    env = MANIFEST["server"]["mcp_config"]["env"]
    assert env["CLOUDFLARE_API_TOKEN"] == "${user_config.api_token}"
    assert MANIFEST["user_config"]["api_token"]["sensitive"] is True
    assert MANIFEST["user_config"]["api_token"]["required"] is True
    for key in MANIFEST["user_config"]:
        assert f"${{user_config.{key}}}" in env.values(), key
    assert MANIFEST["version"] == __import__("mcp_oauth_clients").__version__


@pytest.mark.outside
def test_manifest_validates_against_the_schema_shipped_in_the_mcpb_package():
    schema_path = require() / "node_modules/@anthropic-ai/mcpb/schemas/mcpb-manifest-v0.4.schema.json"
    jsonschema.validate(MANIFEST, json.loads(schema_path.read_text()))
    assert MANIFEST["manifest_version"] == "0.4"  # the schema does not require it; the CLI does


@pytest.mark.outside
def test_mcpb_validate_and_pack_leave_out_env_and_tests(tmp_path):
    validate = subprocess.run([bin_path("mcpb"), "validate", "manifest.json"], cwd=ROOT, capture_output=True, text=True)
    assert validate.returncode == 0 and "passes" in validate.stdout, validate.stdout + validate.stderr
    tree = tmp_path / "tree"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    (tree / ".env").write_text("CLOUDFLARE_API_TOKEN=must-not-ship\n")
    bundle = tmp_path / "out.mcpb"
    packed = subprocess.run(
        [bin_path("mcpb"), "pack", str(tree), str(bundle)], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert packed.returncode == 0, packed.stdout + packed.stderr
    names = zipfile.ZipFile(bundle).namelist()
    assert "manifest.json" in names and "pyproject.toml" in names and "mcp_oauth_clients/server.py" in names
    assert ".env" not in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", ".git", ".ci/"))]


def run_script(name: str) -> subprocess.CompletedProcess[str]:
    """Run one of scripts/ against the installed console script, as anyone would."""
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / name), SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean_env(), "PYTHON": sys.executable},
    )


@pytest.mark.outside
def test_inspector_cli_lists_and_calls_the_tools_over_stdio():
    require()  # the script would install the tools itself; a test never does
    done = run_script("inspector.sh")
    assert done.returncode == 0, done.stdout + done.stderr
    listed_text, called_text = done.stdout.split("== tools/call update_oauth_client")
    listed = json.loads(listed_text.split("== tools/list", 1)[1])
    called = json.loads(called_text)
    assert [t["name"] for t in listed["tools"]] == [spec.name for spec in tool_table(Settings(sandbox=True))]
    assert called["structuredContent"]["client"]["client_name"] == "From Inspector"
    assert called["content"][0]["text"].startswith("[SANDBOX]")


@pytest.mark.outside
def test_conformance_scenarios_pass_over_streamable_http():
    require()
    done = run_script("conformance.sh")
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    for scenario in (
        "server-initialize",
        "ping",
        "tools-list",
        "dns-rebinding-protection",
        "server-sse-multiple-streams",
    ):
        assert scenario in done.stdout
    assert done.stdout.count(", 0 failed") == 5
