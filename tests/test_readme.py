"""Every example in the README runs as written: flags the parser accepts, JSON that parses, matching names."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from mcp_oauth_clients.cli import _doctor_parser, _parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SH_BLOCKS = re.findall(r"```sh\n(.*?)\n```", README, re.S)
JSON_BLOCKS = re.findall(r"```json\n(.*?)\n```", README, re.S)


def invocations() -> list[list[str]]:
    """The arguments of every `mcp-oauth-clients ...` invocation in the README's shell blocks."""
    found = []
    for block in SH_BLOCKS:
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part)
                for i, word in enumerate(words):
                    if word.endswith("mcp-oauth-clients") and not word.startswith("/path"):
                        found.append(words[i + 1 :])
                        break
    return found


@pytest.mark.parametrize("args", invocations(), ids=lambda a: " ".join(a) or "(none)")
def test_every_readme_invocation_parses(args):
    if args and args[0] == "doctor":
        _doctor_parser().parse_args(args[1:])
    else:
        _parser().parse_args(args)


def test_readme_has_invocations_to_check():
    assert len(invocations()) >= 4


@pytest.mark.parametrize("block", JSON_BLOCKS)
def test_every_readme_json_block_parses_and_names_real_variables(block):
    config = json.loads(block)
    servers = config.get("mcpServers") or config.get("servers")
    for server in servers.values():
        assert server["args"][-1] == "mcp-oauth-clients" or "mcp-oauth-clients" in server["args"]
        for name in server.get("env", {}):
            assert name in __import__("mcp_oauth_clients.config").config.VARIABLES, name


def test_readme_flags_exist():
    options = {a for action in _parser()._actions for a in action.option_strings}
    for flag in set(re.findall(r"`(--[a-z-]+)", README)):
        assert flag in options | {"--from", "--spec", "--env", "--transport"}, flag
