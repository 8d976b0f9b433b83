"""The layout keeps its promises (issue 15.4), read off the package's source: every module small enough to read
at once, the emulator reached only by the sandbox's wiring, and a result's text rendered only at the MCP edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mcp_oauth_clients"
MODULES = {path.stem: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.glob("*.py"))}
MAX_LINES = 400

# What wires the sandbox (server, doctor, the start-up line, the sandbox's DNS zone) may import the emulator;
# the domain, the Cloudflare client and the rendering never do.
EMULATOR = {"emulator", "emulator_rules"}
SANDBOX_WIRING = {"server", "doctor", "startup", "sandbox_zone", *EMULATOR}
# The MCP edge: the one place a result becomes the text a model reads, with the modules holding the renderers.
EDGE = {"tools"}
RENDERING = {"results", "listing", "lifecycle_results", "dns_check_text"}


def imported_names(tree: ast.Module) -> list[tuple[str, str]]:
    """(module, name) for every `from mcp_oauth_clients.<module> import <name>` in the tree, nested ones too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mcp_oauth_clients."):
            found += [(node.module.split(".", 1)[1], alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name.split(".", 1)[1], "*") for a in node.names if a.name.startswith("mcp_oauth_clients.")]
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_400_lines(module):
    lines = len((PACKAGE / f"{module}.py").read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}.py has {lines} lines"


def test_only_the_sandbox_wiring_imports_the_emulator():
    offenders = {
        module
        for module, tree in MODULES.items()
        if module not in SANDBOX_WIRING and any(source in EMULATOR for source, _ in imported_names(tree))
    }
    assert offenders == set()


def test_a_results_text_is_rendered_only_at_the_mcp_edge():
    """A renderer (`describe*` of the rendering modules) turns a typed result into its text; only the tool
    handler imports one."""
    offenders = {
        (module, name)
        for module, tree in MODULES.items()
        if module not in EDGE
        for source, name in imported_names(tree)
        if source in RENDERING and (name.startswith("describe") or name == "*")
    }
    assert offenders == set()


def test_the_checks_see_what_they_claim_to():
    """The walks above are not vacuous: the edge does import the renderers and the wiring the emulator."""
    assert any(name.startswith("describe") for _, name in imported_names(MODULES["tools"]))
    assert any(source == "emulator" for source, _ in imported_names(MODULES["server"]))


@pytest.mark.e2e
def test_a_real_accounts_start_up_loads_neither_the_sandbox_nor_what_only_a_call_needs():
    # What `tools/list` does not need stays off the start-up path (benchmarks/cold_start.py): a process
    # shows which modules a fresh interpreter has loaded once the server is built.
    import subprocess
    import sys

    probe = (
        "import sys; from mcp_oauth_clients.config import Settings; from mcp_oauth_clients.server import build_server; "
        "from mcp_oauth_clients import cli, stdio_transport; build_server(Settings.load({}, None)); "
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('mcp_oauth_clients', 'difflib', 'httpx')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert "mcp_oauth_clients.tools" in loaded  # the probe did build the server
    assert not {"mcp_oauth_clients.emulator", "mcp_oauth_clients.sandbox_zone", "difflib", "httpx"} & set(loaded)
