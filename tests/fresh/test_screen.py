"""The screen: many candidates' answers from one sandboxed process, a ranking only; a fresh start
screens every candidate, tries the best few in full and chooses among those."""

from __future__ import annotations

import json
import time

import numpy as np

from autocoder.fresh import candidates, sampling, shapes, trials
from autocoder.fresh import screen as screen_module
from autocoder.fresh.probes import probes
from autocoder.fresh.screen import screen
from autocoder.goal import examples
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers import ScriptedProvider, Settings
from autocoder.providers.batch import COUNTING, counting, looping, pick
from autocoder.providers.llama_cpp import RepetitionGuard
from autocoder.sandbox import SAFE
from autocoder.state import Decision, Usage

CHECKS = examples.extract("add(2, 3) == 5\nadd(1, 1) == 2")
RIGHT = "def add(a, b):\n    return a + b\n"
TIMES = "def add(a, b):\n    return a * b\n"
ONE_RIGHT = "def add(a, b):\n    return a + 1\n"  # add(1, 1) == 2 only


def test_the_screen_answers_for_each_candidate_and_a_hang_or_crash_spoils_only_itself():
    hang = "def add(a, b):\n    while True:\n        pass\n"
    exits = "import os\n\n\ndef add(a, b):\n    os._exit(0)\n"
    broken = "def add(a, b:\n"
    got = screen(
        [RIGHT, TIMES, hang, exits, broken, RIGHT.replace("a + b", "b + a")], CHECKS, policy=SAFE
    )
    assert got is not None
    assert [s.right for s in got] == [2, 0, 0, 0, 0, 2]
    assert got[0].behaviour == got[5].behaviour == "5\x1f2"  # equal answers, equal behaviour
    assert got[1].behaviour == "6\x1f1"
    assert got[2].behaviour == got[3].behaviour == got[4].behaviour == ""  # agrees with nothing


def test_without_examples_the_screen_compares_what_main_prints():
    prints = 'def main():\n    print("hi")\n\n\nif __name__ == "__main__":\n    main()\n'
    silent = 'def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n'
    fails = 'def main():\n    raise SystemExit(3)\n\n\nif __name__ == "__main__":\n    main()\n'
    got = screen([prints, silent, fails, prints], (), policy=SAFE)
    assert got is not None
    assert [s.behaviour for s in got] == ["exit 0\x1fhi\n", "", "", "exit 0\x1fhi\n"]


def test_a_candidate_that_attacks_the_screen_spoils_no_other(tmp_path):
    """Killing "its group" from a candidate's import leaves the others' answers intact (each
    child has a session of its own); killing the screen's process itself may end the shared
    screen (where the tool is not the sandbox's PID 1), and the run still finds the right
    candidate, screened alone."""
    group = "import os, signal\n\nos.killpg(0, signal.SIGKILL)\n\n\n" + TIMES
    got = screen([group, RIGHT, group, RIGHT], CHECKS, policy=SAFE)
    assert got is not None and [s.right for s in got][1::2] == [2, 2]
    parent = "import os, signal\n\nos.kill(os.getppid(), signal.SIGKILL)\n\n\n" + TIMES
    provider = Parallel([fenced(TIMES), fenced(parent), fenced(RIGHT), fenced(TIMES)])
    config = AgentConfig(max_steps=1, samples=4, plain_start=True)
    result = Agent(provider, Workspace(tmp_path), GOAL, config).run()
    assert "return a + b" in (tmp_path / "main.py").read_text(), result.reason


def test_when_the_shared_screen_fails_each_candidate_is_screened_alone(tmp_path, monkeypatch):
    real = screen_module.screen
    alone = []

    def fails_together(mains, checks, probes=(), *, policy, derived=()):
        if len(mains) > 1:
            return None
        alone.append(mains[0])
        return real(mains, checks, probes, policy=policy, derived=derived)

    monkeypatch.setattr(screen_module, "screen", fails_together)
    provider = Parallel(
        [fenced(TIMES), fenced(TIMES.replace("a * b", "b * a")), fenced(RIGHT), fenced(TIMES)]
    )
    config = AgentConfig(max_steps=1, samples=4, plain_start=True)
    result = Agent(provider, Workspace(tmp_path), GOAL, config).run()
    assert "return a + b" in (tmp_path / "main.py").read_text(), result.reason
    assert len(alone) == 1 + 2  # the greedy one (alone anyway), then the round's two new ones


