"""Mutation testing of the domain modules: would the tests notice a small wrong change?

    .venv/bin/python scripts/mutation_test.py                 # every module in MODULE_TESTS
    .venv/bin/python scripts/mutation_test.py checks.py diff.py

Each mutant is one small change (a comparison flipped, `and`/`or` swapped, a constant off by one, a
string or return value replaced, a `raise` or call dropped) made to a copy of the package in a
temporary folder, so the working tree is never left mutated. The module's fast unit tests run against
the copy with `-x -n 0`; a failing (or hanging) run catches the mutant, a passing one lets it survive.
Survivors listed in scripts/mutation_equivalents.txt cannot change behaviour and are not counted.

A mutant is named by where it is and what it does, never by its line number or its rank: the module,
the function or class around it with the first line of the block it is in (`f > if x:`), and its
whole statement before and after (`return x > 1 -> return x >= 1`). An entry of the list therefore
names one statement of one block of one function; when a refactor changes that statement or moves
it, the entry stops matching and is reported as no longer generated, so it cannot silently come to
excuse another mutant. An entry that matches a mutant the tests catch is reported too: the list
holds survivors only.

Why our own script: mutmut 3 skips decorated functions (the pydantic validators), and cosmic-ray
mutates the working tree in place and has no per-module test selection or list of equivalents.
Each run is a fork of this process, which has already imported pytest, pydantic, httpx and mcp,
so a mutant costs the tests' time, not the interpreter's start-up.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mcp_oauth_clients"
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.txt"

# The in-memory tests of test_bounded_work.py (the rest run processes over stdio: minutes per mutant).
_BOUNDED_WAITS = [
    "tests/test_bounded_work.py::test_any_retry_after_reads_as_a_finite_wait_no_longer_than_a_day",
    "tests/test_bounded_work.py::test_one_failed_attempt_is_counted_in_the_singular",
]
# The fast unit tests that cover each module (files that do not exist yet are skipped), with the tests written
# to catch mutants that had survived (tests/test_mutation_kills.py), which are run for every module.
_KILLS = "tests/test_mutation_kills.py"
MODULE_TESTS: dict[str, list[str]] = {
    "checks.py": ["tests/test_checks.py", "tests/test_models.py", "tests/test_tool_surface.py"],
    "diff.py": [
        "tests/test_diff.py",
        "tests/test_verification.py",
        "tests/test_guard_rails.py",
        "tests/test_tool_surface.py",
    ],
    "errors.py": ["tests/test_errors.py", "tests/test_cloudflare_client.py"],
    "verification.py": ["tests/test_verification.py", "tests/test_guards.py", "tests/test_tool_surface.py"],
    "cloudflare_client.py": ["tests/test_cloudflare_client.py", "tests/test_no_secret_in_repr.py", *_BOUNDED_WAITS],
    "envelope.py": [
        "tests/test_cloudflare_client.py",
        "tests/test_errors.py",
        "tests/test_no_secret_in_repr.py",
        *_BOUNDED_WAITS,
    ],
    "answer_body.py": ["tests/test_answer_body.py", "tests/test_cloudflare_client.py"],
    "guards.py": ["tests/test_guards.py", "tests/test_guard_rails.py", "tests/test_scope_catalogue.py"],
    "models.py": [
        "tests/test_models.py",
        "tests/test_checks.py",
        "tests/test_guard_rails.py",
        "tests/test_tool_surface.py",
        "tests/test_bounded_work.py",
    ],
    "arguments.py": ["tests/test_models.py", "tests/test_bounded_work.py", "tests/test_tool_surface.py"],
    "suggestions.py": ["tests/test_models.py", "tests/test_guards.py"],
    # the tools' schemas (tool_surface), their calls (tools) and the resolvers that ask a person first
    "sdk_shims.py": [
        "tests/test_tool_surface.py",
        "tests/test_tools.py",
        "tests/test_guard_rails.py",
        "tests/test_lifecycle_tools.py",
        "tests/test_elicitation_modes.py",
    ],
}

_FLIPPED_COMPARISONS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SWAPPED_ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_COMPOUND = (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Log lines are not product: changing their words or dropping them cannot change what a person reads.
_LOGGER_NAMES = ("log", "logger", "_log", "_logger", "logging")


@dataclass
class Mutant:
    module: str
    line: int
    where: str  # the enclosing function or class, dotted, then "> " the block it is in, if any
    change: str  # the whole statement "before -> after", in source form
    index: int  # node position in ast.walk order
    variant: int  # which of the node's mutations

    @property
    def key(self) -> str:
        return f"{self.module} | {self.where} | {self.change}"


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _annotate(tree: ast.AST) -> None:
    """Give every node its parent and the dotted name of the function or class around it."""
    tree.parent = None  # type: ignore[attr-defined]
    tree.where = "<module>"  # type: ignore[attr-defined]
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child.parent = node  # type: ignore[attr-defined]
            where = node.where  # type: ignore[attr-defined]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                where = node.name if where == "<module>" else f"{where}.{node.name}"
            child.where = where  # type: ignore[attr-defined]


def _is_docstring(node: ast.AST) -> bool:
    parent = getattr(node, "parent", None)
    holder = getattr(parent, "parent", None)
    return (
        isinstance(parent, ast.Expr)
        and isinstance(holder, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and holder.body[0] is parent
    )


def _in_log_call(start: ast.AST) -> bool:
    node: ast.AST | None = start
    if isinstance(node, ast.Expr):  # the statement holding the call: dropping it is dropping a log line
        node = node.value
    while node is not None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if isinstance(target, ast.Name) and target.id in _LOGGER_NAMES:
                return True
        node = getattr(node, "parent", None)
    return False


def _skipped(node: ast.AST) -> bool:
    """Nodes whose mutation cannot change behaviour by construction: docstrings, log lines, imports."""
    for up in _ancestors(node):
        if isinstance(up, (ast.Import, ast.ImportFrom)):
            return True
        if isinstance(up, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in up.targets):
            return True
    return _is_docstring(node) or _in_log_call(node)


def _ancestors(start: ast.AST) -> Iterator[ast.AST]:
    node: ast.AST | None = start
    while node is not None:
        yield node
        node = getattr(node, "parent", None)


def _mutations(node: ast.AST) -> list[Callable[[Any], ast.AST]]:
    """The mutations of one node, each a function that changes the node in place and returns it."""
    out: list[Callable[[Any], ast.AST]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _FLIPPED_COMPARISONS:

                def flip(n, i=i):
                    n.ops[i] = _FLIPPED_COMPARISONS[type(n.ops[i])]()
                    return n

                out.append(flip)
    elif isinstance(node, ast.BoolOp):

        def swap(n):
            n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()
            return n

        out.append(swap)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(lambda n: n.operand)
    elif isinstance(node, ast.BinOp) and type(node.op) in _SWAPPED_ARITHMETIC:

        def arith(n):
            n.op = _SWAPPED_ARITHMETIC[type(n.op)]()
            return n

        out.append(arith)
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            out.append(lambda n: ast.Constant(not n.value))
        elif isinstance(value, (int, float)):
            out.append(lambda n: ast.Constant(n.value + 1))
            if value != 0:
                out.append(lambda n: ast.Constant(n.value - 1))
        elif isinstance(value, str):  # emptied, so a test that checks a fact in the text notices
            out.append(lambda n: ast.Constant("XX" if n.value == "" else ""))
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            out.append(lambda n: ast.Return(ast.Constant(None)))
    elif isinstance(node, ast.Raise) or (isinstance(node, ast.Expr) and isinstance(node.value, (ast.Call, ast.Await))):
        out.append(lambda n: ast.Pass())  # a raise or a call dropped
    return out


def _site(node: ast.AST) -> ast.AST:
    """The statement around a node (a compound one is shown by its first line): where a mutation is."""
    site = node
    while not isinstance(site, ast.stmt):
        site = site.parent  # type: ignore[attr-defined]
    return site


def _block(site: ast.AST) -> str:
    """The first line of the innermost `if`/`for`/`while`/`with`/`try` around a statement, inside its function."""
    up = getattr(site, "parent", None)
    while up is not None and not isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
        if isinstance(up, _BLOCKS):
            return _render(up)
        up = getattr(up, "parent", None)
    return ""


_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)


def _render(node: ast.AST) -> str:
    if isinstance(node, _COMPOUND):
        return " ".join(ast.unparse(node).splitlines()[0].split())
    return " ".join(ast.unparse(node).split())


def _change(before: str, after: str, limit: int = 120) -> str:
    """ "before -> after", each cut to `limit` characters around where they first differ."""
    same = 0
    while same < min(len(before), len(after)) and before[same] == after[same]:
        same += 1
    start = max(0, same - 30) if max(len(before), len(after)) > limit else 0
    cut = "..." if start else ""
    return f"{_short(cut + before[start:], limit)} -> {_short(cut + after[start:], limit)}"


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, new: ast.AST) -> None:
        self.target, self.new = target, new

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.new
        return self.generic_visit(node)


def mutate(source: str, index: int, variant: int) -> tuple[str, str]:
    """The mutated module source and the change shown as "before -> after" around the mutated node."""
    tree = ast.parse(source)
    _annotate(tree)
    node = list(ast.walk(tree))[index]
    site = _site(node)
    before = _render(site)
    new = _mutations(node)[variant](copy.deepcopy(node))
    ast.copy_location(new, node)
    if site is node:
        after = _render(new)
        mutated = _Replace(node, new).visit(tree)
    else:
        mutated = _Replace(node, new).visit(tree)
        after = _render(site)
    ast.fix_missing_locations(mutated)
    return ast.unparse(mutated), _change(before, after)


def mutants_of(module: str, project: Path = ROOT) -> list[Mutant]:
    source = (project / PACKAGE / module).read_text()
    tree = ast.parse(source)
    _annotate(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if _skipped(node):
            continue
        for variant in range(len(_mutations(node))):
            _, change = mutate(source, index, variant)
            where = node.where  # type: ignore[attr-defined]
            if block := _block(_site(node)):  # tells apart one statement written twice in a function
                where = f"{where} > {block}"
            found.append(Mutant(module, getattr(node, "lineno", 0), where, change, index, variant))
    return found


def load_equivalents() -> dict[str, str]:
    """`module | where | before -> after | why` lines; '#' starts a comment."""
    known = {}
    for raw in EQUIVALENTS.read_text().splitlines() if EQUIVALENTS.exists() else []:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        *key, why = [part.strip() for part in line.split(" | ")]
        known[" | ".join(key)] = why
    return known


def _prepare(project: Path, workdir: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    for name in (PACKAGE, "tests"):
        shutil.copytree(project / name, workdir / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "manifest.json"):
        if (project / name).exists():
            shutil.copy2(project / name, workdir / name)


def _no_npm_install() -> None:
    """tests/conftest.py installs the npm tools in a thread at start-up; the unit tests run here never use them,
    and an install started in a run that is then ended would be left running with nobody waiting for it."""
    import tests.npm_tools

    def refuse() -> None:
        raise RuntimeError("the npm tools are not installed during a mutation run")

    setattr(tests.npm_tools, "install", refuse)  # noqa: B010 - the attribute is typed as the real installer


def run_tests(workdir: Path, tests: list[str], timeout: float) -> int | None:
    """Run the tests in a forked child against the copy; the exit code, or None when it hung."""
    pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            os.chdir(workdir)
            sys.path.insert(0, str(workdir))
            sys.dont_write_bytecode = True  # a stale .pyc of an earlier mutant must never be reused
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            import pytest

            _no_npm_install()
            args = ["-x", "-q", "-n", "0", "-p", "no:cacheprovider", "-W", "ignore", *tests]
            code = int(pytest.main(args))
            imported = sys.modules.get(PACKAGE)
            if imported is not None and not str(imported.__file__).startswith(str(workdir)):
                code = 98  # the tests ran the working tree, not the mutated copy
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.01)


def test_module(module: str, equivalents: dict[str, str], workdir: Path) -> dict[str, Any]:
    tests = [t for t in [*MODULE_TESTS[module], _KILLS] if (workdir / t.split("::")[0]).exists()]
    target = workdir / PACKAGE / module
    original = target.read_text()
    started = time.monotonic()
    code = run_tests(workdir, tests, timeout=600)
    baseline = time.monotonic() - started
    if code != 0:
        sys.exit(f"{module}: the unmutated tests do not pass (exit {code}): {' '.join(tests)}")
    timeout = max(20.0, 5 * baseline)
    result: dict[str, Any] = {
        "module": module,
        "generated": 0,
        "caught": 0,
        "survived": [],
        "equivalent": 0,
        "listed_caught": [],
    }
    mutants = mutants_of(module, workdir)
    for number, mutant in enumerate(mutants, 1):
        mutated, _ = mutate(original, mutant.index, mutant.variant)
        target.write_text(mutated)
        code = run_tests(workdir, tests, timeout)
        result["generated"] += 1
        if code == 98:
            sys.exit("the tests imported the working tree's package instead of the mutated copy")
        if code == 0:
            if mutant.key in equivalents:
                result["equivalent"] += 1
            else:
                result["survived"].append(mutant)
        else:
            result["caught"] += 1
            if mutant.key in equivalents:
                result["listed_caught"].append(mutant.key)
        print(f"\r{module}: {number}/{len(mutants)}", end="", file=sys.stderr, flush=True)
    target.write_text(original)
    print(file=sys.stderr)
    result["seconds"] = time.monotonic() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="module file names, e.g. checks.py (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants without running tests")
    parser.add_argument("--project", type=Path, default=ROOT, help="the checkout to test (default: this one)")
    args = parser.parse_args()
    modules = args.modules or list(MODULE_TESTS)
    unknown = [m for m in modules if m not in MODULE_TESTS]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {list(MODULE_TESTS)}")
    equivalents = load_equivalents()
    if args.list:
        for module in modules:
            for mutant in mutants_of(module, args.project):
                print(f"{mutant.module}:{mutant.line}  {mutant.key}")
        return
    # Import the heavy dependencies once, before forking, so each mutant's run starts warm.
    import httpx  # noqa: F401
    import hypothesis  # noqa: F401
    import mcp.server  # noqa: F401
    import pydantic  # noqa: F401
    import pytest  # noqa: F401

    results = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        _prepare(args.project, Path(tmp))
        for module in modules:
            results.append(test_module(module, equivalents, Path(tmp)))
    print("| module | generated | caught | survived | equivalent | score | seconds |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        counted = r["generated"] - r["equivalent"]
        score = 100 * r["caught"] / counted if counted else 100.0
        row = [r["module"], r["generated"], r["caught"], len(r["survived"]), r["equivalent"], f"{score:.0f}%"]
        print("| " + " | ".join(map(str, row)) + f" | {r['seconds']:.0f} |")
    survivors = [m for r in results for m in r["survived"]]
    if survivors:
        print("\nSurvivors (file:line  module | where | before -> after):")
        for m in survivors:
            print(f"{m.module}:{m.line}  {m.key}")
    generated = {m.key for module in modules for m in mutants_of(module, args.project)}
    stale = [k for k in equivalents if k.split(" | ")[0] in modules and k not in generated]
    if stale:
        print("\nListed as equivalent but no longer generated (remove from the list):")
        print("\n".join(stale))
    caught = sorted({k for r in results for k in r["listed_caught"]})
    if caught:
        print("\nListed as equivalent but caught by the tests (remove from the list):")
        print("\n".join(caught))
    sys.exit(1 if survivors or stale or caught else 0)


if __name__ == "__main__":
    main()
