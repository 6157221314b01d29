"""Inputs where the goal gives none: calls derived from the signature its words give, answered by
every candidate, and the candidates chosen by agreement on those answers; raising on an input is
an answer like any other, never a mark against a candidate."""

from __future__ import annotations

from autocoder.fresh import candidates, sampling
from autocoder.fresh.probes import CALLS, derived, kind, shown
from autocoder.fresh.screen import screen
from autocoder.goal.code import named, signatures
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.sandbox import SAFE

from .test_screen import Parallel, fenced, selection

GREET = "main.py defines greet(name) that prints a greeting"
GOAL = "main.py defines double(n) that returns twice n. main() prints double(4)."
MAIN = "\n\ndef main():\n    print(double(4))\n"
RIGHT = ["def double(n):\n    return n * 2\n", "def double(n):\n    return n + n\n"]
RIGHT.append("def double(n):\n    return 2 * n\n")
# prints 8 for double(4), as the right ones do, and is wrong elsewhere
WRONG = "def double(n):\n    return 8 if n == 4 else n\n"


def test_the_signature_the_goals_words_give_becomes_calls():
    assert signatures("main.py defines fib(n) that returns the n-th number") == [("fib", ["n"])]
    assert signatures("a function add(a, b) and one more: f(2, 3) == 5") == [("add", ["a", "b"])]
    assert signatures("add(2, 3) == 5, main.py defines f(2, 3)") == []  # calls, not parameters
    assert signatures("```python\ndef g(x):\n    pass\n```\nmain.py defines g(x)") == [("g", ["x"])]


def test_functions_named_after_the_first_in_its_sentence_are_named_too():
    cipher = "main.py defines encrypt(text, shift) and decrypt(text, shift) for the cipher."
    assert signatures(cipher) == [("encrypt", ["text", "shift"]), ("decrypt", ["text", "shift"])]
    roman = "defines to_roman(n) that turns (4 is IV, 9 is IX), and from_roman(s) that undoes it."
    assert named(roman) == {"to_roman", "from_roman"}
    # calls, builtins and the next sentence are not
    for words in (
        "defines f(x) and prints g(2).",
        "defines f(x) and print(x).",
        "defines f(x) that adds. Then h(y), and k(z) are called.",
        # a parameter, a standard module's function, a method the words call
        "defines f(g, x) that applies g, and g(x) must be defined.",
        "defines f(d) with the discriminant, and sqrt(d) from math.",
        "defines f(s) that uses s.split(sep), and split(sep) again.",
    ):
        assert named(words) == {"f"}, words
    assert [kind(p) for p in ("n", "text", "numbers", "words", "celsius")] == [
        "int",
        "str",
        "ints",
        "words",
        "float",
    ]
    calls = derived("main.py defines encrypt(text, shift) that shifts letters")
    assert len(calls) == CALLS and all(c.startswith("encrypt('") for c in calls)
    assert len({c.split(", ")[1] for c in calls}) == CALLS  # the shift varies with the text
    assert derived("Write a program that prints hello") == ()


def test_the_given_codes_annotations_give_the_values_of_its_calls():
    """Code to complete with no examples: its function is called with values of the types its
    annotations say (a name decides where there is none); a signature the words give too is
    called once, as the code types it."""
    given = "from typing import List\n\n\ndef below(operations: List[float], limit) -> bool:\n"
    calls = derived("Complete the function.", given + '    """Whether any falls below."""\n')
    assert len(calls) == CALLS and all(c.startswith("below([") for c in calls)
    assert "below([1.0, 2.5, 2.0], 7)" in calls  # floats, and a number for `limit`
    assert derived("x", "def f(s: str, xs: list[int], w: Tuple[str, ...]):\n    pass\n")[0] == (
        "f('hello world', [], ['b', 'a', 'c'])"
    )
    both = derived("main.py defines mean(xs) that averages", "def mean(xs: List[float]):\n  ...")
    assert both[0] == "mean([1.0, 2.5, 2.0])" and len(both) == CALLS
    assert derived("x", "def f(a, *rest):\n    pass\n") == ()  # only plain parameters
    assert derived("x", "def f(a b):\n") == ()  # code that does not parse gives none


def test_derived_calls_tell_apart_candidates_that_print_alike_and_raising_is_no_mark():
    calls = derived(GOAL)
    mains = [m + MAIN for m in (WRONG, *RIGHT)]
    picky = "def double(n):\n    if n == 0:\n        raise ValueError('n > 0')\n    return n * 2\n"
    broken = "def twice(n):\n    return n * 2\n"  # no double: raises on every call
    got = screen([*mains, picky + MAIN, broken + MAIN], (), policy=SAFE, derived=calls)
    assert got is not None
    assert got[1].behaviour == got[2].behaviour == got[3].behaviour != got[0].behaviour
    refused = got[4].behaviour.split("\x1f")  # refusing one input: an answer, the others kept
    assert "raised ValueError" in refused and refused[:4] == ["2", "14", "24", "6"]
    assert got[5].behaviour == ""  # raising on every call agrees with nothing
    assert all(s.right == 0 for s in got)  # no example: nothing is right or wrong
    printed = screen(mains, (), policy=SAFE)  # without derived calls all print 8 alike
    assert printed is not None and len({s.behaviour for s in printed}) == 1


