"""A tool call's raw arguments, checked by its params model, and the refusal a model reads when they fail.

Every problem is found in one pass and reported at once, each naming its field, so one corrected call
can succeed; the refusal is bounded whatever the call holds, and says that nothing was sent.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError

from mcp_oauth_clients import checks
from mcp_oauth_clients.errors import InvalidInput
from mcp_oauth_clients.models import LIST_FIELDS, ToolParams
from mcp_oauth_clients.suggestions import closest
from mcp_oauth_clients.untrusted import plain, quoted

ParamsT = TypeVar("ParamsT", bound=ToolParams)

# How many problems one refusal lists; the rest are counted, so a hostile call cannot make a huge error.
MAX_PROBLEMS_SHOWN = 20
MAX_UNKNOWN_NAMED = 5  # unknown argument names named (each with its suggestion, if any); the rest are counted
# The identifiers whose pattern a refusal explains in words (the shape) rather than as a regular expression.
_IDENTIFIER_PATTERNS = (checks.ACCOUNT_ID_PATTERN, checks.CLIENT_ID_PATTERN)

# The footer of every refused argument. A fix may change what the person asked for (http -> https, another
# scope): then the model asks the person instead of deciding for them.
_FIX = (
    "correct the values named above and call again, or ask the person first when the fix would change what "
    "they asked for; nothing was sent to Cloudflare."
)


def parse_arguments(model: type[ParamsT], arguments: dict[str, Any], context: dict[str, Any] | None = None) -> ParamsT:
    """Validate raw tool arguments with `model`; every problem is reported at once, each naming its field.

    Unknown names, refused nulls and undecodable JSON are found first and set aside, so the model still
    checks every other field and one refusal names them all. A null the model does not refuse is left to
    the model, which reads it as "not given".
    """
    problems = _unknown_problems(arguments, model.model_fields)
    data: dict[str, Any] = {}
    for name, value in arguments.items():
        if name not in model.model_fields:
            continue
        if value is None and model.null_refused:
            problems.append(f"- {name}: {model.null_refused}")
            continue
        try:
            data[name] = decode_json_list(name, value)
        except ValueError as exc:
            problems.append(f"- {exc}")
    set_aside = arguments.keys() - data.keys()  # reported above and left out: a required one is not also "missing"
    try:
        params = model.model_validate(data, context=context)
    except ValidationError as exc:
        problems += describe_validation_error(exc, set_aside=set_aside, meant_more=bool(problems))
    else:
        if not problems:
            return params
    raise InvalidInput(_refusal(problems, arguments, model.model_fields), next_step=_FIX)


JSON_ENCODED_OK = LIST_FIELDS | {"add", "remove"}


def decode_json_list(name: str, value: Any) -> Any:
    """Decode a list field (or add/remove) that a client sent JSON-encoded inside a string.

    Some clients (Claude Desktop among them) send arrays that way. A string holding a JSON array or
    object is decoded; any other string stays a string and is refused, never split.
    """
    if name not in JSON_ENCODED_OK or not isinstance(value, str) or not value.lstrip().startswith(("[", "{")):
        return value
    try:
        decoded = json.loads(value)
    except RecursionError:  # json raises this, not ValueError, on absurdly deep nesting
        raise ValueError(f"{name}: the JSON-encoded value is nested too deeply; send a flat list") from None
    except ValueError:
        return value
    return decoded if isinstance(decoded, list | dict) else value


def _refusal(problems: list[str], arguments: dict[str, Any], known: Any) -> str:
    """The refusal's text: at most MAX_PROBLEMS_SHOWN lines whatever the call, then the accepted names."""
    shown = problems[:MAX_PROBLEMS_SHOWN]
    if len(problems) > len(shown):
        shown.append(f"- ... and {len(problems) - len(shown)} more problems")
    text = "Invalid arguments, nothing was sent:\n" + "\n".join(shown)
    if any(name not in known for name in arguments):
        text += f"\nAccepted: {', '.join(sorted(known))}"
    return text


def _unknown_problems(arguments: dict[str, Any], known: Any) -> list[str]:
    """A line for each of the first few argument names the tool does not take, then how many more."""
    unknown = [name for name in arguments if name not in known]
    if not unknown:
        return []
    lines = []
    for name in unknown[:MAX_UNKNOWN_NAMED]:
        close = closest(name, known)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        lines.append(f"- {name[:80] if name.isprintable() else repr(name)[:80]}: unknown argument{hint}")
    if len(unknown) > MAX_UNKNOWN_NAMED:
        lines.append(f"- ... and {len(unknown) - MAX_UNKNOWN_NAMED} more unknown arguments ({len(unknown)} in all)")
    return lines


def describe_validation_error(exc: ValidationError, *, set_aside: set[str], meant_more: bool) -> list[str]:
    """One line per problem: the field (with list index), the value, what would be accepted.

    Problems of the `set_aside` fields (already reported, then left out) are not repeated, nor is
    "nothing to change" when the caller `meant_more` (fields already reported as unknown or null).
    """
    lines = []
    for error in exc.errors(include_url=False):
        loc = ""
        for part in error["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"] and error["loc"][0] in set_aside:
            continue
        if meant_more and not loc and message.startswith("nothing to change"):
            continue
        pattern = (error.get("ctx") or {}).get("pattern")
        if error["type"] == "list_type" and isinstance(error.get("input"), str):
            message = f"expected a list of strings, got a single string; send [{quoted(error['input'], 80)}]"
        elif error["type"] == "string_pattern_mismatch" and pattern in _IDENTIFIER_PATTERNS:
            try:
                checks.check_identifier(str(error.get("input")), pattern, loc)
            except ValueError as detail:
                message = str(detail).removeprefix(f"{loc} ")
        value = error.get("input")
        shown = (
            f" (got {quoted(value, 120) if isinstance(value, str) else plain(value)})"
            if loc and isinstance(value, str | int | float)
            else ""
        )
        lines.append(f"- {loc[:120] or 'arguments'}: {message}{shown}")
    return lines
