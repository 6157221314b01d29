"""Where a reply completing the goal's function is over (goal.ending): after the function and
all it needs, never before."""

from autocoder.goal import examples
from autocoder.goal.ending import function, known, over

FENCE = "Here it is:\n```python\n"


def test_a_reply_is_over_at_the_first_top_level_line_the_function_does_not_need():
    reply = FENCE + "def add(a, b):\n    return a + b\n\n# try it\nprint(add(2, 3))\nmain()\n"
    assert reply[: over(reply, "add")] == FENCE + "def add(a, b):\n    return a + b\n\n# try it\n"
    guard = FENCE + 'def add(a, b):\n    return a + b\n\nif __name__ == "__main__":\n    x()\n'
    assert guard[over(guard, "add") :].startswith("if __name__")
    own_main = FENCE + "def add(a, b):\n    return a + b\n\ndef main():\n    print(add(1, 2))\n"
    assert own_main[over(own_main, "add") :].startswith("def main")


def test_what_the_function_needs_after_it_is_kept():
    reply = (
        FENCE
        + "import math\n\ndef area(r):\n    return scale(r) * math.pi\n\n"
        + "def scale(r):\n    return r * FACTOR\n\nFACTOR = 2\n"
        + "def unused():\n    return 1\n\nprint(area(1))\n"
    )
    cut = reply[: over(reply, "area")]
    assert cut.endswith("FACTOR = 2\n") and "unused" not in cut
    # a name read but never defined (nor built in): the reply is not over
    assert over(FENCE + "def f(x):\n    return g(x)\n\nprint(f(1))\n", "f") is None
    assert over(FENCE + "def f(x):\n    return g(x)\n\nprint(f(1))\n", "f", ("g",)) is not None


def test_a_reply_is_never_over_before_the_function_nor_inside_unfinished_code():
    assert over(FENCE + "def other(x):\n    return x\n\nprint(other(1))\n", "f") is None
    signature = FENCE + "def f(\n    x,\n):\n    s = '''\ncolumn 0 text\n'''\n    return s\n"
    assert over(signature + "print(f(1))\n", "f") == len(signature)
    body = FENCE + "def f(x):\n    y = [x for x in range(3)]\n# note\n    return y\nf(1)\n"
    assert body[over(body, "f") :] == "f(1)\n"  # a comment at column 0 decides nothing
    # its locals, parameters, loop names, nested functions and builtins are not needed
    local = (
        FENCE
        + "def f(n):\n    def g(k):\n        return k\n    return sum(g(i) for i in range(n))\n"
    )
    assert over(local + "print(f(3))\n", "f") == len(local)


def test_a_reply_stopped_where_it_is_over_is_over_there_too():
    """What a local model does: stop at the line that decides, keeping its first character."""
    reply = FENCE + "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"
    at = over(reply, "add")
    assert over(reply[: at + 1], "add") == at


def test_the_function_and_what_the_program_has_besides():
    given = (
        "from typing import List\n\n\ndef helper(x):\n    return x\n\n\n"
        "def f(xs: List[int]):\n    '''Doc.'''\n"
    )
    assert known(given) == ("List",)  # not its functions: a reply may write its own version
    calls = examples.extract("f([1]) == 1")
    assert function(given, calls) == ("f", "List")
    assert function("", calls) == ()  # no code given: its program's top level may be the point
    runs = examples.extract("`python main.py 2 3` prints 5")
    assert function(given, runs) == ()


def test_a_line_setting_up_what_the_function_reads_is_needed():
    memo = FENCE + "def fib(n):\n    if n not in memo:\n        memo[n] = fib(n - 1) + fib(n - 2)\n"
    memo += "    return memo[n]\n\nmemo = {}\nmemo[0] = 0\nmemo[1] = 1\n"
    assert memo[: over(memo + "print(fib(5))\n", "fib")] == memo


def test_odd_replies_neither_cut_a_function_short_nor_raise():
    crlf = FENCE + "def f(x):\r\n    y = x + 1\r\n\r\n    return y\r\n"
    assert over(crlf + "print(f(1))\r\n", "f") == len(crlf)
    deep = FENCE + "def f(x):\n    return g(x)\ny = " + "1+" * 3000 + "1\ndef g(x):\n    return x\n"
    assert over(deep, "f") is None or over(deep, "f") > 0  # no RecursionError out of it
    mine = FENCE + "def f(s):\n    return helper(s, 0)\n\ndef helper(s, i):\n    return i\n"
    assert over(mine + "print(f(1))\n", "f", known("def helper(s):\n    return s\n")) == len(mine)
