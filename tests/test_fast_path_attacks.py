"""Hostile inputs against the fast paths of `clean` (skip the walk when one JSON dump shows it would change
nothing) where only the whole server shows the effect: the server in memory behind the loopback fake."""

from __future__ import annotations

import json

from mcp_oauth_clients.emulator import DEMO_CLIENT_ID, demo_client
from tests.fake_cloudflare import Fault

# Deeper than clean()'s walk can go (two Python frames a level), shallower than json.loads and json.dumps can
# (one recursion step a level): the walk raised RecursionError and the answer was unreadable; the dump does not.
DEPTH = 600


def test_a_client_field_nested_deeper_than_the_walk_can_go_is_unreadable_or_answered_never_both(fake, served):
    deep = "[" * DEPTH + "]" * DEPTH
    client = json.dumps(demo_client())[:-1] + f', "client_name": {deep}}}'
    body = f'{{"success": true, "errors": [], "messages": [], "result": {client}}}'
    fake.script(Fault(status=200, body=body.encode(), headers={"content-type": "application/json"}))
    error, text, _ = served.text("get_oauth_client", {"oauth_client_id": DEMO_CLIENT_ID})
    assert "Internal error" not in text, text
    # Before clean() skipped its walk this answer could not be read. Now it is read, yet the call is an error
    # whose text says it read the client and that it left out of structuredContent a list of no field at all.
    assert "left out of structuredContent: ." not in text, text[-400:]
    assert not error or "could not be read" in text, text[-400:]


def test_an_answer_is_read_up_to_the_depth_limit_and_unreadable_one_level_past_it():
    """The limit, not the stack a walk happens to have left, decides: the same answer reads the same way
    wherever it is read, and a hidden character at the deepest level allowed is still escaped."""
    import httpx

    from mcp_oauth_clients.envelope import MAX_ANSWER_DEPTH, read

    def answer(levels: int) -> httpx.Response:
        inner = "[" * levels + '"\\u202e"' + "]" * levels  # the envelope and `result` are two levels
        body = f'{{"success": true, "errors": [], "messages": [], "result": {{"deep": {inner}}}}}'
        return httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})

    within = read(answer(MAX_ANSWER_DEPTH - 2), [])
    assert within.readable and "\\u202e" in json.dumps(within.payload["result"])
    assert "\u202e" not in json.dumps(within.payload, ensure_ascii=False)
    assert not read(answer(MAX_ANSWER_DEPTH - 1), []).readable
