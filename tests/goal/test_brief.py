"""The goal read once: the stub a goal in MBPP's form gets (a sentence and an assert, no code, no
signature in its words), which the warm candidates are asked to complete."""

from __future__ import annotations

import ast

from autocoder.fresh import shapes
from autocoder.fresh.candidates import normalize
from autocoder.goal.brief import Brief

MBPP_FORM = (
    "Write a function to find the shared elements of two tuples.\n"
    "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)"
)


def test_a_sentence_and_an_assert_give_the_called_function_a_signature_and_docstring():
    stub = Brief.read(MBPP_FORM).stub
    fn = ast.parse(stub).body[0]
    assert isinstance(fn, ast.FunctionDef) and fn.name == "similar_elements"
    assert [a.arg for a in fn.args.args] == ["test_tup1", "test_tup2"]
    doc = ast.get_docstring(fn)
    assert doc is not None and doc.startswith("Write a function to find the shared elements")
    assert ">>> similar_elements((3, 4, 5, 6), (5, 7, 4, 10))\n(4, 5)" in doc
    assert "assert" not in doc  # the example is shown once, as a doctest


def test_parameter_names_follow_what_the_example_passes():
    def params(goal: str) -> list[str]:
        return [a.arg for a in ast.parse(Brief.read(goal).stub).body[0].args.args]

    assert params("Minimum cost.\nassert min_cost([[1, 2], [3, 4]], 1, 1) == 5") == [
        "matrix",
        "m",
        "n",
    ]
    assert params("Largest n.\nassert largest([3, 1, 2], 2) == [3, 2]") == ["nums", "n"]
    assert params("Long words.\nassert long_words(['ab', 'abcd'], 'x') == ['abcd']") == [
        "words",
        "s",
    ]
    assert params("Kind.\nassert kind(x=1) == 1") == ["x"]
    assert params("Opaque.\nassert f(len('ab'), None) == 2") == ["arg1", "arg2"]


def test_the_function_inside_a_builtins_call_is_the_one_to_complete():
    stub = Brief.read("Shared.\nassert set(shared((3, 4), (4, 5))) == {4}").stub
    assert stub.startswith("def shared(test_tup1, test_tup2):")
    assert ">>> set(shared((3, 4), (4, 5)))\n    {4}" in stub


def test_a_signature_the_words_give_is_the_stubs_with_the_words_and_examples():
    """The README's form: the stub keeps the words' own parameters (not names made up from the
    example's values), and a goal without examples gets one too."""
    said = "main.py defines add(a, b) that returns their sum: add(2, 3) == 5, add(0, 0) == 0."
    assert Brief.read(said).stub == (
        'def add(a, b):\n    """main.py defines add(a, b) that returns their sum: add(2, 3) == 5,'
        ' add(0, 0) == 0.\n    >>> add(2, 3)\n    5\n    >>> add(0, 0)\n    0\n    """'
    )
    bare = Brief.read("main.py defines fib(n) that returns the n-th Fibonacci number.")
    assert bare.stub.startswith('def fib(n):\n    """main.py defines fib(n) that returns')
    # two functions named, or examples calling another: no one function to complete
    # an example calling it another way than the words' signature would fail the stub's doctest
    assert Brief.read("main.py defines add(a, b). add(1, b=2) == 3").stub
    for goal in (
        "main.py defines encrypt(text, shift) and decrypt(text, shift).",
        "main.py defines add(a, b) that returns their sum: sub(3, 2) == 1.",
        "main.py defines Stack(items) holding them.",
        "main.py defines add(a, b). add(1, 2, 3) == 6",
        "main.py defines round_to(x, digits). round_to(2.5) == 2",
        "main.py defines greet(name). greet('Bob', greeting='Hi') == 'Hi Bob'",
        # words saying how the program runs, which a stub of the function alone leaves out
        "main.py defines fib(n) that returns the n-th Fibonacci number; main() prints fib(10).",
        "main.py defines count(text): count('a b') == 2, and python main.py a b prints 2",
    ):
        assert Brief.read(goal).stub == "", goal


def test_no_stub_where_the_goal_gives_code_or_calls_more_than_one_function():
    """(A goal whose examples run main.py as a command gets main()'s: the test below.)"""
    given = "Complete it.\n\n```python\ndef add(a, b):\n    pass\n```\nassert add(2, 3) == 5"
    two = "Two functions.\nassert add(2, 3) == 5\nassert sub(3, 2) == 1"
    quotes = 'Says """hi""".\nassert hi() == "hi"'
    builtin = "Its length.\nassert len([1, 2]) == 2"
    method = "A method.\nassert Stack().size() == 0"
    for goal in (given, two, quotes, builtin, method, "No examples at all."):
        assert Brief.read(goal).stub == "", goal


