"""What the commands share: a user's mistake as one line, and the options `run` and `bench` both
take (declared once, so their help cannot drift apart)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from ..exceptions import AutocoderError
from ..providers.modes import requestable


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """A user's mistake is one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except AutocoderError as exc:
        from ..progress import printable

        typer.echo(f"error: {printable(exc)}", err=True)
        raise typer.Exit(2) from None


MODEL_HELP = (
    "A profile (autocoder models), a litellm model such as openai/gpt-4o-mini, a .gguf path, "
    "or replay:FILE."
)
Model = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
ApiBase = Annotated[
    str | None,
    typer.Option("--api-base", help="Endpoint of an OpenAI-compatible or other served model."),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key (default: the provider's usual variable, or ./.env).",
        show_default=False,
    ),
]
ToolMode = Annotated[
    str,
    typer.Option("--tool-mode", help=f"How actions reach the model: {', '.join(requestable())}."),
]
NoCache = Annotated[
    bool,
    typer.Option("--no-cache", help="Ask the model even when the response cache has the answer."),
]
Unsafe = Annotated[
    bool,
    typer.Option(
        "--unsafe",
        help="Run model-written code unconfined when no sandbox (bubblewrap, user namespaces) "
        "is available.",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