def test_a_goal_without_examples_is_chosen_by_agreement_on_derived_calls(tmp_path):
    """The greedy candidate prints what the right ones print but is wrong elsewhere; three right
    candidates agree on every derived call: one of them is chosen."""
    provider = Parallel([fenced(WRONG + MAIN)] + [fenced(m + MAIN) for m in RIGHT])
    config = AgentConfig(max_steps=1, samples=4, plain_start=True)
    result = Agent(provider, Workspace(tmp_path), GOAL, config).run()
    chosen = selection(result)["chosen"]
    assert chosen > 0, selection(result)["why"]
    assert "n == 4" not in (tmp_path / "main.py").read_text()


def test_an_input_a_program_loops_on_leaves_its_other_answers():
    loops = "def is_power_of_two(n):\n    while n % 2 == 0:\n        n //= 2\n    return n == 1\n"
    calls = derived("main.py defines is_power_of_two(n) that says whether n is a power of two")
    got = screen([loops, loops], (), policy=SAFE, derived=calls)
    assert got is not None and got[0].behaviour == got[1].behaviour  # the two agree
    answers = got[0].behaviour.split("\x1f")
    assert answers[:4] == ["True", "False", "False", "False"] and "TimeoutError" in answers[4]


def test_functions_that_print_are_told_apart_by_what_they_print():
    hi = "def greet(name):\n    print('hi', name)\n"
    got = screen([hi, hi.replace("hi", "yo"), hi], (), policy=SAFE, derived=derived(GREET))
    assert got is not None and got[0].behaviour == got[2].behaviour != got[1].behaviour
    assert derived("main.py defines main() that prints hello") == ()  # its output, as before


def test_without_examples_sampling_ends_once_enough_green_candidates_agree(tmp_path):
    n = 1 + 2 * sampling.ROUND
    provider = Parallel([fenced(RIGHT[k % 3] + MAIN) for k in range(n)])
    config = AgentConfig(max_steps=1, samples=n, plain_start=True)
    Agent(provider, Workspace(tmp_path), GOAL, config).run()
    assert provider.rounds == [1, sampling.ROUND]  # not the second round


def test_a_candidate_cannot_swallow_the_time_limit_and_limits_add_up_within_its_time():
    """A loop on 0 inside `except Exception` still ends (the limit is not an Exception); three
    calls that each loop fit the candidate's time: the answers before and after are kept."""
    swallows = (
        "def is_power_of_two(n):\n    while True:\n        try:\n"
        "            while n % 2 == 0:\n                n //= 2\n            return n == 1\n"
        "        except Exception:\n            pass\n"
    )
    calls = derived("main.py defines is_power_of_two(n) that says whether n is a power of two")
    got = screen([swallows], (), policy=SAFE, derived=calls)
    assert got is not None and got[0].behaviour.startswith("True\x1fFalse\x1fFalse\x1fFalse")
    three = "def f(x, y, z):\n    while x * y * z == 0:\n        pass\n    return x + y + z\n"
    got = screen([three], (), policy=SAFE, derived=derived("main.py defines f(x, y, z) that"))
    answers = got[0].behaviour.split("\x1f") if got else []
    assert answers[:2] == ["20", "22"] and answers.count("raised TimeoutError") == 3


def test_the_same_program_answers_alike_whatever_its_folder():
    warns = "def double(n):\n    if n is 0:\n        return 0\n    return n * 2\n"
    got = screen([warns, warns], (), policy=SAFE, derived=derived(GOAL))
    assert got is not None and got[0].behaviour == got[1].behaviour != ""


# a goal that gives a function to complete and states no examples (HumanEval has 9 such)
TOTAL = '''from typing import List


def total(xs: List[int]) -> int:
    """The sum of xs."""
'''
TO_COMPLETE = f"Write main.py with this function:\n\n```python\n{TOTAL}```\n"


def test_a_completed_function_without_examples_gets_a_main_that_calls_it():
    calls = shown(TO_COMPLETE, TOTAL)
    done = candidates.normalize("def total(xs):\n    return sum(xs)\n", TOTAL, (), calls)
    assert "def main():\n    print(total([3, 1, 2]))" in done and '__name__ == "__main__"' in done
    # a candidate without the goal's function gets no main() made up for it
    other = candidates.normalize("def add(xs):\n    return sum(xs)\n", TOTAL, (), calls)
    assert "def main" not in other
    # every parameter gets its kind's first, most ordinary value: no division by 0.0
    ratio = shown("main.py defines ratio(price, weight) that divides price by weight")
    assert ratio[0] == "ratio(100.0, 100.0)" and "ratio(100.0, 0.0)" in ratio


def test_function_only_replies_to_such_a_goal_make_green_projects_that_end_the_sampling(
    tmp_path,
):
    """A reply that completes the function alone (a small model's usual one) once had no main():
    no candidate was green, sampling ran every round and repairs went on to the time limit."""
    n = 1 + 2 * sampling.ROUND
    right = [
        "return sum(xs)",
        "return sum(x for x in xs)",
        "t = 0\n    for x in xs:\n        t += x\n    return t",
    ]
    provider = Parallel([fenced(f"def total(xs):\n    {right[k % 3]}\n") for k in range(n)])
    config = AgentConfig(max_steps=1, samples=n, plain_start=True)
    Agent(provider, Workspace(tmp_path), TO_COMPLETE, config).run()
    assert provider.rounds == [1, sampling.ROUND]  # not the second round
    main = (tmp_path / "main.py").read_text()
    assert "print(total([3, 1, 2]))" in main and '__name__ == "__main__"' in main
