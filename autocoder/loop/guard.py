"""Never lose the goal: a well-formed step that must not be applied however far it gets, because
it writes the prompt's worked example (a small model parrots it: `def squares(n)` became the
project of another goal, and was kept), or leaves main.py without a function the goal names."""

from __future__ import annotations

from ..goal.brief import Brief
from ..state import Decision, Observation
from .prompt import copies_worked_example


def off_goal(
    brief: Brief, decision: Decision, before: Observation | None, after: Observation | None
) -> str:
    """Why the decision must not be applied ("" when it may): main.py, as the decision leaves it,
    must still define every name of the goal's that it defined before (creating it, at least
    one of them)."""
    if copies_worked_example(decision):
        return "it writes the prompt's worked example, not code for this goal"
    written = main_of(after) if after is not None else main_written(decision)
    missing = brief.missing(written) if written is not None and brief.names else None
    if missing is None:
        return ""  # no main.py written, nothing named, or an empty one
    was = main_of(before) if before is not None else None
    if was is None:  # creating main.py: at least one of the names
        return (
            f"main.py would define none of {', '.join(sorted(missing))}, which the goal names"
            if missing == brief.names
            else ""
        )
    before_missing = brief.missing(was)
    lost = sorted(missing - (set(brief.names) if before_missing is None else before_missing))
    if lost:
        return f"main.py would no longer define {', '.join(lost)}, which the goal names"
    return ""


def main_of(obs: Observation) -> str | None:
    """main.py's text in an observation, None when there is none."""
    return next((f.content for f in obs.python if f.path == "main.py"), None)


def main_written(decision: Decision) -> str | None:
    """The main.py a decision writes whole (create_project, write_file main.py), else None."""
    if isinstance(decision.args.get("main"), str):
        return decision.args["main"]
    if decision.args.get("path") == "main.py" and isinstance(decision.args.get("content"), str):
        return decision.args["content"]
    return None
