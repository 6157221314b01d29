"""Sampling and selection: a fresh start's candidates chosen by execution, and best-of-n for a
repair step. A small model's samples differ a lot: one of several is far likelier to work than
one repaired many times (candidates.py makes them, select.py chooses, trials.py tries them)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any

from ..actions.plan import Plan
from ..exceptions import ModelFailed, StopRun
from ..goal import ending
from ..goal.brief import Brief
from ..goal.code import literal
from ..providers.base import Message, Provider, Settings, complete_many
from ..state import Decision, Usage
from . import candidates, probes, screen, select, shapes
from .pool import Pool
from .trials import Trials

Progress = tuple[int, ...]
# warm candidates asked together (a local model decodes them in parallel: see providers/batch.py)
ROUND = 16
# a warm candidate may write REACH times as much as the first reply (at least FLOOR tokens, at
# most the cap): a sample running far past it is rambling or looping, and a round lasts as long
# as its longest reply, decoded alone at the end at nearly three times the cost a token (one
# sequence: 20 ms a token on one thread; sixteen: 7.3 ms each). A first reply cut at
# the cap counts as FLOOR long: it rambled, and says nothing of a right reply's length (on
# HumanEval/0-90 every candidate answering all its goal's examples wrote 256 tokens or fewer;
# after a cut first reply, a round of 1024-token samples took 358 s and answered nothing). On the
# first 128 goals, 1.5 times (not 2) cut no candidate that answered every example of its goal
REACH, FLOOR = 1.5, 256
# when the first BARREN candidates (on a local model the first one and a round) answer none of
# the goal's examples, more samples of the same model rarely do
BARREN = 1 + ROUND
FINALISTS = 3  # candidates tried in full after the screen, best first
# without examples, a green candidate that AGREE candidates behave as (its answers to the derived
# calls, else its output) ends the sampling: agreement is all such a goal can be chosen by
AGREE = 3
FAILED = screen.Screened(0, "")  # a candidate whose screen failed even alone


@contextmanager
def _model_faults() -> Iterator[None]:
    """A provider's failure ends the run with a clear reason."""
    try:
        yield
    except StopRun:
        raise
    except Exception as exc:  # any provider fault becomes the run's reason
        raise ModelFailed(f"the model call failed: {type(exc).__name__}: {exc}") from exc


def call(
    provider: Provider, msgs: list[Message], actions: list[Any], settings: Settings
) -> Decision:
    """One model call."""
    with _model_faults():
        return provider.complete(msgs, actions, settings)


def many(
    provider: Provider, asks: list[tuple[list[Message], Settings]], actions: list[Any]
) -> list[Decision]:
    """`call` for several (messages, settings) at once (base.complete_many)."""
    with _model_faults():
        return complete_many(provider, asks, actions)


def _totals(decisions: list[Decision]) -> dict[str, Any]:
    usage = sum((d.usage for d in decisions), Usage(evaluated_tokens=0))
    seconds = sum(d.seconds for d in decisions)
    cached = sum(d.cached for d in decisions)
    return {"usage": usage, "seconds": seconds, "calls": len(decisions), "cached": cached}


