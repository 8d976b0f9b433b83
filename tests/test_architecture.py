"""The layout keeps its promises (issue 15.4), read off the package's source: every module small enough to read
at once, in the layer docs/development.md gives it and importing nothing from a layer above, the emulator reached
only by the sandbox's wiring, and a result's text rendered only at the MCP edge."""

from __future__ import annotations

import ast
import re
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


# The layers, lowest first, as docs/development.md's layout table names them; the sandbox stands outside the order.
LAYERS = ["shared rules", "configuration", "Cloudflare client", "domain", "MCP surface", "CLI"]
SANDBOX_LAYER = "sandbox and tests"
# Imports from a higher layer that are meant, each with why; nothing else may reach up.
UPWARD = {
    # A Cloudflare error's pointer reads as is only when it names a field of the request itself; the params
    # model is the one list of those fields (imported inside the function: the model imports the failures).
    ("errors", "models"): "a pointer into the request is checked against the params model's own fields",
}


def documented_layers() -> dict[str, str]:
    """Module -> layer, read from the layout table of docs/development.md."""
    table = (PACKAGE.parent / "docs" / "development.md").read_text(encoding="utf-8")
    layers = {}
    for cells in re.findall(r"^\| (`[^|]*`) \| ([^|]+) \|", table, flags=re.M):
        for module in re.findall(r"`(\w+)\.py`", cells[0]):
            layers[module] = cells[1].strip()
    return layers


def package_imports(tree: ast.Module) -> set[str]:
    """Every module of the package `tree` imports, at the top or inside a function."""
    found = {source for source, _ in imported_names(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "mcp_oauth_clients":
            found |= {alias.name for alias in node.names if alias.name in MODULES}
    return found


def test_every_module_has_a_documented_layer():
    layers = documented_layers()
    assert set(layers.values()) <= {*LAYERS, SANDBOX_LAYER}
    assert set(MODULES) - {"__init__"} == set(layers), "docs/development.md's layout table and the package differ"


def test_no_module_imports_from_a_layer_above_its_own():
    layers = documented_layers()
    rank = {module: LAYERS.index(layer) for module, layer in layers.items() if layer in LAYERS}
    upward = {
        (module, source)
        for module, tree in MODULES.items()
        if module in rank
        for source in package_imports(tree)
        if source in rank and rank[source] > rank[module]
    }
    assert upward == set(UPWARD), {pair: (layers[pair[0]], layers[pair[1]]) for pair in upward ^ set(UPWARD)}


def test_the_layer_walk_sees_imports_of_every_form():
    """Not vacuous: top-level, `from package import module`, and imports inside functions are all seen."""
    assert "config" in package_imports(MODULES["cli"])  # from mcp_oauth_clients.config import ...
    assert "guards" in package_imports(MODULES["lifecycle"])  # from mcp_oauth_clients import guards
    assert "models" in package_imports(MODULES["errors"])  # inside a function
    assert "doctor" in package_imports(MODULES["cli"])  # inside a function


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
