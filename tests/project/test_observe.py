import pytest

from autocoder import sandbox
from autocoder.exceptions import AutocoderError
from autocoder.goal.examples import extract
from autocoder.loop.planner import plan
from autocoder.loop.prompt import messages
from autocoder.project.observe import observe, unnamed, validate
from autocoder.project.workspace import Workspace
from autocoder.sandbox import SAFE
from autocoder.state import Observation

from ..conftest import GOOD_MAIN, GOOD_TEST


@pytest.mark.parametrize(
    "code, problem",
    [
        ("", "empty"),
        ("def main():\n    pass  # TODO\n", "TODO"),
        ("def f():\n    ...\n", "placeholder"),
        ("print('hi')\n", "code must live in functions"),
        ("def f(:\n", "SyntaxError"),
    ],
)
def test_validation_catches_the_seed_problems(code, problem):
    assert problem in validate("util.py", code)


def test_main_needs_main_function_and_guard():
    assert "main() function" in validate("main.py", "def go():\n    return 1\n")
    assert "__main__" in validate("main.py", "def main():\n    return 1\n")
    assert validate("main.py", GOOD_MAIN) == ""


def test_main_py_must_define_every_function_the_goal_names():
    fib = frozenset({"fib"})
    assert unnamed(GOOD_MAIN, fib) == ""
    squares = GOOD_MAIN.replace("fib", "squares")
    assert unnamed(squares, fib) == (
        "main.py does not define fib(), which the goal names: write it in main.py"
    )
    assert "fib(), stack(), which" in unnamed(squares, frozenset({"stack", "fib"}))
    # one of two is not enough: a cipher's encrypt without its decrypt was judged done
    assert unnamed(squares, frozenset({"fib", "squares"})).startswith(
        "main.py does not define fib()"
    )
    assert unnamed("import util\n", frozenset({"fib", "squares"}), (squares,)).startswith(
        "main.py does not define fib()"
    )
    assert unnamed(squares, frozenset({"fib", "squares"}), (GOOD_MAIN,)) == ""  # across files
    method = "class Stack:\n    def push(self, x):\n        self.x = x\n"
    assert unnamed(method, frozenset({"push"})) == ""  # a class's method counts
    assert unnamed("from util import fib\n", fib) == ""  # and so does an import
    assert unnamed("def fib(n:\n", fib) == ""  # broken, but its lines still define fib
    assert unnamed("def fob(n:\n", fib).startswith("main.py does not define fib()")
    assert unnamed(squares, frozenset({"print"})) == ""  # builtins are never asked for
    assert unnamed("fib: object = lambda n: n\n", fib) == ""  # any binding of the name
    assert unnamed("from util import *\n", fib) == ""  # which may define it
    assert unnamed("import util\n", fib, ("def fib(n):\n    return n\n",)) == ""  # another file
    assert unnamed("import util\n", fib, ("def fob(n):\n    return n\n",)) != ""
    assert unnamed(squares, frozenset()) == ""


def test_the_observation_says_when_main_py_lost_the_goals_function(tmp_path):
    ws = _project(
        tmp_path, GOOD_MAIN.replace("fib", "squares"), GOOD_TEST.replace("fib", "squares")
    )
    obs = observe(ws, policy=SAFE, names=frozenset({"fib"}))
    assert obs.tests.ok and obs.main.ok
    main = next(f for f in obs.python if f.path == "main.py")
    assert main.error.startswith("main.py does not define fib()")
    assert not next(f for f in observe(ws, policy=SAFE).python if f.path == "main.py").error


def test_constants_imports_and_docstrings_are_fine_at_top_level():
    assert (
        validate("util.py", '"""Doc."""\nimport os\nLIMIT = 3\n\n\ndef f():\n    return LIMIT\n')
        == ""
    )


def _project(tmp_path, main, test=GOOD_TEST):
    ws = Workspace(tmp_path)
    (tmp_path / "main.py").write_text(main)
    if test is not None:
        (tmp_path / "main_test.py").write_text(test)
    return ws


def test_a_good_project_is_green(tmp_path):
    obs = observe(_project(tmp_path, GOOD_MAIN), policy=SAFE)
    assert obs.green, obs
    assert "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]" in obs.main.output


MAX_TOOL = (
    "import sys\n\n\ndef main():\n    args = sys.argv[1:]\n    if not args:\n"
    "        sys.exit('usage: python main.py N...')\n    print(max(map(int, args)))\n\n\n"
    'if __name__ == "__main__":\n    main()\n'
)
MAX_TEST = (
    "import subprocess\nimport sys\n\n\ndef test_max():\n"
    "    run = subprocess.run([sys.executable, 'main.py', '3', '9'], capture_output=True,"
    " text=True)\n    assert run.stdout.strip() == '9'\n"
)