class Sampler:
    """Makes up to `samples` candidates for a fresh start, `attempts` for a repair step, and
    chooses one; `trusted` is how the main.py chosen on the goal's examples or by agreement
    behaves (the planner keeps main.py while it does)."""

    def __init__(
        self,
        provider: Provider,
        brief: Brief,
        settings: Settings,
        samples: int,
        trials: Trials,
        left: Callable[[], float],
        record: Callable[[dict[str, Any]], None],
        attempts: int,
    ) -> None:
        self.provider, self.settings, self.samples = provider, settings, samples
        self.attempts = attempts
        self.trials, self.left, self.record = trials, left, record
        # the time the last round of warm candidates took (made, screened, the best tried): one
        # that would not end within the run's time left is not begun
        self.round_s = 0.0
        self.examples = trials.examples
        self.brief = brief
        self.probes = probes.probes(self.examples)  # inputs near the examples, for agreement
        # without examples, calls of the functions the goal's words or its code give a signature for
        self.derived = () if self.examples else probes.derived(brief.text, brief.given)
        # a candidate's tests are the goal's examples (candidates.first_tests): they pass only
        # when it answers every one, where every answer is a literal
        self.tested = bool(self.examples) and all(literal(e.want) for e in self.examples)
        # what main() prints of a candidate that has no way to run, the goal stating no examples
        self.shown = () if self.examples else probes.shown(brief.text, brief.given)
        # the function a reply completes, and what the program has besides (goal.ending)
        self.function = ending.function(brief.given, self.examples)
        self.trusted = ""
        # why more of this model's candidates or repairs are unlikely to meet the goal's examples,
        # when the last fresh start spent its sampling on them and none met them ("": it met
        # them, or has none, or stopped before BARREN candidates)
        self.spent = ""
        # a local model decodes warm samples together; others are asked one by one (each can
        # end the sampling early at no cost)
        self.round = ROUND if getattr(provider, "parallel", False) else 1

    def fresh_start(self, todo: Plan, index: int) -> tuple[Decision, Progress, list[Message]]:
        """Sample plain chat turns (the first greedy, then rounds of warm ones asked together),
        make each a project (its code as main.py, the goal's examples as tests), screen them all
        (screen.py: the examples and probes near them), try the best few in full in scratch
        copies and choose by execution. Every candidate's score and the reason are recorded.
        Returns the choice, how far it got, and the messages that asked for it."""
        pool = Pool()
        while not pool.made or (
            len(pool.made) < self.samples
            and not self._met(pool)
            and not self._barren(pool)
            and self.left() > self.round_s
        ):  # the first round always: a choice needs a candidate
            first, before = len(pool.made), self.left()
            count = 1 if first == 0 else min(self.round, self.samples - first)
            reach = self._reach(pool)
            asked = [
                (self._messages(k), self._settings(k, index, reach))
                for k in range(first, first + count)
            ]
            for reply in many(self.provider, asked, []):
                code = candidates.code(reply.raw, self.function)
                main = candidates.normalize(code, self.brief.to_complete, self.examples, self.shown)
                args = {"main": main, "test": candidates.first_tests(self.examples)}
                thought = f"candidate {len(pool.made) + 1} of {self.samples}"
                pool.add(Decision(thought, todo.actions[0].name, args, raw=reply.raw), reply)
            self._screen([m for m in dict.fromkeys(pool.mains[first:]) if m not in pool.seen], pool)
            if self.examples:  # the best that answer every example, in full now
                every = [i for i in pool.ranked() if pool.right(i) == len(self.examples)]
                self._try_best(every[: self._finalists(pool)], pool, todo)
            elif len(pool.full) < FINALISTS:  # no examples: the first of AGREE alike, in full
                lead = next(iter(pool.ranked()), None)
                if lead is not None and self._agreed(pool, lead):
                    self._try(lead, pool, todo)
            if first:  # a round of warm candidates (one, where a provider is asked one by one)
                self.round_s = before - self.left()
        self.spent = self._spent(pool)
        self._try_best(pool.ranked()[: max(0, self._finalists(pool) - len(pool.full))], pool, todo)
        trials = pool.trials()
        chosen, table, why = select.choose(trials, among=sorted(pool.full))
        picked = table[chosen]
        # how main.py behaves (select.behaviour: the examples' answers, else its output)
        self.trusted = (
            pool.full[chosen].behaviour if picked["examples_right"] or picked["agree"] > 1 else ""
        )
        for i, row in enumerate(table):  # enough to replay a selection rule offline
            seen = pool.seen.get(pool.mains[i])
            row["main"], row["shape"] = pool.mains[i], shapes.shape_of(i).__name__
            row["tokens"] = pool.replies[i].usage.completion_tokens
            row["screen"] = None if seen is None else asdict(seen)
        self.record(
            {"type": "select", "step": index, "candidates": table, "chosen": chosen, "why": why}
        )
        thought = f"chose candidate {chosen + 1} of {len(pool.made)}: {why}"
        decision = replace(pool.made[chosen], thought=thought, **_totals(pool.replies))
        return decision, trials[chosen].progress, self._messages(chosen)

    def _finalists(self, pool: Pool) -> int:
        """How many of the best are tried in full (FINALISTS); once the time for model calls is
        spent, only the one a choice needs, so that the run ends within its limit."""
        return FINALISTS if self.left() > 0 else int(not pool.full)

    def _messages(self, k: int) -> list[Message]:
        """Candidate k's prompt, in the shape shapes.py gives it."""
        return shapes.messages(self.brief, k)

    def _reach(self, pool: Pool) -> int:
        """The most tokens a candidate after the first may write (REACH)."""
        cap = self.settings.max_tokens
        if not pool.replies:
            return cap
        first = pool.replies[0]
        return min(
            cap, max(FLOOR, int(REACH * (FLOOR if first.cut else first.usage.completion_tokens)))
        )

    def _settings(self, k: int, index: int, reach: int) -> Settings:
        """Candidate k's: the first fresh start's first is the greedy plain call; a restart
        samples all. Those after the first write at most `reach` tokens."""
        hot = k or index > 1
        warm = max(self.settings.temperature, candidates.SAMPLE_TEMPERATURE)
        update = {
            "max_tokens": reach if k else self.settings.max_tokens,
            "temperature": warm if hot else self.settings.temperature,
            "seed": self.settings.seed + k + 1000 * (index - 1),  # a restart asks for others
            "prefix": "",
            "stop": candidates.STOP,
            "function": self.function,
            # a round decoded together stops at the run's time limit (its replies then cut)
            "until": time.monotonic() + max(self.left(), 0.0),
        }
        return self.settings.model_copy(update=update)

    def _screen(self, new: list[str], pool: Pool) -> None:
        """Screen new candidates together; when that fails (a candidate can kill the screen's
        process), each alone, so that one candidate cannot spoil the others' ranking."""
        policy = self.trials.policy
        asked = functools.partial(
            screen.screen, checks=self.examples, probes=self.probes, derived=self.derived
        )
        got = asked(new, policy=policy)
        if got is None:
            got = [(asked([m], policy=policy) or [FAILED])[0] for m in new]
        pool.seen.update(zip(new, got, strict=True))

    def _try(self, i: int, pool: Pool, todo: Plan) -> None:
        """Candidate i applied to a scratch copy and observed in full (once)."""
        if i not in pool.full:
            pool.full[i] = select.Trial.of(self.trials.attempt(pool.made[i], todo))

    def _try_best(self, order: list[int], pool: Pool, todo: Plan) -> None:
        """The candidates of `order` (best first by the screen) tried in full, but for those that
        could not be chosen over one tried already even if their trial went as well as their
        screen allows: the choice trying them all would make, for fewer trials (a trial costs
        1.7 s of sandboxed lint, tests and runs; 481 were made on HumanEval-164, 3 a goal)."""
        for i in order:
            if pool.could_win(i, len(self.examples), self.tested):
                self._try(i, pool, todo)

    def _agreed(self, pool: Pool, i: int) -> bool:
        """Candidate i behaves as AGREE candidates or more do."""
        return pool.groups().get(pool.seen[pool.mains[i]].behaviour, 0) >= AGREE

    def _met(self, pool: Pool) -> bool:
        """A candidate tried in full is green, answers every example and is not shaky (it raised
        on no probe, nor answered every input alike): none can beat it on the facts (among several
        such in one round, agreement on the probes chose the one tried). Without examples: a
        green one behaves as AGREE candidates or more do."""
        if not self.examples:
            return any(t.progress[0] and self._agreed(pool, i) for i, t in pool.full.items())
        return any(
            t.progress[0]
            and t.progress[1] == len(self.examples)
            and not pool.seen[pool.mains[i]].shaky
            for i, t in pool.full.items()
        )

    def _spent(self, pool: Pool) -> str:
        if not self.examples or len(pool.made) < BARREN or self._met(pool):
            return ""
        best = max(pool.right(i) for i in range(len(pool.made)))
        if best == len(self.examples):  # right on every example, its tests or checks fail
            return ""
        if not best:
            return f"none of {len(pool.made)} candidates answered any of the goal's examples"
        return (
            f"the best of {len(pool.made)} candidates answers {best} of the goal's "
            f"{len(self.examples)} examples"
        )

    def _barren(self, pool: Pool) -> bool:
        """BARREN candidates or more, and none answers any of the goal's examples."""
        return (
            bool(self.examples)
            and len(pool.made) >= BARREN
            and not any(pool.seen[m].right for m in pool.mains)
        )

    def best_of(
        self,
        decide: Callable[[int], Decision],
        todo: Plan,
        now: Progress,
    ) -> tuple[Decision, Progress]:
        """`decide(attempt)` up to `attempts` times, each tried in a scratch copy; keep the first
        that gets the project further than `now` (all green for a fresh start), else the best."""
        fresh = todo.phase in ("create", "restart")
        tried: list[tuple[Decision, Progress]] = []
        for attempt in range(min(self.samples, self.attempts)):
            candidate = decide(attempt)
            score = self.trials.score(candidate, todo)
            tried.append((candidate, score))
            if score[0] or (not fresh and score > now) or self.left() < 0:
                break
        best, score = max(tried, key=lambda t: t[1])  # the earliest among equals
        return replace(best, **_totals([d for d, _ in tried])), score
