"""The package's import graph: no cycles (function-level imports included) and the design's layers.

Read from the source with `ast`, so nothing is imported and every import counts: at module level,
inside a function, or under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "autocoder"


@dataclass(frozen=True)
class Edge:
    """One import statement of `source` that makes it depend on `target`."""

    source: str
    target: str
    where: str  # autocoder/x.py:LINE
    code: str  # the statement's first line

    @property
    def line(self) -> int:
        return int(self.where.rpartition(":")[2])

    def __str__(self) -> str:
        return f"{self.where}: {self.code}  ({self.source} -> {self.target})"


def modules(package: Path) -> dict[str, Path]:
    """Every module of the package by dotted name; a package is its __init__.py."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a `from X import ...` reads from, relative levels resolved."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _own(name: str, known: dict[str, Path]) -> str | None:
    """The package's own module that `name` is, or is inside of; None for other packages."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, known: dict[str, Path], root: Path) -> list[Edge]:
    """Every edge from `module` to another of the package's modules, one per imported module.

    `from pkg import name` depends on `pkg.name` when that is a module, else on `pkg` itself (the
    name comes from its __init__); `import pkg.sub` depends on `pkg.sub` alone, so a submodule
    depends on its package only when it takes a name from the package's __init__."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    edges = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [_own(alias.name, known) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else _own(base, known)
                for alias in node.names
            ]
        else:
            continue
        where = f"{path.relative_to(root).as_posix()}:{node.lineno}"
        for target in dict.fromkeys(targets):
            if target is not None and target != module:
                edges.append(Edge(module, target, where, lines[node.lineno - 1].strip()))
    return edges


def graph(package: Path = PACKAGE) -> dict[str, list[Edge]]:
    """Each module of the package with its imports of the package's other modules."""
    known = modules(package)
    return {m: imports(m, path, known, package.parent) for m, path in known.items()}


def cycles(edges: dict[str, list[Edge]]) -> list[list[Edge]]:
    """Every import that closes a cycle, each with the shortest cycle it lies on."""
    found: dict[tuple[str, ...], list[Edge]] = {}
    for es in edges.values():
        for e in es:
            back = _path(e.target, e.source, edges)
            if back is not None:
                cycle = [e, *back]
                names = [x.source for x in cycle]
                turn = names.index(min(names))  # one cycle, whichever edge found it
                found.setdefault(tuple(names[turn:] + names[:turn]), cycle[turn:] + cycle[:turn])
    return [found[k] for k in sorted(found)]


def _path(start: str, goal: str, edges: dict[str, list[Edge]]) -> list[Edge] | None:
    """The shortest chain of imports from `start` to `goal` (breadth first), or None."""
    paths: dict[str, list[Edge]] = {start: []}
    frontier = [start]
    while frontier and goal not in paths:
        following = []
        for v in frontier:
            for e in edges[v]:
                if e.target not in paths:
                    paths[e.target] = [*paths[v], e]
                    following.append(e.target)
        frontier = following
    return paths.get(goal)


def groups(found: list[list[Edge]]) -> list[list[list[Edge]]]:
    """The cycles gathered by the modules they share: each group is one knot to untie."""
    knots: list[tuple[set[str], list[list[Edge]]]] = []
    for cycle in found:
        names = {e.source for e in cycle}
        joined = [k for k in knots if k[0] & names]
        knots = [k for k in knots if not k[0] & names]
        merged = set(names).union(*(k[0] for k in joined))
        knots.append((merged, [c for k in joined for c in k[1]] + [cycle]))
    return [sorted(k[1], key=len) for k in knots]


def describe(group: list[list[Edge]], edges: dict[str, list[Edge]]) -> str:
    """The group's modules, its shortest cycles, and every import between two of its modules
    (each lies on a cycle), most travelled first: removing or turning those round unties most."""
    names = sorted({e.source for c in group for e in c})
    inside = [e for m in names for e in edges[m] if e.target in names]
    on = {
        e: sum((e.source, e.target) in {(x.source, x.target) for x in c} for c in group)
        for e in inside
    }
    lines = [f"{len(names)} modules: {', '.join(names)}", f"  {len(group)} cycles:"]
    lines += ["    " + " -> ".join([c[0].source, *(e.target for e in c)]) for c in group]
    lines.append("  the imports on them (on how many of those cycles):")
    order = sorted(inside, key=lambda e: (-on[e], e.where.split(":")[0], e.line))
    lines += [f"    {on[e]:>3}  {e}" for e in order]
    return "\n".join(lines)


