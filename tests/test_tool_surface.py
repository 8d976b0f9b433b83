"""The tool surface is a reviewed artifact: what the model sees is committed in tests/snapshots/.

A change to a name, description, schema or annotation fails this test until the snapshot is updated
on purpose (UPDATE_SNAPSHOTS=1 python -m pytest tests/test_tool_surface.py), so it shows up in review.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mcp import Client

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.server import build_server

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"


async def served_tools() -> list[dict]:
    async with Client(build_server(Settings(sandbox=True))) as client:
        tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


@pytest.mark.anyio
async def test_tools_list_matches_the_reviewed_snapshot():
    current = json.dumps(await served_tools(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1 and commit tests/snapshots/"
    assert current == SNAPSHOT.read_text(), (
        "tools/list changed: review the difference, then run UPDATE_SNAPSHOTS=1 python -m pytest "
        "tests/test_tool_surface.py and commit the snapshot"
    )


@pytest.mark.anyio
async def test_an_unreviewed_description_change_is_caught(monkeypatch):
    from mcp_oauth_clients import tools

    monkeypatch.setattr(tools, "UPDATE_DESCRIPTION", tools.UPDATE_DESCRIPTION + " Also does X.")
    current = json.dumps(await served_tools(), indent=2, sort_keys=True) + "\n"
    assert current != SNAPSHOT.read_text()


def test_each_tool_publishes_and_checks_the_output_schema_the_sdk_derives_from_its_own_model():
    # sdk_shims derives the output schemas in one pass and cuts each back to its own definitions; each must be
    # exactly what the SDK derives from that model alone.
    from mcp.server.mcpserver.utilities.func_metadata import (
        StrictJsonSchema,
        _inline_root_ref,
        _pydantic_readable_typeddict,
    )
    from pydantic import TypeAdapter

    from mcp_oauth_clients.config import Settings
    from mcp_oauth_clients.server import build_server
    from mcp_oauth_clients.tools import tool_table

    settings = Settings.load({}, None)
    outputs = {spec.name: spec.output for spec in tool_table(settings)}
    tools = build_server(settings)._tool_manager.list_tools()
    assert len({id(outputs[t.name]) for t in tools}) < len(tools)  # some do share one
    for tool in tools:
        model = outputs[tool.name]
        derived = TypeAdapter(_pydantic_readable_typeddict(model)).json_schema(schema_generator=StrictJsonSchema)
        assert tool.fn_metadata.output_model is model
        assert json.dumps(tool.output_schema) == json.dumps(_inline_root_ref(derived)), tool.name  # key order too


def test_each_tool_publishes_the_input_schema_pydantic_derives_from_its_params_model():
    # sdk_shims' generator writes JSON-scalar defaults without pydantic's per-default serialiser; the schema
    # must still be pydantic's own, key order included.
    from mcp_oauth_clients.sdk_shims import inline_refs
    from mcp_oauth_clients.tools import tool_table

    settings = Settings.load({}, None)
    params = {spec.name: spec.params for spec in tool_table(settings)}
    for tool in build_server(settings)._tool_manager.list_tools():
        expected = inline_refs(params[tool.name].model_json_schema())
        assert json.dumps(tool.parameters) == json.dumps(expected), tool.name
