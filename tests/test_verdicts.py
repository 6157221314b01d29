"""Verdicts answered by objects: an answer whose `__eq__` always says yes, an int subclass, a
module `__getattr__`, a patched builtin or a project `__init__.py` changes no verdict of the
examples check, the screen or the bench judge; a candidate cannot spoil its rivals' screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocoder import examples, sandbox
from autocoder.bench.goal import Goal
from autocoder.bench.humaneval import TEST as HUMANEVAL
from autocoder.bench.worker import judge
from autocoder.screen import screen
from autocoder.state import passed

pytestmark = pytest.mark.skipif(not sandbox.backend(), reason="no sandbox backend here")

CHECKS = examples.extract("add(2, 3) == 5\nadd(1, 1) == 2")
RIGHT = "def add(a, b):\n    return a + b\n"
YES = (
    "class Yes:\n    def __eq__(self, other):\n        return True\n\n"
    "    def __ne__(self, other):\n        return False\n\n"
    "    def __bool__(self):\n        return True\n\n\n"
)
ATTACKS = {
    "always_equal": YES + "def add(a, b):\n    return Yes()\n",
    "int_subclass": (
        "class I(int):\n    def __eq__(self, other):\n        return True\n\n"
        "    __hash__ = int.__hash__\n\n\ndef add(a, b):\n    return I(a + b + 1)\n"
    ),
    "module_getattr": YES + "def __getattr__(name):\n    return lambda *a, **k: Yes()\n",
    "patched_builtins": (
        "import builtins, json, math\n\nbuiltins.isinstance = lambda *a: True\n"
        "math.isclose = lambda *a, **k: True\njson.dumps = lambda *a, **k: '{\"exit\": 0}'\n\n\n"
        "def add(a, b):\n    return a + b + 0.5\n"
    ),
}
# Beside a wrong main.py: a package root that ends the tests early or makes every test pass.
INIT = {
    "exits": "import os\nos._exit(0)\n",
    "patches_pytest": (
        "import _pytest.python\n\n_pytest.python.Function.runtest = lambda self: None\n"
    ),
    "writes": "open('test_extra.py', 'w').write('def test_x():\\n    pass\\n')\n",
}
WRONG = "def add(a, b):\n    return a - b\n"
SAMPLE = "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
CHECK = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(1, 1) == 2\n"
GOALS = {
    "samples": Goal("add", "add(a, b)", {"test_add.py": SAMPLE.encode()}),
    "humaneval": Goal(
        "humaneval_add",
        "add(a, b)",
        {"test_add.py": HUMANEVAL.format(entry="add", test=CHECK, slug="add").encode()},
    ),
}


def _project(root: Path, main: str, init: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "main.py").write_text(main)
    if init:
        (root / "__init__.py").write_text(init)
    return root


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_answer_that_is_an_object_fails_the_examples_and_the_screen(tmp_path, attack):
    checked = examples.check(_project(tmp_path / "p", ATTACKS[attack]), CHECKS)
    assert checked is not None and passed(checked) == 0 and not checked.ok, checked.output
    assert "ok   add" not in checked.output
    got = screen([ATTACKS[attack], RIGHT], CHECKS)
    assert [s.right for s in got] == [0, 2]


@pytest.mark.parametrize("suite", sorted(GOALS))
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_answer_that_is_an_object_fails_the_judge(tmp_path, attack, suite):
    ok, _, output = judge(_project(tmp_path / "p", ATTACKS[attack]), GOALS[suite])
    assert not ok, output


@pytest.mark.parametrize("suite", sorted(GOALS))
@pytest.mark.parametrize("init", sorted(INIT))
def test_a_project_init_changes_no_verdict(tmp_path, init, suite):
    project = _project(tmp_path / "p", WRONG, INIT[init])
    assert not judge(project, GOALS[suite])[0]
    assert passed(examples.check(project, CHECKS)) == 0


@pytest.mark.parametrize("suite", sorted(GOALS))
def test_a_right_project_passes_every_check(tmp_path, suite):
    project = _project(tmp_path / "p", RIGHT, "x = 1\n")
    ok, _, output = judge(project, GOALS[suite])
    assert ok, output
    checked = examples.check(project, CHECKS)
    assert checked.ok and passed(checked) == 2, checked.output
    assert "ok   add(2, 3) == 5" in checked.output
    assert [s.right for s in screen([RIGHT], CHECKS)] == [2]


def test_the_judge_keeps_a_projects_class_exceptions_and_subclasses_of_builtins(tmp_path):
    main = (
        "from collections import Counter, namedtuple\n\nP = namedtuple('P', 'x y')\n\n\n"
        "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
        "    def push(self, x):\n        self.items.append(x)\n\n"
        "    def pop(self):\n        if not self.items:\n            raise IndexError('empty')\n"
        "        return self.items.pop()\n\n    def __len__(self):\n"
        "        return len(self.items)\n\n\ndef count(text):\n    return Counter(text.split())\n"
    )
    test = (
        "import pytest\nfrom main import *\n\n\ndef test_all():\n    s = Stack()\n"
        "    s.push(P(1, 2))\n    assert len(s) == 1 and s.pop() == (1, 2)\n"
        "    with pytest.raises(IndexError):\n        s.pop()\n"
        "    assert count('a b a') == {'a': 2, 'b': 1}\n    assert s != 0 and str(s)\n"
    )
    goal = Goal("stack", "a stack", {"test_stack.py": test.encode()})
    ok, _, output = judge(_project(tmp_path / "p", main), goal)
    assert ok, output


TIMES = "def add(a, b):\n    return a * b\n"
# A right candidate that needs its own folder writable.
WRITES = "def add(a, b):\n    open('scratch.txt', 'w').write(str(a + b))\n    return a + b\n"
RIVALS = {
    "kills_the_screen": "import os, signal\n\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "read_only_rivals": (
        "import os\n\nhere = os.getcwd()\nup = os.path.dirname(here)\n"
        "for name in os.listdir(up):\n    path = os.path.join(up, name)\n"
        "    if path != here and os.path.isdir(path):\n"
        "        if os.path.isfile(os.path.join(path, 'main.py')):\n"
        "            with open(os.path.join(path, 'main.py'), 'w') as fh:\n"
        "                fh.write('def add(a, b):\\n    return 0\\n')\n"
        "        os.chmod(path, 0o500)\nos.chmod(up, 0o500)\n"
    ),
    "setsid_spinner": (
        "import os, signal\n\nif os.fork() == 0:\n    os.setsid()\n    me = os.getpid()\n"
        "    while True:\n        for name in os.listdir('/proc'):\n"
        "            if name.isdigit() and int(name) > me:\n"
        "                try:\n                    os.kill(int(name), signal.SIGKILL)\n"
        "                except OSError:\n                    pass\n"
    ),
}


@pytest.mark.parametrize("attack", sorted(RIVALS))
def test_a_candidate_cannot_change_its_rivals_screen(attack):
    hostile = RIVALS[attack] + "\n\n" + TIMES
    got = screen([WRITES, hostile, WRITES, RIGHT], CHECKS)
    assert [s.right for s in got] == [2, 0, 2, 2]
