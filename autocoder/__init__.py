"""autocoder: a ReAct coding agent that writes, runs and repairs Python projects on any model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .state import RunResult

__all__ = ["__version__", "autocoder"]


def autocoder(data: dict[str, Any]) -> RunResult:
    """Run the agent from the seed's dict: project_name, goal, project_dir, log_level, step,
    model, api_key."""
    from .api import run
    from .loop.config import RunConfig

    return run(RunConfig.from_seed(data))
