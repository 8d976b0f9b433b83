"""How much one tool answer may hold: a budget for its text and one for its structuredContent.

Outside text is bounded where it is rendered (a list page, a clipped value, a summarised long list);
these budgets are the last guard, applied at the MCP edge (`tools._answer`) to every tool's answer,
so a tool added later is bounded too. An answer over a budget is cut, never refused, and says what was
left out and how to see it: a filter, an offset, or one client read alone.

structuredContent is trimmed by its own output model's JSON schema, so what is left still validates
against the model (the SDK checks it): unknown fields go first, then long strings are clipped, then
free-form values (schema `{}`) are replaced by a note, then the largest lists are shortened.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from mcp_oauth_clients.untrusted import quoted

TEXT_BUDGET = 32_000  # UTF-8 bytes of the text a model reads, about 8,000 tokens
STRUCTURED_BUDGET = 64_000  # UTF-8 bytes of structuredContent as compact JSON
CLIP = 1_000  # characters an outside string keeps once structuredContent is over its budget
FREE_FORM_KEPT = 1_000  # bytes a free-form value keeps before it is replaced by a note
NARROW = "narrow the call: a filter (name, visibility or search), an offset, or get_oauth_client for one client"
LEFT_OUT_KEY = "left_out"  # where a trimmed structuredContent says what it lost (see Budgeted)
NOTE_ROOM = 1_000  # bytes of the budget kept for that note
_PATHS_NAMED = 4
_MAX_CUTS = 64


class Budgeted(BaseModel):
    """Base of a tool's output model: declares the note a trimmed structuredContent carries."""

    model_config = ConfigDict(defer_build=True)  # a base: each output model is built as tools/list derives its schema

    left_out: str | None = None


def size_of(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON, as it travels."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def fit_text(text: str, reserve: int = 0) -> str:
    """`text` within TEXT_BUDGET (less `reserve`), cut at a line end, saying how much was left out and why."""
    data = text.encode()
    if len(data) <= TEXT_BUDGET - reserve:
        return text
    kept = data[: max(TEXT_BUDGET - reserve - 300, 0)].decode(errors="ignore")  # 300: room for the sentence
    end = kept.rfind("\n")
    kept = kept[:end] if end > 0 else kept
    lines = text.count("\n", len(kept)) + (0 if end > 0 else 1)
    return (
        f"{kept}\n[Left out: the last {len(text) - len(kept):,} characters ({lines:,} lines) of this answer, over "
        f"its {TEXT_BUDGET // 1000} KB text budget. To see them, {NARROW}.]"
    )


class _Trim:
    """What trimming left out, said once in the answer."""

    # Not a dataclass: before Python 3.13 each generated method is compiled at import, which start-up pays for.
    __slots__ = ("schema", "dropped", "clipped", "replaced", "cut")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.dropped: list[str] = []
        self.clipped = 0
        self.replaced: list[str] = []
        self.cut: dict[str, tuple[int, int]] = {}

    def sentence(self) -> str:
        """One sentence, under NOTE_ROOM bytes; paths hold outside keys (unknown fields), so they are quoted."""
        parts = []
        if self.cut:
            named = list(self.cut.items())[:_PATHS_NAMED]
            parts.append("lists shortened: " + ", ".join(f"{_named(p)} {kept} of {n}" for p, (kept, n) in named))
        if self.replaced:
            parts.append("values left out: " + ", ".join(map(_named, self.replaced[:_PATHS_NAMED])))
        if self.clipped:
            parts.append(f"{self.clipped:,} strings clipped to {CLIP:,} characters")
        if self.dropped:
            parts.append("unknown fields left out: " + ", ".join(map(_named, self.dropped[:_PATHS_NAMED])))
        return (
            f"[structuredContent cut to its {STRUCTURED_BUDGET // 1000} KB budget; {'; '.join(parts)}. "
            f"To see the rest, {NARROW}.]"
        )


def _named(path: str) -> str:
    return quoted(path, 40)


def fit_structured(
    data: dict[str, Any], model: type[BaseModel], size: int | None = None
) -> tuple[dict[str, Any], str | None]:
    """`data` (a dump of `model`) within STRUCTURED_BUDGET, still valid for `model`, and what was left out;
    `size` is `size_of(data)` when the caller has it."""
    if (size_of(data) if size is None else size) <= STRUCTURED_BUDGET:
        return data, None
    trim = _Trim(model.model_json_schema(mode="serialization"))
    root = trim.schema
    for step in (_drop_unknown, _clip, _replace_free_form):
        data = step(trim, data, root, "")
        if size_of(data) <= STRUCTURED_BUDGET - NOTE_ROOM:
            break
    else:
        for _ in range(_MAX_CUTS):
            excess = size_of(data) - (STRUCTURED_BUDGET - NOTE_ROOM)
            if excess <= 0 or not _cut_largest(trim, data, root, excess):
                break
    note = trim.sentence()
    allows_note = root.get("additionalProperties") is not False or LEFT_OUT_KEY in root.get("properties", {})
    return ({**data, LEFT_OUT_KEY: note} if allows_note else data), note


# --- the schema, as far as trimming needs it -----------------------------------------------------------

_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _resolve(trim: _Trim, schema: Any, value: Any) -> dict[str, Any]:
    """The schema node that describes `value`: references followed, the matching anyOf branch chosen."""
    if not isinstance(schema, dict):
        return {}
    if "$ref" in schema:
        return _resolve(trim, trim.schema.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {}), value)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            for option in schema[key]:
                option = _resolve(trim, option, value)
                kind = _JSON_TYPES.get(option.get("type", ""), object)
                if isinstance(value, kind) and not (isinstance(value, bool) and option.get("type") != "boolean"):
                    return option
            return {}  # no branch fits: treat the value as free-form
    return schema


