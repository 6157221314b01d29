"""The goal's own code: the function it gives to complete, a skeleton to continue from, the
names code defines, and what counts as a literal."""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import re


def defined(code: str) -> set[str] | None:
    """The names code defines at top level (functions, classes, imports, assignments); None
    when there is no code or it does not parse."""
    if not code:
        return None
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= set(imported(node))
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


# a top-level definition as a line reads: `def f(`, `async def f(`, `class C`, `x = ...`
_DEFINES = re.compile(
    r"^(?:(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(|class\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*=[^=])",
    re.MULTILINE,
)
_IMPORTS = re.compile(r"^(?:from\s+\S+\s+)?import\s+\(?([^)#\n]*)", re.MULTILINE)


def declared(code: str) -> set[str]:
    """The names code defines at top level as its lines read, for code that does not parse: a
    broken rewrite still shows whether it kept `def add(` or `from ops import add`."""
    names = {next(g for g in m.groups() if g) for m in _DEFINES.finditer(code)}
    for m in _IMPORTS.finditer(code):
        for part in m.group(1).split(","):
            words = part.split()  # `os.path as p`: p; `os.path`: os
            if words:
                names.add(words[-1] if len(words) == 3 and words[1] == "as" else words[0])
    return {n.split(".")[0] for n in names}


def anywhere(code: str) -> set[str] | None:
    """The names code defines at any depth (a class's methods, nested functions, a name bound by
    any assignment, `a, b = ...`, `f: T = ...`) and the names it imports, "*" among them for
    `from m import *`; None when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= set(imported(node))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The names an import statement binds (`import os.path as p`: p; `import os.path`: os)."""
    return [(a.asname or a.name).split(".")[0] for a in node.names]


_CODE_BLOCK = re.compile(r"```(?:python|py)?\n(.*?)```", re.DOTALL)


def _given_block(goal: str) -> re.Match[str] | None:
    """The first fenced Python block of the goal that defines something to complete."""
    for block in _CODE_BLOCK.finditer(goal):
        if re.search(r"^\s*(def|class) ", block.group(1), re.MULTILINE):
            return block
    return None


def _code(block: re.Match[str] | None) -> str:
    return block.group(1).strip("\n").rstrip() if block else ""


def given(goal: str) -> str:
    """The code of the goal's first fenced Python block that defines something to complete, else
    ""."""
    return _code(_given_block(goal))


def skeleton(goal: str) -> str:
    """`given`, and when its last function has no body yet (a signature and docstring), a new
    line indented for that body, so that what follows is the body."""
    code = given(goal)
    last = _to_complete(code)
    return code + "\n" + " " * last.body[0].col_offset if last else code


def described(code: str) -> tuple[str, str]:
    """`code` without the docstring of its last function when that function is a signature and
    a docstring only, and that docstring (dedented); else (`code`, "")."""
    last = _to_complete(code)
    if last is None:
        return code, ""
    doc, lines = ast.get_docstring(last) or "", code.splitlines()
    start, end = last.body[0].lineno, last.body[0].end_lineno or last.body[0].lineno
    return "\n".join(lines[: start - 1] + lines[end:]).rstrip(), doc.strip()


def said_first(goal: str) -> str:
    """The goal's text with the docstring of the function its code leaves to complete said
    before the code's fence rather than inside it (`described`); else the text as it is."""
    block = _given_block(goal)
    bare, doc = described(_code(block))
    if block is None or not doc:
        return goal
    fence = goal[block.start() : goal.index("\n", block.start()) + 1]
    return f"{goal[: block.start()]}{doc}\n\n{fence}{bare}\n```{goal[block.end() :]}"


