"""The project's Python as text: formatting what the model writes (ruff), the main guard a
main.py needs, and the pyflakes-class problems (undefined names, redefinitions...) that an
observation reports. It reads the code; it never runs it (the sandbox does that)."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path


def _ruff(
    args: list[str], stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    from ruff.__main__ import find_ruff_bin  # the binary that ships in the ruff wheel

    return subprocess.run(
        [find_ruff_bin(), *args],
        input=stdin,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,  # the exit status is read below
    )


def format_code(code: str) -> str:
    """Format code and sort its imports with ruff; code that does not parse is returned as is."""
    try:
        fixed = _ruff(
            ["check", "--isolated", "--select", "I", "--fix", "--exit-zero", "--quiet", "-"], code
        )
        if fixed.returncode == 0 and fixed.stdout:
            code = fixed.stdout
        formatted = _ruff(["format", "--isolated", "--quiet", "-"], code)
        return formatted.stdout if formatted.returncode == 0 else code
    except (OSError, subprocess.SubprocessError):
        return code


def check(root: Path, paths: list[str]) -> dict[str, list[str]]:
    """Pyflakes-class problems (undefined names, redefinitions...) per file, via ruff."""
    if not paths:
        return {}
    proc = _ruff(
        [
            "check",
            "--isolated",
            "--select",
            "F",
            "--ignore",
            "F401,F841,F811",
            "--output-format",
            "json",
            "--exit-zero",
            "--no-cache",
            *(f"./{p}" for p in paths),
        ],
        cwd=root,
    )
    out: dict[str, list[str]] = {}
    for item in json.loads(proc.stdout or "[]"):
        rel = Path(item["filename"]).resolve().relative_to(root).as_posix()
        row = item.get("location", {}).get("row", 0)
        out.setdefault(rel, []).append(f"line {row}: {item['message']}")
    return out


def add_main_guard(code: str) -> str:
    """main.py with a main() but no `if __name__ == "__main__":` gets the guard appended."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    has_main = any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
    calls_main = any(
        is_main_guard(n) or "main()" in ast.unparse(n)
        for n in tree.body
        if not isinstance(n, ast.FunctionDef)
    )
    if not has_main or calls_main:
        return code
    return code.rstrip("\n") + '\n\n\nif __name__ == "__main__":\n    main()\n'


DEFINITIONS = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
)


def is_definition(node: ast.stmt) -> bool:
    """A top-level statement that defines or documents, never one that does work on import."""
    docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    return isinstance(node, DEFINITIONS) or docstring


def is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and "__name__" in ast.unparse(node.test)
        and "__main__" in ast.unparse(node.test)
    )