def _is_free_form(schema: dict[str, Any]) -> bool:
    return not any(k in schema for k in ("type", "properties", "enum", "const", "items", "anyOf", "oneOf"))


def _children(schema: dict[str, Any], value: Any) -> list[tuple[Any, Any, dict[str, Any] | bool]]:
    """(key, child, child schema) for each child of a container value."""
    if isinstance(value, list):
        items = schema.get("items", {})
        return [(i, v, items) for i, v in enumerate(value)]
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties", {})
        return [(k, v, props[k] if props is not None and k in props else extra) for k, v in value.items()]
    return []


def _path(base: str, key: Any) -> str:
    return f"{base}[{key}]" if isinstance(key, int) else (f"{base}.{key}" if base else str(key))


def _drop_unknown(trim: _Trim, value: Any, schema: Any, path: str) -> Any:
    node = _resolve(trim, schema, value)
    if isinstance(value, dict) and "properties" in node:
        kept = {}
        for key, child in value.items():
            if key in node["properties"]:
                kept[key] = _drop_unknown(trim, child, node["properties"][key], _path(path, key))
            else:
                trim.dropped.append(_path(path, key))
        return kept
    if isinstance(value, list):
        return [_drop_unknown(trim, v, node.get("items", {}), _path(path, i)) for i, v in enumerate(value)]
    return value


def _clip(trim: _Trim, value: Any, schema: Any, path: str) -> Any:
    node = _resolve(trim, schema, value)
    if isinstance(value, str):
        if len(value) > CLIP and not any(k in node for k in ("enum", "const", "pattern")):
            trim.clipped += 1
            return value[: CLIP - 1] + "…"
        return value
    if isinstance(value, list):
        return [_clip(trim, v, s, _path(path, k)) for k, v, s in _children(node, value)]
    if isinstance(value, dict):
        return {k: _clip(trim, v, s, _path(path, k)) for k, v, s in _children(node, value)}
    return value


def _replace_free_form(trim: _Trim, value: Any, schema: Any, path: str) -> Any:
    node = _resolve(trim, schema, value)
    if _is_free_form(node) and isinstance(value, dict | list) and size_of(value) > FREE_FORM_KEPT:
        trim.replaced.append(path)
        return f"(left out: {size_of(value):,} bytes, over the answer budget)"
    if isinstance(value, list):
        return [_replace_free_form(trim, v, s, _path(path, k)) for k, v, s in _children(node, value)]
    if isinstance(value, dict):
        return {k: _replace_free_form(trim, v, s, _path(path, k)) for k, v, s in _children(node, value)}
    return value


def _containers(trim: _Trim, value: Any, schema: Any, path: str, found: list[tuple[int, str, Any]]) -> None:
    """Every list, and every mapping without declared properties, with its size: what may be shortened."""
    node = _resolve(trim, schema, value)
    cuttable = (
        isinstance(value, list) and "prefixItems" not in node or isinstance(value, dict) and "properties" not in node
    )
    if cuttable and value:
        found.append((size_of(value), path, value))
    for key, child, child_schema in _children(node, value):
        if isinstance(child, list | dict):
            _containers(trim, child, child_schema, _path(path, key), found)


def _cut_largest(trim: _Trim, data: dict[str, Any], root: dict[str, Any], excess: int) -> bool:
    """Shorten the largest list (or free mapping) by about `excess` bytes; False when nothing is left to cut."""
    found: list[tuple[int, str, Any]] = []
    _containers(trim, data, root, "", found)
    if not found:
        return False
    size, path, container = max(found, key=lambda f: f[0])
    entries = list(container.items()) if isinstance(container, dict) else list(container)
    room, kept = size - excess, 0
    for entry in entries:
        room -= size_of(entry) + 1
        if room < 0:
            break
        kept += 1
    kept = min(kept, len(entries) - 1)
    was = trim.cut.get(path, (0, len(entries)))[1]
    trim.cut[path] = (kept, was)
    if isinstance(container, dict):
        for key, _ in entries[kept:]:
            del container[key]
    else:
        del container[kept:]
    return True