def _within(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


@dataclass(frozen=True)
class Rule:
    """Modules in `importers` do not import modules in `imported`, bar the named exceptions: a
    name is that module, or, ending in `.*`, that module and everything inside it."""

    importers: str
    imported: tuple[str, ...]
    why: str
    allowed_importers: tuple[str, ...] = ()
    allowed_imported: tuple[str, ...] = ()

    def breaks(self, e: Edge) -> bool:
        return (
            _within(e.source, self.importers)
            and not _named(e.source, self.allowed_importers)
            and any(_within(e.target, x) for x in self.imported)
            and not _named(e.target, self.allowed_imported)
        )


def _named(module: str, names: tuple[str, ...]) -> bool:
    return any(
        _within(module, n.removesuffix(".*")) if n.endswith(".*") else module == n for n in names
    )


# The package's units from the bottom up: a module at the top of the package, or a sub-package with
# everything inside it. A unit imports only units before it in this list, so there is no cycle
# between packages either. The values at the bottom; the sandbox (which runs code and knows
# nothing of what it runs); the goal read as data; the project on disk and its checks; the
# actions that edit it; the providers that choose them; fresh candidates; the loop; the library's
# face (api) and what stands on it: the bench, the pages, the command line.
ORDER = [
    "exceptions",
    "_version",
    "scrub",
    "places",
    "state",
    "sandbox",
    "goal",
    "project",
    "actions",
    "providers",
    "fresh",
    "loop",
    "progress",
    "api",
    "bench",
    "show",
    "cli",
    "__main__",
    "",  # autocoder/__init__.py: the public names
]


def unit(module: str) -> str:
    """The unit of ORDER a module belongs to: the name under autocoder/ ("" for the package)."""
    return module.split(".")[1] if "." in module else ""


# the finer rules inside the units
RULES = [
    Rule(
        "autocoder.state",
        ("autocoder",),
        "state is frozen data at the bottom: it imports nothing of ours but the exceptions",
        allowed_imported=("autocoder.exceptions",),
    ),
    Rule(
        "autocoder.providers",
        ("autocoder.providers.cassettes",),
        "cassettes record and replay around a provider, from the tests and the bench",
    ),
    Rule(
        "autocoder.providers",
        ("autocoder.providers.cache",),
        "the cache is a wrapper that the factory (providers/__init__) puts on any provider; "
        "`autocoder models` (usable.py) only reads the probes it remembers",
        allowed_importers=("autocoder.providers", "autocoder.providers.usable"),
    ),
    Rule(
        "autocoder.providers",
        ("autocoder.providers.scripted",),
        "a real provider does not lean on the scripted one; the factory offers both",
        allowed_importers=("autocoder.providers",),
    ),
    Rule(
        "autocoder.actions",
        ("autocoder.project.observe", "autocoder.project.checks", "autocoder.project.packages"),
        "an action edits files through the workspace; observing and running code is the loop's",
    ),
]


def test_the_module_graph_is_read_from_every_import(tmp_path):
    """The reader itself, on a small package: relative imports at each level, a name from a
    package's __init__ versus a submodule, imports inside functions and for type checking only."""
    files = {
        "pkg/__init__.py": "from .sub import helper\nVERSION = 1\n",
        "pkg/sub/__init__.py": "import os\n",
        "pkg/sub/helper.py": "from .. import VERSION\nfrom . import leaf\n",
        "pkg/sub/leaf.py": "def f():\n    from ..other import g\n    import pkg.sub\n",
        "pkg/other.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub.leaf import f\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    g = graph(tmp_path / "pkg")
    assert {m: sorted(e.target for e in es) for m, es in g.items()} == {
        "pkg": ["pkg.sub.helper"],  # `from .sub import helper`: helper is a module
        "pkg.other": ["pkg.sub.leaf"],  # under TYPE_CHECKING
        "pkg.sub": [],  # os is not ours
        "pkg.sub.helper": ["pkg", "pkg.sub.leaf"],  # VERSION is a name from pkg's __init__
        "pkg.sub.leaf": ["pkg.other", "pkg.sub"],  # inside a function
    }
    assert str(g["pkg.sub.leaf"][0]).startswith("pkg/sub/leaf.py:2: from ..other import g")
    # pkg -> helper -> pkg through the name VERSION; other <-> leaf through imports that never
    # run at import time (one under TYPE_CHECKING, one in a function): both are cycles here
    assert [[e.where for e in c] for c in cycles(g)] == [
        ["pkg/__init__.py:1", "pkg/sub/helper.py:1"],
        ["pkg/other.py:3", "pkg/sub/leaf.py:2"],
    ]
    real = graph()
    assert "autocoder.providers.base" in {e.target for e in real["autocoder.providers"]}


def test_the_cycle_finder_reports_each_cycle_with_its_imports():
    def edge(a: str, b: str) -> Edge:
        return Edge(a, b, f"{a}.py:1", f"import {b}")

    g = {"a": [edge("a", "b")], "b": [edge("b", "a"), edge("b", "c")], "c": [edge("c", "b")]}
    g["d"] = [edge("d", "a")]
    found = cycles(g)
    assert [[e.source for e in c] for c in found] == [["a", "b"], ["b", "c"]]
    (group,) = groups(found)
    assert describe(group, g).splitlines() == [
        "3 modules: a, b, c",
        "  2 cycles:",
        "    a -> b -> a",
        "    b -> c -> b",
        "  the imports on them (on how many of those cycles):",
        "      1  a.py:1: import b  (a -> b)",
        "      1  b.py:1: import a  (b -> a)",
        "      1  b.py:1: import c  (b -> c)",
        "      1  c.py:1: import b  (c -> b)",
    ]
    assert cycles({"a": [edge("a", "b")], "b": []}) == []


def test_no_import_cycles():
    edges = graph()
    found = groups(cycles(edges))
    report = "\n\n".join(describe(g, edges) for g in found)
    assert not found, f"{len(found)} group(s) of modules import each other:\n\n{report}"


def test_the_units_import_only_what_lies_below_them():
    edges = graph()
    assert {unit(m) for m in edges} == set(ORDER), "a new unit of the package: place it in ORDER"
    broken = [
        f"{e}: {unit(e.source) or 'autocoder'} lies below {unit(e.target) or 'autocoder'}"
        for es in edges.values()
        for e in es
        if unit(e.source) != unit(e.target)
        and ORDER.index(unit(e.source)) < ORDER.index(unit(e.target))
    ]
    assert not broken, "imports up the package's order (ORDER):\n" + "\n".join(broken)


def test_the_finer_rules_inside_the_units():
    broken = [f"{e}: {r.why}" for es in graph().values() for e in es for r in RULES if r.breaks(e)]
    assert not broken, "imports across the design's layers:\n" + "\n".join(broken)


def test_no_cycle_between_packages():
    """Sub-packages (and top-level modules) taken as one each: no two import each other, however
    indirectly (ORDER implies it; this says which imports close a cycle if ORDER is ever
    loosened)."""
    edges = graph()
    folded: dict[str, list[Edge]] = {}
    for es in edges.values():
        for e in es:
            a, b = unit(e.source), unit(e.target)
            folded.setdefault(b, [])
            if a != b:
                folded.setdefault(a, []).append(Edge(a, b, e.where, e.code))
    found = groups(cycles(folded))
    assert not found, "\n\n".join(describe(g, folded) for g in found)


LINE_LIMIT = 300


def test_no_module_over_300_lines():
    """A module past LINE_LIMIT lines is doing two things: split it where its parts meet."""
    long = {
        path.relative_to(PACKAGE.parent).as_posix(): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > LINE_LIMIT
    }
    assert not long, f"modules over {LINE_LIMIT} lines: {long}"