def _to_complete(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The last statement of `code` when it is a function with no body yet (a signature and a
    docstring), else None (also when the code is empty or does not parse)."""
    try:
        last = ast.parse(code).body[-1] if code else None
    except (SyntaxError, IndexError):
        return None
    if isinstance(last, (ast.FunctionDef, ast.AsyncFunctionDef)) and _docstring_only(last):
        return last
    return None


def _docstring_only(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return (
        len(fn.body) == 1
        and isinstance(fn.body[0], ast.Expr)
        and isinstance(fn.body[0].value, ast.Constant)
    )


def literal(text: str) -> bool:
    """Whether `text` is a Python literal (what an example's answer must be to be compared)."""
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


# "a function add(a, b)", "main.py defines fib(n) that ..."
# `function add(`, `defines add(`: the bracket right after the name ("a function that returns (by
# convention) None" names no `returns`)
_NAMED = re.compile(r"\b(?:function|defines)\s+`?([A-Za-z_]\w*)\(")
# a signature said in words: "defines fib(n)", "a function add(a, b)"
_SAID = re.compile(r"\b(?:defines|function)\s+`?([A-Za-z_]\w*)\(([^()\n]{0,200})\)")
# another in the same sentence, after "and" or a comma: "defines encrypt(text, shift) and
# decrypt(text, shift)", "to_roman(n) that ... (4 is IV), and from_roman(s) that ..."; its
# parameters plain names (`and prints f(2)` is a call)
_ALSO = re.compile(
    r"(?:,|\band)\s+(?:a\s+function\s+)?`?([A-Za-z_]\w*)\((\s*[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s*)\)"
)
BUILTINS = frozenset(dir(builtins))
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")


@functools.cache
def _library() -> frozenset[str]:
    """The public names of the standard modules a goal's words most often call into (`and
    sqrt(d)`, `and randint(low, high)`, `and loads(body)`): calls the program makes, not
    functions it defines."""
    import importlib

    names: set[str] = set()
    for module in _MODULES:
        names |= {n for n in dir(importlib.import_module(module)) if not n.startswith("_")}
    return frozenset(names)


_MODULES = (
    "math", "random", "json", "os", "os.path", "re", "itertools", "functools", "string",
    "statistics", "collections", "operator", "time", "datetime", "sys", "shutil", "csv",
)  # fmt: skip


def _said(goal: str) -> list[tuple[str, str]]:
    """Each function the goal's words give a signature of, and its parameters as written,
    outside its code blocks: those `_SAID` reads and, in the rest of the first one's sentence,
    those `_ALSO` reads that are none of those functions' parameters (`integrate(f, a, b) ...,
    and f(x) must be continuous`), a method the words call (`s.split(sep)`), a builtin or a
    standard module's function (`and sqrt(d)`)."""
    text = _CODE_BLOCK.sub("", goal[:8192])
    said: list[tuple[str, str]] = []
    also: list[tuple[str, str]] = []
    start = 0
    for match in _SAID.finditer(text):
        said.append((match[1], match[2]))
        if match.start() < start:
            continue  # its sentence was read after an earlier one
        end = _SENTENCE_END.search(text, match.end())
        start = end.start() if end else len(text)
        also += [(a[1], a[2]) for a in _ALSO.finditer(text, match.end(), start)]
    params = {p.strip() for _, ps in said for p in ps.split(",")}
    called = set(re.findall(r"\.([A-Za-z_]\w*)\s*\(", text))
    unwanted = BUILTINS | set(keyword.kwlist) | _library() | params | called
    return said + [(n, ps) for n, ps in also if n not in unwanted]


def signatures(goal: str) -> list[tuple[str, list[str]]]:
    """The functions whose signatures the goal's words give with plain parameter names (`main.py
    defines fib(n)`: ("fib", ["n"])), outside its code blocks; `f(2, 3)` is a call, not one."""
    found = []
    for name, params in _said(goal):
        try:
            fn = ast.parse(f"def {name}({params}): pass").body[0]
        except SyntaxError:
            continue
        assert isinstance(fn, ast.FunctionDef)
        a = fn.args
        if a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults:
            continue  # only plain positional parameters: each one gets a value
        if name not in {n for n, _ in found}:
            found.append((name, [p.arg for p in a.args]))
    return found


def typed(given: str) -> list[tuple[str, list[str], list[str]]]:
    """The function the given code leaves to complete (its last), when it takes plain positional
    parameters only: its name, its parameters and their annotations as written ("" for none)."""
    try:
        body = ast.parse(given).body if given else []
    except SyntaxError:
        return []
    fn = body[-1] if body else None
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return []
    a = fn.args
    if a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults:
        return []
    hints = [ast.unparse(p.annotation) if p.annotation else "" for p in a.args]
    return [(fn.name, [p.arg for p in a.args], hints)]


def named(goal: str) -> set[str]:
    """The functions the goal's words name (`a function add(a, b)`, `main.py defines fib(n)`,
    `defines encrypt(text, shift) and decrypt(text, shift)`), outside its code blocks."""
    return set(_NAMED.findall(_CODE_BLOCK.sub("", goal[:8192]))) | {n for n, _ in _said(goal)}


def completed(code: str) -> set[str]:
    """The function the given code leaves to complete (its last), as a set."""
    try:
        body = ast.parse(code).body if code else []
    except SyntaxError:
        return set()
    last = body[-1] if body else None
    return {last.name} if isinstance(last, (ast.FunctionDef, ast.AsyncFunctionDef)) else set()