def test_a_command_line_tool_is_run_as_the_goal_runs_it(tmp_path):
    """A right tool that stops with its usage when given no arguments runs: the goal runs it
    with arguments, and so does the check that main.py runs."""
    goal = extract("`python main.py 3 9 2` prints 9 and `python main.py 5` prints 5.")
    ws = _project(tmp_path, MAX_TOOL, MAX_TEST)
    obs = observe(ws, goal, policy=SAFE)
    assert obs.main_args == ("3", "9", "2") and obs.command() == "python main.py 3 9 2"
    assert obs.main.ok and obs.main.output.strip() == "9"
    assert obs.green, obs
    assert Observation.from_json(obs.to_json()) == obs
    assert obs.summary()["main_args"] == ["3", "9", "2"]
    bare = observe(ws, policy=SAFE)  # a goal without command lines runs it bare
    assert bare.main_args == () and not bare.main.ok and "usage" in bare.main.output
    # a tool that fails with the goal's arguments is asked to be fixed, with those arguments said
    (tmp_path / "main.py").write_text(MAX_TOOL.replace("max(", "maxx("))
    broken = observe(ws, goal, policy=SAFE)
    assert not broken.main.ok and "NameError" in broken.main.output
    assert plan(broken).task.startswith("Running `python main.py 3 9 2` failed")
    asked = messages("goal", broken, plan(broken), [])[-1]["content"]
    assert "- python main.py 3 9 2: FAILED" in asked


def test_failing_test_and_undefined_name_are_reported(tmp_path):
    main = GOOD_MAIN.replace("return out[:n]", "return outt[:n]")
    obs = observe(_project(tmp_path, main), policy=SAFE)
    assert not obs.green
    assert "outt" in obs.python[0].error
    assert not obs.tests.ok and "NameError" in obs.tests.output
    assert not obs.main.ok


def test_a_hanging_main_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr("autocoder.project.observe.MAIN_TIMEOUT", 1.0)
    hang = (
        "def main():\n    while True:\n        x = 1\n\n\nif __name__ == '__main__':\n    main()\n"
    )
    obs = observe(_project(tmp_path, hang, test=None), policy=SAFE)
    assert obs.main.timed_out and not obs.main.ok
    assert obs.tests is None


def test_every_run_of_an_observation_takes_the_policy_given(tmp_path, monkeypatch):
    from autocoder.goal import examples

    taken = []
    for name in ("python", "tool"):
        real = getattr(sandbox, name)

        def spy(*args, real=real, policy, **kwargs):
            taken.append(policy)
            return real(*args, policy=policy, **kwargs)

        monkeypatch.setattr(sandbox, name, spy)
    policy = sandbox.Sandbox(unsafe=True)  # not the default: the best backend, else unconfined
    obs = observe(
        _project(tmp_path, GOOD_MAIN), examples.extract("fib(3) == [0, 1, 1]"), policy=policy
    )
    assert obs.green and obs.examples is not None
    assert taken == [policy] * 3  # the tests, main.py, the examples
    with pytest.raises(AutocoderError, match="--unsafe"):  # no backend, and not unsafe: no run
        observe(_project(tmp_path, GOOD_MAIN), policy=sandbox.Sandbox(backend=""))


def test_a_test_file_needs_test_functions():
    assert "no test functions" in validate("main_test.py", "from main import fib\n")
    assert validate("main_test.py", GOOD_TEST) == ""


def test_main_guard_is_added_only_when_missing():
    from autocoder.project.lint import add_main_guard

    bare = "def main():\n    print(1)\n"
    assert validate("main.py", add_main_guard(bare)) == ""
    assert add_main_guard(GOOD_MAIN) == GOOD_MAIN
    # already called
    assert add_main_guard("def main():\n    print(1)\n\n\nmain()\n").count("main()") == 2
    assert add_main_guard("def go():\n    return 1\n") == "def go():\n    return 1\n"


def test_a_test_that_asserts_nothing_is_a_placeholder():
    hollow = "from main import add\n\n\ndef test_add():\n    add(1, 2)\n"
    assert "test_add checks nothing" in validate("main_test.py", hollow)
    raises = (
        "import pytest\nfrom main import add\n\n\ndef test_add():\n"
        "    with pytest.raises(TypeError):\n        add(1)\n"
    )
    assert validate("main_test.py", raises) == ""


def test_an_identical_project_is_observed_once_unless_its_programs_write_files(
    tmp_path, monkeypatch
):
    import autocoder.project.observe as observe_module
    from autocoder.providers.cache import open_cache

    real, runs = observe_module.observe, []

    def counted(ws, ex=(), *, policy, names=frozenset()):
        runs.append(ws.root)
        return real(ws, ex, policy=policy, names=names)

    monkeypatch.setattr(observe_module, "observe", counted)
    store = open_cache(tmp_path / "cache")
    for n in range(2):  # the same bytes in another folder: one real observation
        ws = Workspace(tmp_path / f"p{n}")
        ws.write("main.py", GOOD_MAIN, fmt=False)
        ws.write("main_test.py", GOOD_TEST, fmt=False)
        obs = observe_module.observe_cached(ws, store, policy=SAFE)
        assert obs.green
    assert len(runs) == 1
    ws.write("main.py", GOOD_MAIN.replace("fib(10)", "fib(11)"), fmt=False)
    observe_module.observe_cached(ws, store, policy=SAFE)
    assert len(runs) == 2
    writer = GOOD_MAIN.replace("print(fib(10))", "open('out.txt', 'w').write(str(fib(10)))")
    for n in range(2):  # its output file is the point: it runs every time
        ws = Workspace(tmp_path / f"w{n}")
        ws.write("main.py", writer, fmt=False)
        observe_module.observe_cached(ws, store, policy=SAFE)
        assert (tmp_path / f"w{n}" / "out.txt").read_text() == "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]"
    assert len(runs) == 4
