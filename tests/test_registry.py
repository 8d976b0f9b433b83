"""server.json, the entry for the official MCP Registry, keeps to the registry's published schema and to the
package it describes.

The schema is a copy of `docs/reference/server-json/server.schema.json` from the modelcontextprotocol/registry
repository (commit 7c0bbf25bcdf794c4622afbf1b72b99d0281ca6b, schema version 2025-09-29), kept in
tests/reference/ because nothing may download at test time.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

from mcp_oauth_clients import __version__
from mcp_oauth_clients.config import SECRET_VARIABLES, VARIABLES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "reference" / "server.schema.json").read_text())
ENTRY = json.loads((ROOT / "server.json").read_text())


def errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_server_json_is_valid_against_the_registry_schema():
    assert errors(ENTRY) == []


def test_server_json_names_the_schema_version_it_was_checked_against():
    assert ENTRY["$schema"] == SCHEMA["$id"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda e: e.pop("description"),
        lambda e: e.update(name="no-namespace"),
        lambda e: e["packages"][0].update(version="latest"),
        lambda e: e["packages"][0].pop("transport"),
    ],
    ids=["no description", "name without a namespace", "version latest", "no transport"],
)
def test_the_schema_copy_refuses_a_broken_entry(breakage):
    broken = copy.deepcopy(ENTRY)
    breakage(broken)
    assert errors(broken)


def test_versions_agree_across_pyproject_manifest_and_server_json():
    pyproject = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    manifest = json.loads((ROOT / "manifest.json").read_text())["version"]
    assert {pyproject, manifest, ENTRY["version"], __version__} == {ENTRY["packages"][0]["version"]}


def test_the_pypi_package_is_this_project_over_stdio():
    (package,) = ENTRY["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "mcp-oauth-clients"
    assert package["transport"] == {"type": "stdio"}
    assert ENTRY["name"].startswith("io.github.") and ENTRY["name"].endswith("/mcp-oauth-clients")


def test_every_environment_variable_is_one_the_server_reads_and_secrets_are_marked_secret():
    variables = ENTRY["packages"][0]["environmentVariables"]
    assert "CLOUDFLARE_API_TOKEN" in [v["name"] for v in variables]
    for variable in variables:
        assert variable["name"] in VARIABLES, variable["name"]
        assert variable.get("isSecret", False) == (variable["name"] in SECRET_VARIABLES), variable["name"]