GOAL = "Write add(a, b).\n\n    add(2, 3) == 5\n    add(1, 1) == 2\n"


def fenced(code: str) -> str:
    return f"```python\n{code}```"


class Parallel(ScriptedProvider):
    """A scripted provider that, like a local model, is asked for several candidates at once."""

    parallel = True

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.rounds: list[int] = []
        self.asks: list[str] = []  # each candidate's prompt
        self.caps: list[int] = []  # each candidate's most tokens
        self.untils: list[float] = []  # when each candidate's decoding must stop

    def complete_many(self, asks, actions):
        self.rounds.append(len(asks))
        self.asks.extend(messages[-1]["content"] for messages, _ in asks)
        self.caps.extend(s.max_tokens for _, s in asks)
        self.untils.extend(s.until for _, s in asks)
        return [self.complete(messages, actions, s) for messages, s in asks]


def trials_made(monkeypatch) -> list[str]:
    """The main.py of each candidate tried in full, in order, as the run makes them."""
    tried = []
    real = sampling.Trials.attempt
    monkeypatch.setattr(
        sampling.Trials,
        "attempt",
        lambda self, d, t: tried.append(d.args["main"]) or real(self, d, t),
    )
    return tried


def selection(result) -> dict:
    with open(result.trajectory, encoding="utf-8") as fh:
        return next(r for r in map(json.loads, fh) if r["type"] == "select")


def test_a_fresh_start_screens_every_candidate_and_tries_only_the_best_few_in_full(
    tmp_path, monkeypatch
):
    """The greedy candidate alone, then a round asked together; duplicates screened once; only
    the best distinct behaviours tried in full; the chosen one is among those."""
    wrong = [fenced(f"def add(a, b):\n    return a - b + {k}\n") for k in range(6)]
    script = [fenced(TIMES), *wrong, fenced(RIGHT), fenced(RIGHT)]
    provider = Parallel(script)
    tried = trials_made(monkeypatch)
    config = AgentConfig(max_steps=1, samples=9, plain_start=True)
    began = time.monotonic()
    result = Agent(provider, Workspace(tmp_path), GOAL, config).run()
    ended = time.monotonic()
    assert provider.rounds == [1, 8]  # the rest of the samples together
    # every round must end by the run's time limit, less what it keeps back for the last screen,
    # trial and observation (at most a quarter of it): one deadline, not a duration per round
    limit, kept = config.time_limit_s, trials.RESERVE * trials.LOOK
    assert all(began + limit * 3 / 4 <= u <= ended + limit - kept for u in provider.untils)
    assert len(provider.untils) == 9
    assert "return a + b" in (tmp_path / "main.py").read_text()
    chosen = selection(result)
    rows = chosen["candidates"]
    assert chosen["chosen"] == 7 and rows[7]["tried"] and rows[7]["examples_right"] == 2
    assert rows[8]["examples_right"] == 2 and not rows[8]["tried"]  # the same code: screened once
    assert sum(r["tried"] for r in rows) == len(tried) <= sampling.FINALISTS


def test_without_examples_the_largest_group_that_prints_the_same_is_chosen(tmp_path):
    goal = "Create main.py that prints hello"
    hello = 'def main():\n    print("hello")\n\n\nif __name__ == "__main__":\n    main()\n'
    other = 'def main():\n    print("hi there")\n\n\nif __name__ == "__main__":\n    main()\n'
    provider = Parallel(
        [fenced(other), fenced(hello), fenced(other.replace("hi", "yo")), fenced(hello)]
    )
    config = AgentConfig(max_steps=1, samples=4, plain_start=True)
    result = Agent(provider, Workspace(tmp_path), goal, config).run()
    row = selection(result)
    assert row["candidates"][row["chosen"]]["agree"] == 2
    assert 'print("hello")' in (tmp_path / "main.py").read_text()
    assert "2 of 4 candidates behave as it does" in row["why"]


