"""The goal's own examples become checks that judge candidates and tell the model what is wrong."""

from autocoder.agent import Agent
from autocoder.candidates import normalize
from autocoder.config import AgentConfig
from autocoder.examples import Example, check, extract
from autocoder.providers.modes import MODES
from autocoder.providers.scripted import ScriptedProvider
from autocoder.state import Decision, passed
from autocoder.workspace import Workspace

GOAL = '''Write main.py with this function:
def add(a, b):
    """Add two numbers.
    >>> add(2, 3)
    5
    """
Also:
add(1, 1) == 2
  add(0, 7) ➞ 7.
tri(n) = tri(n - 1) + 1 is prose, no example.
'''
TEST = "from main import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


def main_with(body: str) -> str:
    return (
        f"def add(a, b):\n    {body}\n\n\n"
        "def main():\n    print(add(2, 3))\n\n\n"
        'if __name__ == "__main__":\n    main()\n'
    )


def test_examples_are_read_from_doctests_and_arrow_lines_only_when_well_formed():
    assert extract(GOAL) == (
        Example("add(2, 3)", "5"),
        Example("add(1, 1)", "2"),
        Example("add(0, 7)", "7"),
    )
    assert extract("Write a CLI that sums its arguments.") == ()


def test_examples_inside_a_sentence_are_read_and_prose_is_not():
    goal = (
        "Write is_palindrome(s). is_palindrome('racecar') == True, is_palindrome('a,b)') == False."
    )
    assert extract(goal) == (
        Example("is_palindrome('racecar')", "True"),
        Example("is_palindrome('a,b)')", "False"),
    )
    assert extract("fib(1) == 1, fib(10) == 55 and pairs([1, 2]) returns [(1, 2)].") == (
        Example("fib(1)", "1"),
        Example("fib(10)", "55"),
        Example("pairs([1, 2])", "[(1, 2)]"),
    )
    assert extract("h(x) == h(x - 1) + 1, so tri(n) = tri(n - 1) + 1") == ()  # rules, not facts
    assert extract("f(5) returns [1, 5] # the odd ones") == (Example("f(5)", "[1, 5]"),)


def test_an_example_calling_what_the_given_code_does_not_define_is_dropped():
    # HumanEval/81 shows grade_equation(...) for numerical_letter_grade, /80 is_happy(abcd) unquoted
    goal = (
        "```python\ndef grade(xs):\n    pass\n```\n"
        "grade([4.0]) == ['A+']\ngrade_equation([4.0]) == ['A+']\ngrade(abcd) == 1\n"
    )
    assert extract(goal) == (Example("grade([4.0])", "['A+']"),)


def test_an_examples_call_keeps_no_trailing_comment_so_it_can_be_embedded_in_code():
    # HumanEval/32: `>>> round(find_zero([1, 2]), 2) # f(x) = 1 + 2x`; as written, print(<call>)
    # in a candidate's main() was a syntax error that ended the run as an internal error
    found = extract(">>> round(find_zero([1, 2]), 2) # f(x) = 1 + 2x\n-0.5\n")
    assert found == (Example("round(find_zero([1, 2]), 2)", "-0.5"),)
    assert "print(round(find_zero([1, 2]), 2))" in normalize(
        "def find_zero(xs):\n    return 0\n", "", found
    )


def test_a_check_runs_in_the_sandbox_and_counts_right_answers(tmp_path):
    (tmp_path / "main.py").write_text(main_with("return a + b if a else 0"))
    result = check(tmp_path, extract(GOAL))
    assert not result.ok and passed(result) == 2
    assert "FAIL add(0, 7) returned 0; expected 7" in result.output
    (tmp_path / "main.py").write_text(main_with("return a + b"))
    assert check(tmp_path, extract(GOAL)).ok


def test_the_candidate_that_answers_the_examples_is_applied(tmp_path):
    wrong = Decision(
        action="create_project", args={"main": main_with("return a - b"), "test": TEST}
    )
    right = Decision(
        action="create_project", args={"main": main_with("return a + b"), "test": TEST}
    )
    finish = Decision(action="finish", args={"reason": "done"})
    result = Agent(
        ScriptedProvider([wrong, right, finish]), Workspace(tmp_path), GOAL, AgentConfig(samples=2)
    ).run()
    assert result.status == "done"
    assert "a + b" in (tmp_path / "main.py").read_text()


def test_wrong_examples_keep_the_run_from_finishing_and_reach_the_prompt(tmp_path):
    wrong = Decision(
        action="create_project",
        args={"main": main_with("return a - b"), "test": TEST.replace("3", "-1")},
    )
    seen = []

    class Watching(ScriptedProvider):
        def complete(self, messages, actions, settings):
            seen.append((messages[-1]["content"], [a.name for a in actions]))
            return super().complete(messages, actions, settings)

    result = Agent(Watching([wrong]), Workspace(tmp_path), GOAL, AgentConfig(max_steps=2)).run()
    assert result.status != "done"
    prompt, offered = seen[1]
    assert "the goal's examples: WRONG" in prompt and "add(2, 3) returned -1; expected 5" in prompt
    assert "finish" not in offered


SKELETON = '''Complete this:
```python
def add(a, b):
    """Add.
    >>> add(2, 3)
    5
    """
```
'''


def test_a_goals_code_to_complete_prefills_only_the_create_reply_in_grammar_mode(tmp_path):
    seen = []

    class Watching(ScriptedProvider):
        def complete(self, messages, actions, settings):
            seen.append(settings.prefix)
            return super().complete(messages, actions, settings)

    right = Decision(
        action="create_project", args={"main": main_with("return a + b"), "test": TEST}
    )
    finish = Decision(action="finish", args={"reason": "done"})
    provider = Watching([right, finish])
    provider.codec = MODES["grammar"]
    assert Agent(provider, Workspace(tmp_path / "g"), SKELETON).run().status == "done"
    assert seen[0].endswith(
        'main:\n```python\ndef add(a, b):\n    """Add.\n    >>> add(2, 3)\n    5\n    """\n    '
    )
    assert seen[1] == ""  # the judgement is not prefilled
    seen.clear()
    provider = Watching([right])
    provider.codec = MODES["native"]  # tool calls have no reply text to begin
    Agent(provider, Workspace(tmp_path / "n"), SKELETON, AgentConfig(max_steps=1)).run()
    assert seen == [""]


def test_right_answers_outrank_a_main_that_runs(tmp_path):
    """A candidate that answers every example but whose demo main() crashes beats one whose
    main() runs but answers wrong: the next step can fix main(), not the facts."""
    crashing = main_with("return a + b").replace("print(add(2, 3))", "print(add(x, 3))")
    wrong = Decision(
        action="create_project", args={"main": main_with("return a * b"), "test": TEST}
    )
    right = Decision(action="create_project", args={"main": crashing, "test": TEST})
    agent = Agent(
        ScriptedProvider([right, wrong]),
        Workspace(tmp_path),
        GOAL,
        AgentConfig(samples=2, max_steps=1),
    )
    agent.run()
    assert "a + b" in (tmp_path / "main.py").read_text()
