"""Rendering a page: the templates (templates/*.html.j2, autoescaped), the page's own CSS and
script inlined, and a Content-Security-Policy that loads nothing and runs no script but that one
(by its hash): even text that escaped the escaping could neither run nor reach the network."""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import os
from pathlib import Path
from typing import Any

from .._version import __version__
from ..exceptions import AutocoderError
from ..project.workspace import atomic_write
from .clean import Cleaner

INDEX = "index.html"


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("autocoder.show", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.lru_cache(maxsize=1)
def _static() -> tuple[str, str, str]:
    """The page's CSS, its script, and the policy that admits that script alone."""
    env = _env()
    css = env.loader.get_source(env, "page.css")[0]
    script = env.loader.get_source(env, "page.js")[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    return css, script, policy


def render(template: str, cleaner: Cleaner, context: dict[str, Any]) -> str:
    """The page: every string of `context` cleaned, then escaped by the template."""
    from markupsafe import Markup

    css, script, policy = _static()
    return (
        _env()
        .get_template(template)
        .render(
            **cleaner.deep(context),
            style=Markup(css),  # our own files, not data: inlined as they are
            script=Markup(script),
            policy=policy,
            version=__version__,
        )
    )


def write(path: Path, html: str) -> Path:
    """Write a page atomically; returns its path, or a clear error (a folder, no such place)."""
    if path.is_dir():
        raise AutocoderError(f"{path} is a folder: give the page a file name, e.g. {path}/x.html")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, html.encode("utf-8"))
    except OSError as exc:
        raise AutocoderError(f"cannot write the page {path}: {exc.strerror or exc}") from None
    return path


def link(target: Path, page: Path) -> str:
    """A relative link from `page` to `target` (both files), with / separators; ./ before it
    when its first part holds a colon (a goal named `javascript:...` would read as a scheme)."""
    rel = Path(os.path.relpath(target.resolve(), page.resolve().parent)).as_posix()
    return f"./{rel}" if ":" in rel.split("/", 1)[0] else rel


def number(value: Any) -> float:
    """A numeric field of a record, 0 when missing, ill-typed or no finite float (JSON reads
    NaN, Infinity and 400-digit integers: each would stop the page where it is formatted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    try:
        return value if math.isfinite(value) and abs(value) < 1e300 else 0
    except OverflowError:
        return 0


def typed(value: Any, kind: type) -> Any:
    """`value` when it is of `kind` (a dict, a list), else an empty one (a damaged record)."""
    return value if isinstance(value, kind) else kind()


def seconds(value: Any) -> str:
    v = number(value)
    return f"{v:.1f}" if v < 100 else f"{v:,.0f}"
