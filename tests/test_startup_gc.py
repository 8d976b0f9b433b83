"""The console script keeps the cyclic garbage collector out of start-up (`cli.script`).

Start-up makes ~130,000 objects that live as long as the process; the collector's passes over them cost
~35 ms of start-up and ~80 ms for each later full pass. `benchmarks/cold_start.py` measures the start-up;
these tests hold the mechanism: off while the server is built, then what was built frozen and the collector
on before anything is served, and on again whatever way the script ends.
"""

from __future__ import annotations

import gc
import importlib.metadata
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from mcp_oauth_clients import cli, server, stdio_transport


@pytest.fixture
def observed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The collector's state while the server is built and when it would be served (nothing is served)."""
    seen: dict[str, Any] = {}
    build = server.build_server

    def build_server(*args: Any, **kwargs: Any) -> Any:
        seen["enabled_while_building"] = gc.isenabled()
        return build(*args, **kwargs)

    def serve_stdio(*_: Any) -> int:
        seen["enabled_when_serving"] = gc.isenabled()
        seen["frozen_when_serving"] = gc.get_freeze_count()
        return 0

    for name in [n for n in list(__import__("os").environ) if n.startswith(("CLOUDFLARE_", "MCP_OAUTH_CLIENTS_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(server, "build_server", build_server)
    monkeypatch.setattr(stdio_transport, "serve_stdio", serve_stdio)
    monkeypatch.setattr(sys, "argv", ["mcp-oauth-clients", "--sandbox"])
    assert gc.get_freeze_count() == 0
    try:
        yield seen
    finally:
        gc.unfreeze()  # this test process's objects go back to the collector
        gc.enable()


def test_the_console_script_builds_with_the_collector_off_and_serves_with_it_on_and_start_up_frozen(observed):
    assert cli.script() == 0
    assert observed["enabled_while_building"] is False
    assert observed["enabled_when_serving"] is True
    assert observed["frozen_when_serving"] > 10_000  # the SDK's modules and ours, at the least
    assert gc.isenabled()


def test_main_called_directly_leaves_the_collector_alone(observed):
    # Tests and embedders call main(); only the script, which owns the process, may freeze its objects.
    assert cli.main(["--sandbox"]) == 0
    assert observed["enabled_while_building"] is True
    assert observed["frozen_when_serving"] == 0


def test_the_collector_is_on_again_when_the_script_refuses_to_start(observed, monkeypatch, capsys):
    monkeypatch.setenv("MCP_OAUTH_CLIENTS_LOG_LEVEL", "LOUD")
    assert cli.script() == 2
    assert "LOG_LEVEL" in capsys.readouterr().err
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert "enabled_while_building" not in observed


def test_the_console_script_and_python_dash_m_both_start_through_script():
    (entry,) = importlib.metadata.entry_points(group="console_scripts", name="mcp-oauth-clients")
    assert entry.value == "mcp_oauth_clients.cli:script"
    import mcp_oauth_clients.__main__ as dash_m

    assert dash_m.script is cli.script