def test_no_stub_where_the_words_write_the_function_or_it_is_called_two_ways():
    """Whatever the words say of the function's own signature stands (the stub would rename or
    drop its parameters); a class is no function; a stub is never broken Python."""
    goals = (
        "main.py should define add(a, b) returning a + b.\nadd(2, 3) == 5",
        "Implement `def add(a, b)` returning the sum.\nadd(2, 3) == 5",
        "main.py defines add(a, b=0).\nadd(2) == 2",
        "main.py defines total(*nums).\ntotal(1, 2) == 3",
        "Sum.\nassert add(1) == 1\nassert add(1, 2) == 3",
        "Power.\nassert p(2, exp=3) == 8\nassert p(2) == 4",
        "A fraction class.\nassert str(Fraction(1, 2)) == '1/2'",
        "Do it.\n```\nassert f(2) == 3\n```",
        "Null\x00byte.\nassert f(1) == 1",
        "S\ud800.\nassert f(1) == 1",
        "Quotes.\nassert f(1) == '''it's \"x\"'''",
        "W" * 5000 + "\nassert f(1) == 1",
    )
    for goal in goals:
        assert Brief.read(goal).stub == "", goal[:60]


def test_described_takes_out_the_docstring_of_the_function_left_to_complete():
    """The warm candidates' ask says that function's docstring before the code (fresh/shapes.py):
    the code keeps its imports and finished helpers; a last function with a body, or code that
    does not parse, is left as it is."""
    from autocoder.goal.code import described

    code = (
        "from typing import List\n\n\ndef helper(x):\n    return x\n\n\n"
        'def total(xs: List[int]) -> int:\n    """Sum xs.\n\n    >>> total([1, 2])\n    3\n    """'
    )
    bare, doc = described(code)
    assert doc == "Sum xs.\n\n>>> total([1, 2])\n3"
    assert bare == (
        "from typing import List\n\n\ndef helper(x):\n    return x\n\n\n"
        "def total(xs: List[int]) -> int:"
    )
    finished = 'def total(xs):\n    """Sum xs."""\n    return sum(xs)'
    assert described(finished) == (finished, "")
    assert described("def broken(:") == ("def broken(:", "")
    assert described("") == ("", "")


def test_said_first_moves_the_docstring_out_of_the_goals_fence_and_keeps_the_rest():
    """The warm "reply with main.py" ask (fresh/shapes.as_said) says the docstring before the
    fence as the "complete" ask does: the words around the fence and the helpers stay as
    written; a goal without code to complete is left as it is."""
    from autocoder.goal.code import said_first

    goal = (
        "Write main.py with this function:\n\n```python\ndef helper(x):\n    return x\n\n\n"
        'def total(xs):\n    """Sum xs.\n\n    >>> total([1, 2])\n    3\n    """\n```\n\n'
        "main() prints one example."
    )
    assert said_first(goal) == (
        "Write main.py with this function:\n\nSum xs.\n\n>>> total([1, 2])\n3\n\n"
        "```python\ndef helper(x):\n    return x\n\n\ndef total(xs):\n```\n\n"
        "main() prints one example."
    )
    plain = "Write a function that adds two numbers.\nassert add(2, 3) == 5"
    assert said_first(plain) == plain
    finished = "Fix this:\n\n```python\ndef f(x):\n    return x\n```"
    assert said_first(finished) == finished


CLI = (
    "A command line tool that prints the sum of its arguments: `python main.py 3 4 5` prints 12, "
    "`python main.py 'a b'` prints `error`."
)


def test_a_goal_of_command_examples_gets_main_begun_by_reading_its_arguments():
    """Asked for main.py from the sentence alone, the 135M model wrote `print(sum(args))` with no
    `args` (none of 16 candidates of 8 such goals answered an example); asked to complete main()
    begun with `args = sys.argv[1:]`, 2 of the 8 goals got candidates answering every one."""
    brief = Brief.read(CLI)
    assert brief.stub.startswith('import sys\n\n\ndef main():\n    """A command line tool')
    assert "    $ python main.py 3 4 5\n    12\n    $ python main.py 'a b'\n    error" in brief.stub
    assert brief.begun == "    args = sys.argv[1:]" and brief.to_complete == brief.stub
    asked = shapes.complete(brief)[0]["content"]
    assert asked.endswith("```python\nimport sys\n\n\ndef main():\n    args = sys.argv[1:]\n```")
    assert "$ python main.py 3 4 5\n12" in asked  # the docstring said before the code
    # a reply that leaves out the import gets the stub's
    reply = "def main():\n    args = sys.argv[1:]\n    print(sum(map(int, args)))\n"
    assert normalize(reply, brief.to_complete, brief.examples).startswith("import sys\n")
    # a goal calling a function gets no such line; one mixing the two kinds gets no stub
    assert Brief.read(MBPP_FORM).begun == "" and Brief.read(MBPP_FORM).stub
    assert Brief.read(CLI + "\nassert add(1, 2) == 3").stub == ""
    assert Brief.read("main.py defines a function add(a, b). " + CLI).stub == ""
