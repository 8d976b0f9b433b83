"""Glue for what the MCP SDK does not offer, in one place. Checked against mcp 2.3.0.

- A tool whose inputSchema is one params model's own schema, flat, and whose raw arguments reach the
  tool untouched (`_RawArguments`): the SDK builds its argument model from the function signature,
  which nests a model parameter under its name and silently drops unknown arguments.
- `inline_refs`: some MCP clients do not follow `$ref` in a schema.
- `model_tool`: one handler serves many tools. The SDK reads a tool's parameters, resolvers and output
  model from the function's signature and type hints, so each tool gets a small function whose
  signature is built here from real objects (no string annotations to evaluate). What the SDK derives from
  that signature is derived once per process and shared by every server built after.

(The server's `_lowlevel_server` use, for passing stdin to the stdio transport, is in `server.py`.)
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict

# (arguments, ctx, the values resolvers filled in by parameter name) -> the result
ToolCall = Callable[[dict[str, Any], Context, dict[str, Any]], Awaitable[CallToolResult | InputRequiredResult]]


class _RawArguments(ArgModelBase):
    """Hands the call's arguments to the tool untouched, so one params model alone validates them."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local `$ref`s with their definitions: some MCP clients do not follow references."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
                return walk({**target, **{k: v for k, v in node.items() if k != "$ref"}})
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


# What the SDK derives from a tool's signature and models (schemas, argument and output models, resolver
# plans) depends on nothing else, and costs ~5 ms a tool; it is derived once per process, so a second server
# (a test, doctor) pays only for its own function, description and annotations.
_TEMPLATES: dict[tuple[Any, ...], tuple[Tool, tuple[Any, ...]]] = {}
# Two tools with one output model (update and get; the two deletions) share its derived schema.
_OUTPUT_SCHEMAS: dict[type[BaseModel], dict[str, Any] | None] = {}


@functools.cache
def _params_schema(params_model: type[BaseModel]) -> dict[str, Any]:
    return params_model.model_json_schema()  # inline_refs copies what it keeps, so this stays as derived


def model_tool(
    call: ToolCall,
    params_model: type[BaseModel],
    output_model: type[BaseModel],
    *,
    name: str,
    description: str,
    annotations: ToolAnnotations,
    resolved: dict[str, Any] | None = None,
) -> Tool:
    """A tool served by `call`: `params_model`'s schema as its flat inputSchema, `output_model` as its
    outputSchema, and `resolved` (parameter name -> `Annotated[T, Resolve(fn)]`) run before each call."""
    resolved = dict(resolved or {})

    async def tool(arguments: dict[str, Any], ctx: Context, **values: Any) -> CallToolResult | InputRequiredResult:
        return await call(arguments, ctx, values)

    hints: dict[str, Any] = {"arguments": dict[str, Any], "ctx": Context, **resolved}
    returns = Annotated[CallToolResult, output_model]
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p, keyword, annotation=hint) for p, hint in hints.items()], return_annotation=returns
    )
    tool.__annotations__ = {**hints, "return": returns}
    tool.__name__ = tool.__qualname__ = name
    key = (name, params_model, output_model, tuple((p, id(hint)) for p, hint in resolved.items()))
    if key not in _TEMPLATES:  # the first server takes the tool as made; later ones, copies with their own parts
        derived = _OUTPUT_SCHEMAS.get(output_model)
        registered = Tool.from_function(
            tool,
            name=name,
            title=annotations.title,
            description=description,
            annotations=annotations,
            structured_output=False if derived is not None else None,
        )
        if derived is not None:  # another tool has this output model: its schema, derived once (the SDK reads
            # fn_metadata's output fields live; its validator for the model is built at this tool's first call)
            registered.fn_metadata.output_model = output_model
            registered.fn_metadata.output_schema = copy.deepcopy(derived)
        _OUTPUT_SCHEMAS.setdefault(output_model, registered.fn_metadata.output_schema)
        registered.fn_metadata.arg_model = _RawArguments
        registered.parameters = inline_refs(_params_schema(params_model))
        _TEMPLATES[key] = (registered, tuple(resolved.values()))  # the hints kept alive, so their ids stay theirs
        return registered
    template = _TEMPLATES[key][0]
    return template.model_copy(
        update={
            "fn": tool,
            "title": annotations.title,
            "description": description,
            "annotations": annotations,
            "parameters": copy.deepcopy(template.parameters),
        }
    )