def test_sampling_follows_the_default_chain_and_its_seed():
    logits = np.zeros(1000, dtype=np.float32)
    logits[[3, 7, 9]] = [10.0, 9.5, 2.0]
    assert pick(logits, np.random.default_rng(0), 0.0) == 3  # greedy
    draws = {pick(logits, np.random.default_rng(s), 0.8) for s in range(50)}
    assert draws == {3, 7}  # token 9 is below min-p of the most likely one
    same = [pick(logits, np.random.default_rng(5), 0.8) for _ in range(3)]
    assert len(set(same)) == 1


def test_a_loop_is_seen_and_varied_code_is_not():
    assert looping([1, 2, 3] * 30)
    assert not looping(list(range(200)))


def test_counting_on_is_a_loop_where_a_reply_completes_a_function():
    """`i % 10 == 0 and i % 11 == 0 and ...`: one span repeated but for its numbers. Seen as a
    loop (batch.counting, and the guard of a reply decoded alone) only where the reply completes
    a function: elsewhere a program's data may count on."""
    digits = frozenset(range(100, 110))  # the vocabulary's digit tokens, here
    span = [1, 2, 3, 4, 5, 6]  # "i", " %", " ", ..., " and"
    counts = [t for n in range(10, 60) for t in [*span[:3], 100 + n // 10, 100 + n % 10, *span[3:]]]
    assert counting(counts, digits) and not looping(counts)
    assert not counting(counts[: COUNTING - 1], digits)  # too short to tell
    assert not counting(list(range(400)), digits)
    guard, plain = RepetitionGuard(digits=lambda: digits), RepetitionGuard()
    prompt = [7] * 5
    assert not guard(prompt, None) and not plain(prompt, None)  # the first call: the prompt
    assert guard(prompt + counts, None) and guard.tripped
    assert not plain(prompt + counts, None)


def test_probes_nudge_one_literal_argument_keeping_its_type():
    found = probes(examples.extract("f(2, 'ab') == 1\nf(1, 'x') == 0\ng([1, 2, 3], True) == 2"))
    assert "f(3, 'ab')" in found and "f(2, 'ba')" in found and "f(2, '')" in found  # or shorter
    assert "g([3, 2, 1], True)" in found or "g([2, 3], True)" in found
    assert "f(2, 'ab')" not in found and "f(0, 'x')" not in found  # no example, no sign change
    assert len(found) <= 8 and len(set(found)) == len(found)
    assert probes(()) == () and probes(examples.extract("h() == 1")) == ()


def test_candidates_that_answer_every_example_are_told_apart_on_the_probes(tmp_path):
    """Three candidates of one round answer both examples: the first by rote, the two later ones
    agree on the inputs near the examples too. The agreeing pair's first is tried and chosen."""
    rote = "def add(a, b):\n    return {(2, 3): 5, (1, 1): 2}.get((a, b), 0)\n"
    also_right = RIGHT.replace("a + b", "b + a")
    provider = Parallel([fenced(TIMES), fenced(rote), fenced(RIGHT), fenced(also_right)])
    config = AgentConfig(max_steps=1, samples=4, plain_start=True)
    result = Agent(provider, Workspace(tmp_path), GOAL, config).run()
    row = selection(result)
    assert [c["examples_right"] for c in row["candidates"]] == [0, 2, 2, 2]
    assert row["chosen"] == 2 and row["candidates"][2]["agree"] == 2
    assert row["candidates"][1]["agree"] == 1  # the rote one differs on the probes
    assert "return a + b" in (tmp_path / "main.py").read_text()


def test_a_candidate_gets_the_helpers_the_given_code_shows():
    given = (
        "def is_even(n: int) -> bool:\n    return n % 2 == 0\n\n\n"
        'def evens(xs: list) -> list:\n    """The even ones."""'
    )
    code = candidates.normalize(
        "def evens(xs):\n    return [x for x in xs if is_even(x)]\n",
        given,
        examples.extract("evens([1, 2]) == [2]"),
    )
    assert code.index("def is_even") < code.index("def evens") and code.count("def is_even") == 1
    own = candidates.normalize(
        "def is_even(n):\n    return True\n\n\ndef evens(xs):\n    return xs\n", given, ()
    )
    assert own.count("def is_even") == 1 and "return True" in own  # its own is kept


def test_a_probe_that_hangs_keeps_the_examples_answers_and_a_cli_sees_its_own_argv():
    hangs_off_examples = (
        "def add(a, b):\n"
        "    while (a, b) not in ((2, 3), (1, 1)):\n"
        "        pass\n"
        "    return a + b\n"
    )
    got = screen([hangs_off_examples], CHECKS, ("add(3, 3)",), policy=SAFE)
    assert got is not None and got[0].right == 2
    cli = (
        "import argparse\n\n\ndef main():\n    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('n', nargs='*')\n    print(len(parser.parse_args().n))\n\n\n"
        'if __name__ == "__main__":\n    main()\n'
    )
    assert [s.behaviour for s in screen([cli], (), policy=SAFE) or []] == ["exit 0\x1f0\n"]


MEAN_GOAL = "Write mean(xs).\n\n    mean([1.0, 2.0]) == 1.5\n"
STEADY = "def mean(xs):\n    return sum(xs) / len(xs) if xs else 0.0\n"
BY_ROTE = "def mean(xs):\n    return 1.5\n"  # one answer to every input
FRAGILE = "def mean(xs):\n    return sum(xs) / len(xs)\n"  # raises on the empty probe


def test_a_candidate_that_raises_on_a_probe_or_answers_every_input_alike_is_shaky():
    checks = examples.extract(MEAN_GOAL)
    near = probes(checks)
    assert "mean([])" in near and "mean([2.0, 1.0])" in near
    got = screen([STEADY, BY_ROTE, FRAGILE], checks, near, policy=SAFE)
    assert [s.right for s in got] == [1, 1, 1]
    assert [s.shaky for s in got] == [False, True, True]


def test_a_shaky_candidate_does_not_end_the_sampling_and_a_steady_one_is_chosen(tmp_path):
    """The greedy candidate answers the example by rote and is green: the sampling goes on, and
    the steady candidate of the next round is chosen over the shaky ones."""
    provider = Parallel([fenced(BY_ROTE), fenced(FRAGILE), fenced(STEADY), fenced(FRAGILE)])
    config = AgentConfig(max_steps=1, samples=4, plain_start=True)
    result = Agent(provider, Workspace(tmp_path), MEAN_GOAL, config).run()
    assert provider.rounds == [1, 3]
    row = selection(result)
    assert [c["shaky"] for c in row["candidates"]] == [True, True, False, True]
    assert row["chosen"] == 2 and "raised on a probe" in row["why"]
    assert "if xs else 0.0" in (tmp_path / "main.py").read_text()


def test_every_third_block_asks_the_goal_as_written(tmp_path):
    """Candidates 18-25 (the greedy one is 1) ask the goal as written (its function's docstring
    said before the code): the second round of a local model, where it comes to that."""
    code = 'def add(a, b):\n    """Add.\n    add(2, 3) == 5\n    add(1, 1) == 2\n    """'
    goal = f"Complete add.\n\n```python\n{code}\n```\n"
    wrong = fenced(ONE_RIGHT)  # one example right: the sampling goes on
    n = 1 + shapes.BLOCK * shapes.ALTERNATE
    provider = Parallel([wrong] * (n - 1) + [fenced(RIGHT)])
    config = AgentConfig(max_steps=1, samples=n, plain_start=True)
    Agent(provider, Workspace(tmp_path), goal, config).run()
    assert provider.rounds == [1, sampling.ROUND, n - 1 - sampling.ROUND]
    complete = [a.startswith("Complete this Python function") for a in provider.asks]
    # the greedy one is the plain call; a warm one says the docstring before the code, rather
    # than have the reply type it again
    assert code in provider.asks[0]
    assert provider.asks[1].endswith(
        "Add.\nadd(2, 3) == 5\nadd(1, 1) == 2\n\n```python\ndef add(a, b):\n```"
    )
    plain = 1 + shapes.BLOCK * (shapes.ALTERNATE - 1)
    assert complete == [True] * plain + [False] * shapes.BLOCK
    # asked as written, the function's docstring too is said before its code
    assert provider.asks[-1] == (
        "Complete add.\n\nAdd.\nadd(2, 3) == 5\nadd(1, 1) == 2\n\n```python\ndef add(a, b):\n```\n"
        + candidates.ASK
    )
    assert "return a + b" in (tmp_path / "main.py").read_text()


def test_a_new_prompt_shape_is_one_function_and_its_place_in_the_schedule(tmp_path, monkeypatch):
    """What adding a candidate source takes: a shape in fresh/shapes.py and its place in
    shape_of. The sampler asks it, screens its reply and chooses it like any other."""

    def careful(brief):  # a third shape, for candidate 2
        return [{"role": "user", "content": "Carefully: " + brief.text}]

    schedule = shapes.shape_of
    monkeypatch.setattr(shapes, "shape_of", lambda k: careful if k == 2 else schedule(k))
    provider = Parallel([fenced(ONE_RIGHT), fenced(ONE_RIGHT), fenced(RIGHT), fenced(ONE_RIGHT)])
    config = AgentConfig(max_steps=1, samples=4, plain_start=True)
    result = Agent(
        provider, Workspace(tmp_path), "Write add(a, b).\nadd(2, 3) == 5\nadd(1, 1) == 2", config
    ).run()
    assert [a.startswith("Carefully: ") for a in provider.asks] == [False, False, True, False]
    # the trajectory holds what a selection rule needs to be replayed offline
    row = selection(result)["candidates"][2]
    assert row["shape"] == "careful" and "return a + b" in row["main"]
    assert row["screen"]["right"] == 2 and row["tokens"] >= 0
    assert selection(result)["chosen"] == 2 and "return a + b" in (tmp_path / "main.py").read_text()


def test_sampling_ends_after_a_round_in_which_no_candidate_answers_any_example(tmp_path):
    """The greedy candidate and a round answer none of the examples: no more rounds are asked
    (the right candidate the script holds after them is never reached); one example right in the
    first round is enough to go on and find it."""
    n = 1 + 2 * sampling.ROUND
    for first, rounds, right in [
        (TIMES, [1, sampling.ROUND], False),
        (ONE_RIGHT, [1, sampling.ROUND, sampling.ROUND], True),
    ]:
        script = [fenced(first)] + [fenced(TIMES)] * (sampling.BARREN - 1) + [fenced(RIGHT)] * 16
        provider = Parallel(script)
        project = tmp_path / str(right)
        config = AgentConfig(max_steps=1, samples=n, plain_start=True)
        Agent(provider, Workspace(project), GOAL, config).run()
        assert provider.rounds == rounds
        assert ("return a + b" in (project / "main.py").read_text()) is right


def test_the_barren_stop_needs_examples_and_counts_candidates_not_rounds(tmp_path):
    """A goal without examples has nothing to be barren on: every round is asked. A provider
    asked one candidate at a time stops after sampling.BARREN of them, as a local model does."""
    n = 1 + 2 * sampling.ROUND
    provider = Parallel([fenced(TIMES)] * n)
    config = AgentConfig(max_steps=1, samples=n, plain_start=True)
    Agent(provider, Workspace(tmp_path / "prose"), "Write add(a, b).", config).run()
    assert provider.rounds == [1, sampling.ROUND, sampling.ROUND]
    alone = ScriptedProvider([fenced(TIMES)] * n)
    Agent(alone, Workspace(tmp_path / "alone"), GOAL, config).run()
    assert len(alone.calls) == sampling.BARREN


def test_warm_candidates_write_at_most_one_and_a_half_times_the_first_reply(tmp_path):
    """A round lasts as long as its longest reply: those after the first may write 1.5 times its
    tokens (at least sampling.FLOOR, at most the cap); a first reply cut at the cap (it rambled)
    counts as sampling.FLOOR tokens long."""
    floor = sampling.FLOOR
    for first, cut, reach in [(300, False, 450), (20, False, floor), (1000, True, 384)]:
        greedy = Decision(raw=fenced(TIMES), usage=Usage(10, first, 10), cut=cut)
        provider = Parallel([greedy, fenced(TIMES), fenced(RIGHT)])
        config = AgentConfig(
            max_steps=1, samples=3, plain_start=True, settings=Settings(max_tokens=1000)
        )
        Agent(provider, Workspace(tmp_path / str(first) / str(cut)), GOAL, config).run()
        assert provider.caps == [1000, reach, reach]


class Slow(Parallel):
    """A round of warm candidates takes 100 s of a clock the test keeps (the greedy one 10 s)."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.clock = 0.0

    def complete_many(self, asks, actions):
        self.clock += 100.0 if len(asks) > 1 else 10.0
        return super().complete_many(asks, actions)


def test_a_round_that_would_not_end_within_the_time_left_is_not_begun(tmp_path):
    """Every candidate answers one example of two, so sampling goes on while time allows: after
    the greedy one (10 s) and a round (100 s) 140 s are left, enough for another round; after it
    40 s, not enough: a fourth round would have ended 60 s past the limit."""
    n = 1 + 3 * sampling.ROUND
    provider = Slow([fenced(ONE_RIGHT)] * n)
    agent = Agent(
        provider, Workspace(tmp_path), GOAL, AgentConfig(max_steps=1, samples=n, plain_start=True)
    )
    agent.sampler.left = lambda: 250.0 - provider.clock
    agent.run()
    assert provider.rounds == [1, sampling.ROUND, sampling.ROUND]


def test_a_goal_in_mbpps_form_keeps_the_plain_call_first_and_asks_the_rest_to_complete_a_stub(
    tmp_path,
):
    """A sentence and an assert: the greedy candidate is the plain call (the goal as written),
    the warm ones complete the function the assert calls, under that name, its docstring (the
    sentence and the example) said before the code."""
    goal = "Write a function that adds two numbers.\nassert add(2, 3) == 5"
    provider = Parallel([fenced("def plus(a, b):\n    return a + b\n"), fenced(RIGHT)])
    config = AgentConfig(max_steps=1, samples=2, plain_start=True)
    Agent(provider, Workspace(tmp_path), goal, config).run()
    assert provider.asks[0].startswith(goal)
    assert provider.asks[1].startswith("Complete this Python function")
    assert provider.asks[1].endswith(
        "Write a function that adds two numbers.\n>>> add(2, 3)\n5\n\n"
        "```python\ndef add(m, n):\n```"
    )
    assert "return a + b" in (tmp_path / "main.py").read_text()


def test_only_candidates_that_could_still_be_chosen_are_tried_in_full(tmp_path, monkeypatch):
    """A stalled start tries its best few in full to choose what to keep, but skips one that could
    not be chosen over a candidate tried already even if its trial went as well as its screen
    allows: the first (its demo main() crashes) leaves room, the second (as good as a candidate
    answering one example can get) leaves none, so the third is never tried."""
    crashing = ONE_RIGHT + "\n\ndef main():\n    print(add(x, 1))\n"
    script = [fenced(crashing), fenced(ONE_RIGHT.replace("a + 1", "a * 2"))]
    script += [fenced(ONE_RIGHT.replace("a + 1", "a * b + 1"))]
    tried = trials_made(monkeypatch)
    config = AgentConfig(max_steps=1, samples=3, plain_start=True)
    result = Agent(Parallel(script), Workspace(tmp_path), GOAL, config).run()
    rows = selection(result)["candidates"]
    assert [r["examples_right"] for r in rows] == [1, 1, 1]
    assert [r["tried"] for r in rows] == [True, True, False] and len(tried) == 2
    assert rows[1]["chosen"] and "a * 2" in (tmp_path / "main.py").read_text(), result.reason


def test_a_reply_ends_once_the_goals_function_is_written(tmp_path):
    """Where the goal gives the function to complete, each reply is cut where goal.ending says
    it is over: the demo a small model writes after the function (here one that crashes) never
    becomes main(), which calls the goal's example instead, and the right function is done."""
    goal = (
        "Complete this function.\n\n```python\ndef add(a, b):\n"
        '    """Add them.\n    >>> add(2, 3)\n    5\n    """\n```\n'
    )
    demo = RIGHT + "\nprint(add(2, 3))\nexplode()\n"
    provider = Parallel([fenced(demo)])
    config = AgentConfig(max_steps=2, samples=1, plain_start=True)
    result = Agent(provider, Workspace(tmp_path), goal, config).run()
    main = (tmp_path / "main.py").read_text()
    assert "explode" not in main and "print(add(2, 3))" in main
    assert result.status == "done", result.reason
