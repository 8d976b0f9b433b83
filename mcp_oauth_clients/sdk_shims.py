"""Glue for what the MCP SDK does not offer, in one place. Checked against mcp 2.3.0.

- A tool whose inputSchema is one params model's own schema, flat, and whose raw arguments reach the
  tool untouched (`_RawArguments`): the SDK builds its argument model from the function signature,
  which nests a model parameter under its name and silently drops unknown arguments.
- `inline_refs`: some MCP clients do not follow `$ref` in a schema.
- `model_tool`: one handler serves many tools. The SDK reads a tool's resolvers from the function's
  signature and type hints, so each tool gets a small function whose signature is built here from real
  objects (no string annotations to evaluate); its schemas come from its two models, each derived once per
  process. The tool is assembled from SDK parts that are not in its documented API (`FuncMetadata`, the
  resolver planning of `mcp.server.mcpserver.resolve`), as `Tool.from_function` assembles it: the tests
  that list and call every tool are what would catch a change to them.

(The server's `_lowlevel_server` use, for passing stdin to the stdio transport, is in `server.py`.)
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import build_resolver_plans, find_resolved_parameters
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import (
    ArgModelBase,
    FuncMetadata,
    StrictJsonSchema,
)
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

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


class _Schemas(GenerateJsonSchema):
    """pydantic's own generator, but a default that is a JSON scalar is written as it is: pydantic builds a
    TypeAdapter for every default to serialise it (~20 us each, ~170 of them at start-up), for the same value."""

    def encode_default(self, dft: Any) -> Any:
        return dft if type(dft) in _JSON_SCALARS else super().encode_default(dft)


class _StrictSchemas(_Schemas, StrictJsonSchema):
    """The SDK's output-schema generator (a warning raises), with the same shortcut."""


_JSON_SCALARS = (type(None), bool, int, str)


@functools.cache
def _input_schema(params_model: type[BaseModel]) -> dict[str, Any]:
    return inline_refs(params_model.model_json_schema(schema_generator=_Schemas))


# Each output model's schema, as the SDK would derive it from a return annotation of that model alone (a test
# holds the two equal, byte for byte).
_OUTPUT_SCHEMAS: dict[type[BaseModel], dict[str, Any]] = {}


def derive_output_schemas(output_models: Iterable[type[BaseModel]]) -> None:
    """Derive these models' output schemas in one pass, so that a model nested in several (OAuthClient is in
    four) is derived once: ~3 ms of start-up. Each is then cut back to its own definitions."""
    models = [m for m in dict.fromkeys(output_models) if m not in _OUTPUT_SCHEMAS]
    roots, whole = models_json_schema([(m, "validation") for m in models], schema_generator=_StrictSchemas)
    defs = whole.get("$defs", {})
    for model in models:
        name = roots[(model, "validation")]["$ref"].rsplit("/", 1)[-1]
        used: set[str] = set()
        pending = _refs(defs[name])
        while pending:
            ref = pending.pop()
            if ref not in used:
                used.add(ref)
                pending += _refs(defs[ref])
        own = {ref: defs[ref] for ref in sorted(used)}
        # pydantic puts $defs first (it sorts the keys)
        _OUTPUT_SCHEMAS[model] = {"$defs": own, **defs[name]} if own else defs[name]


def _refs(node: Any) -> list[str]:
    """The definition names `node` refers to."""
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _output_schema(output_model: type[BaseModel]) -> dict[str, Any]:
    if output_model not in _OUTPUT_SCHEMAS:
        derive_output_schemas([output_model])
    return _OUTPUT_SCHEMAS[output_model]


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
    outputSchema, and `resolved` (parameter name -> `Annotated[T, Resolve(fn)]`) run before each call.

    Built from its parts rather than by `Tool.from_function`, which would derive an argument model and its
    schema from the signature only for us to replace them (~9 ms of start-up for nine tools). Each schema is
    derived once per process; its parts are shared by every tool and server that uses it (the SDK copies only
    the top-level dict, and only reads it).
    """
    resolved = dict(resolved or {})

    async def tool(arguments: dict[str, Any], ctx: Context, **values: Any) -> CallToolResult | InputRequiredResult:
        return await call(arguments, ctx, values)

    hints: dict[str, Any] = {"arguments": dict[str, Any], "ctx": Context, **resolved}
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # what the SDK reads resolvers from
        [inspect.Parameter(p, keyword, annotation=hint) for p, hint in hints.items()]
    )
    tool.__annotations__ = hints
    tool.__name__ = tool.__qualname__ = name
    resolved_params = find_resolved_parameters(tool)
    return Tool(
        fn=tool,
        name=name,
        title=annotations.title,
        description=description,
        parameters=_input_schema(params_model),
        fn_metadata=FuncMetadata(
            arg_model=_RawArguments,
            output_model=output_model,
            output_schema=_output_schema(output_model),
        ),
        is_async=True,
        context_kwarg="ctx",
        resolved_params=resolved_params,
        resolver_plans=build_resolver_plans(resolved_params, {"arguments"}),
        annotations=annotations,
    )
