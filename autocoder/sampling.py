"""Sampling and selection: a fresh start's candidates chosen by execution, and best-of-n for a
repair step. A small model's samples differ a lot: one of several is far likelier to work than
one repaired many times (candidates.py makes them, select.py chooses, trials.py tries them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import candidates, examples, select
from .exceptions import ModelFailed, StopRun
from .prompt import Plan
from .providers.base import Message, Provider, Settings
from .state import Decision, Usage
from .trials import Trials

Progress = tuple[int, ...]


def call(
    provider: Provider, msgs: list[Message], actions: list[Any], settings: Settings
) -> Decision:
    """One model call; a provider's failure ends the run with a clear reason."""
    try:
        return provider.complete(msgs, actions, settings)
    except StopRun:
        raise
    except Exception as exc:  # any provider fault becomes the run's reason
        raise ModelFailed(f"the model call failed: {type(exc).__name__}: {exc}") from exc


def _totals(decisions: list[Decision]) -> dict[str, Any]:
    usage = sum((d.usage for d in decisions), Usage(evaluated_tokens=0))
    seconds = sum(d.seconds for d in decisions)
    cached = sum(d.cached for d in decisions)
    return {"usage": usage, "seconds": seconds, "calls": len(decisions), "cached": cached}


class Sampler:
    """Makes `samples` candidates for a step and chooses one; `trusted` is how the main.py chosen
    on the goal's examples or by agreement behaves (the planner keeps main.py while it does)."""

    def __init__(
        self,
        provider: Provider,
        goal: str,
        settings: Settings,
        samples: int,
        trials: Trials,
        out_of_time: Callable[[], bool],
        record: Callable[[dict[str, Any]], None],
    ) -> None:
        self.provider, self.settings, self.samples = provider, settings, samples
        self.trials, self.out_of_time, self.record = trials, out_of_time, record
        self.examples = trials.examples
        self.given = examples.given(goal)  # code the goal gives, for the plain "complete this" ask
        self.asked = candidates.ask(goal, self.given)
        self.trusted = ""

    def fresh_start(self, todo: Plan, index: int) -> tuple[Decision, Progress]:
        """Sample plain chat turns (the first greedy, the rest at SAMPLE_TEMPERATURE), make each a
        project (its code as main.py, the goal's examples as tests), try each in a scratch copy
        and choose by execution. Every candidate's score and the reason are recorded."""
        made, replies, trials = [], [], []
        for k in range(self.samples):
            # the first fresh start's first candidate is the greedy plain call;
            # a restart samples all
            hot = k or index > 1
            update = {
                "temperature": max(self.settings.temperature, candidates.SAMPLE_TEMPERATURE)
                if hot
                else self.settings.temperature,
                "seed": self.settings.seed + k + 1000 * (index - 1),  # a restart asks for others
                "prefix": "",
                "stop": candidates.STOP,
            }
            reply = call(self.provider, self.asked, [], self.settings.model_copy(update=update))
            replies.append(reply)
            main = candidates.normalize(candidates.code(reply.raw), self.given, self.examples)
            args = {"main": main, "test": candidates.first_tests(self.examples)}
            thought = f"candidate {k + 1} of {self.samples}"
            made.append(Decision(thought, todo.actions[0].name, args, raw=reply.raw))
            trials.append(select.Trial.of(self.trials.attempt(made[-1], todo)))
            right, green = trials[-1].progress[1], trials[-1].progress[0]
            if self.examples and green and right == len(self.examples):
                break  # green and every example right: no later candidate can beat it on the facts
            if self.out_of_time():
                break  # the run's time is up: choose among those made
        chosen, table, why = select.choose(trials)
        row = table[chosen]
        self.trusted = trials[chosen].behaviour if row["examples_right"] or row["agree"] > 1 else ""
        self.record(
            {"type": "select", "step": index, "candidates": table, "chosen": chosen, "why": why}
        )
        thought = f"chose candidate {chosen + 1} of {len(made)}: {why}"
        return replace(made[chosen], thought=thought, **_totals(replies)), trials[chosen].progress

    def best_of(
        self,
        decide: Callable[[int], Decision],
        todo: Plan,
        now: Progress,
    ) -> tuple[Decision, Progress]:
        """`decide(attempt)` up to `samples` times, each tried in a scratch copy; keep the first
        that gets the project further than `now` (all green for a fresh start), else the best."""
        fresh = todo.phase in ("create", "restart")
        tried: list[tuple[Decision, Progress]] = []
        for attempt in range(self.samples):
            candidate = decide(attempt)
            score = self.trials.score(candidate, todo)
            tried.append((candidate, score))
            if score[0] or (not fresh and score > now) or self.out_of_time():
                break
        best, score = max(tried, key=lambda t: t[1])  # the earliest among equals
        return replace(best, **_totals([d for d, _ in tried])), score
