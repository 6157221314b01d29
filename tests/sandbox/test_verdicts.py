"""Verdicts answered by objects: an answer whose `__eq__` always says yes, an int subclass, a
module `__getattr__`, a patched builtin or a project `__init__.py` changes no verdict of the
examples check, the screen or the bench judge; a candidate cannot spoil its rivals' screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocoder import sandbox
from autocoder.bench.goal import Goal
from autocoder.bench.humaneval import TEST as HUMANEVAL
from autocoder.bench.worker import judge
from autocoder.fresh.screen import screen
from autocoder.goal import examples
from autocoder.project import checks
from autocoder.sandbox import SAFE
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
        {"test_add.py": HUMANEVAL.format(given="", entry="add", test=CHECK, slug="add").encode()},
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
    checked = checks.check(_project(tmp_path / "p", ATTACKS[attack]), CHECKS, policy=SAFE)
    assert checked is not None and passed(checked) == 0 and not checked.ok, checked.output
    assert "ok   add" not in checked.output
    got = screen([ATTACKS[attack], RIGHT], CHECKS, policy=SAFE)
    assert [s.right for s in got] == [0, 2]


@pytest.mark.parametrize("suite", sorted(GOALS))
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_answer_that_is_an_object_fails_the_judge(tmp_path, attack, suite):
    ok, _, output = judge(_project(tmp_path / "p", ATTACKS[attack]), GOALS[suite], policy=SAFE)
    assert not ok, output


@pytest.mark.parametrize("suite", sorted(GOALS))
@pytest.mark.parametrize("init", sorted(INIT))
def test_a_project_init_changes_no_verdict(tmp_path, init, suite):
    project = _project(tmp_path / "p", WRONG, INIT[init])
    assert not judge(project, GOALS[suite], policy=SAFE)[0]
    assert passed(checks.check(project, CHECKS, policy=SAFE)) == 0


@pytest.mark.parametrize("suite", sorted(GOALS))
def test_a_right_project_passes_every_check(tmp_path, suite):
    project = _project(tmp_path / "p", RIGHT, "x = 1\n")
    ok, _, output = judge(project, GOALS[suite], policy=SAFE)
    assert ok, output
    checked = checks.check(project, CHECKS, policy=SAFE)
    assert checked.ok and passed(checked) == 2, checked.output
    assert "ok   add(2, 3) == 5" in checked.output
    assert [s.right for s in screen([RIGHT], CHECKS, policy=SAFE)] == [2]


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
    ok, _, output = judge(_project(tmp_path / "p", main), goal, policy=SAFE)
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
    got = screen([WRITES, hostile, WRITES, RIGHT], CHECKS, policy=SAFE)
    assert [s.right for s in got] == [2, 0, 2, 2]


@pytest.mark.parametrize(
    ("got", "want"),
    [
        (1000000.5, 1000000),  # a float within 1e-6 of an expected int is still not that int
        (5e-10, 0),
        (1e20, 100000000000000000001),
        ({True, 2.0}, {1, 2}),  # in a builtin set True, 1 and 1.0 are one member
        ({True: "a", 2.0: "b"}, {1: "a", 2: "b"}),
        ((1, True), (1, 1)),
        (frozenset({(1, True)}), frozenset({(1, 1)})),
    ],
)
def test_plain_data_compares_types_inside_numbers_sets_and_keys(got, want):
    from autocoder.sandbox.plain import same

    assert not same(got, want)
    assert same(want, want) and same(float(4), 4) and same(0.1 + 0.2, 0.3)


def test_main_py_cannot_replace_a_builtin_or_a_helper_of_the_humaneval_check(tmp_path):
    from autocoder.bench.humaneval import goals, problems

    found, problem = goals(), problems()
    for number, hostile in (
        (4, "def abs(x):\n    return 0\n"),
        (32, "def range(*a):\n    return []\n\n\ndef poly(xs, x):\n    return 0.0\n"),
        (38, "def encode_cyclic(s):\n    return s\n"),
    ):
        entry = problem[number]["entry_point"]
        project = tmp_path / str(number)
        project.mkdir()
        (project / "main.py").write_text(hostile + f"\n\ndef {entry}(*a):\n    return 42.0\n")
        assert not judge(project, found[number], policy=SAFE)[0], number
        (project / "main.py").write_text(
            problem[number]["prompt"] + problem[number]["canonical_solution"]
        )
        assert judge(project, found[number], policy=SAFE)[0], number


PLANT = """import os, sys, importlib.util
for name in ("tempfile", "runpy", "json"):
    source = importlib.util.find_spec(name).origin
    target = os.environ["HOME"] + "/pycache" + os.path.dirname(source)
    os.makedirs(target, exist_ok=True)
    st = os.stat(source)
    code = compile("import os; os._exit(0)", source, "exec")
    import marshal
    header = importlib.util.MAGIC_NUMBER + b"\\0" * 4 + int(st.st_mtime).to_bytes(4, "little")
    header += (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    with open(f"{target}/{name}.{sys.implementation.cache_tag}.pyc", "wb") as fh:
        fh.write(header + marshal.dumps(code))


def add(a, b):
    return a * b
"""


def test_bytecode_a_candidate_plants_runs_in_no_check():
    got = screen([PLANT, RIGHT, RIGHT], CHECKS, policy=SAFE)
    assert [s.right for s in got] == [0, 2, 2]


def test_a_nested_report_is_a_failed_check_not_a_traceback(tmp_path):
    (tmp_path / "main.py").write_text(
        "import os\nopen(os.environ['HOME'] + '/report.json', 'w').write('[' * 200000)\n"
        "os._exit(0)\n"
    )
    result = checks.check(tmp_path, CHECKS, policy=SAFE)
    assert result is not None and not result.ok
