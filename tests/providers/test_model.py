"""The real embedded model (SmolLM2-135M, in process): replies parse, a short run is coherent."""

import json
import time
from pathlib import Path

import pytest

from autocoder.actions import ACTIONS, CreateProject
from autocoder.fresh import candidates
from autocoder.goal.ending import over
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.loop.planner import plan
from autocoder.loop.prompt import messages
from autocoder.project.observe import observe
from autocoder.project.workspace import Workspace
from autocoder.providers import Settings, resolve
from autocoder.sandbox import SAFE

pytestmark = pytest.mark.model
GOAL = "Create main.py that prints the first 10 Fibonacci numbers"


@pytest.fixture(scope="module")
def model():
    return resolve("smollm2")  # these tests are about the model, not the cache


def test_every_action_grammar_compiles_in_llama_cpp():
    from llama_cpp import LlamaGrammar

    from autocoder.actions.textformat import grammar

    assert LlamaGrammar.from_string(grammar(ACTIONS), verbose=False) is not None


def test_constrained_reply_parses_and_code_arrives_as_code(model, tmp_path):
    ws = Workspace(tmp_path)
    obs = observe(ws, policy=SAFE)
    todo = plan(obs)
    assert todo.actions == [CreateProject]
    d = model.complete(messages(GOAL, obs, todo, []), todo.actions, Settings(max_tokens=600))
    assert d.usage.prompt_tokens > 100 and d.usage.completion_tokens > 0 and d.seconds > 0
    assert d.error == "" and d.action == "create_project", d.raw
    assert d.raw.startswith("Thought: ") and "```python\n" in d.raw
    assert "&gt;" not in d.raw and "&#34;" not in d.raw
    assert set(d.args) == {"main", "test"}
    for path, code in d.args.items():  # code, not prose or escaped text: each file compiles
        compile(code, f"{path}.py", "exec")
    assert d.args["main"].startswith("def fibonacci(n):")
    assert d.args["test"].startswith("from main import")


def test_a_short_real_run_is_coherent(model, tmp_path):
    result = Agent(
        model,
        Workspace(tmp_path),
        GOAL,
        AgentConfig(max_steps=3, settings=Settings(max_tokens=500)),
    ).run()
    lines = [json.loads(x) for x in Path(result.trajectory).read_text("utf-8").splitlines()]
    steps = [x for x in lines if x["type"] == "step"]
    assert lines[0]["type"] == "run" and lines[-1]["type"] == "result"
    # at temperature 0: it creates the project, its test calls a name it never imported, and
    # both fixes rewrite main_test.py until the steps run out; each is applied (what the last
    # rewrite holds differs between builds of llama.cpp, so it is not pinned)
    assert (result.status, result.steps, result.model_calls) == ("max_steps", 3, 3)
    assert [s["phase"] for s in steps] == ["create", "fix_file", "fix_file"]
    assert [s["decision"]["action"] for s in steps] == ["create_project", *["write_file"] * 2]
    assert all(s["decision"]["raw"] and s["result"]["ok"] for s in steps)
    assert result.prompt_tokens == sum(s["decision"]["usage"]["prompt_tokens"] for s in steps) > 0
    assert 0 < result.model_s <= result.wall_s
    # the result says what the project on disk is: main.py runs, not yet done
    final = observe(Workspace(tmp_path), policy=SAFE)
    assert sorted(final.files) == ["main.py", "main_test.py"]
    assert final.main.ok and not final.green
    assert result.kept == final.verdict() and result.kept.startswith("main.py runs")


def test_repetition_guard_stops_loops_not_code():
    from autocoder.providers.llama_cpp import RepetitionGuard

    prompt = list(range(1000, 1100))
    loop = RepetitionGuard()
    assert loop(prompt, None) is False
    assert loop(prompt + [5, 6, 7] * 25, None) is True and loop.tripped
    varied = RepetitionGuard()
    varied(prompt, None)
    assert varied(prompt + list(range(200)), None) is False


def test_code_reaches_the_model_unescaped(model):
    code = 'def f(x) -> str:\n    return "<a & b>"\n'
    tokens = model.prompt_tokens([{"role": "user", "content": code}])
    text = model.llm.detokenize(tokens, special=True).decode()
    assert code in text and "&gt;" not in text and "&#34;" not in text and "&amp;" not in text


def test_the_kv_cache_is_reused_across_calls_with_a_shared_prefix(model):
    """The stable prefix (system + examples) is evaluated once; the next step evaluates its tail."""
    from autocoder.actions import Finish
    from autocoder.loop.prompt import examples

    head = [{"role": "system", "content": "You write Python."}, *examples()]
    settings = Settings(max_tokens=24)
    model.complete(
        [*head, {"role": "user", "content": "Goal: add two numbers. Finish."}], [Finish], settings
    )
    second = model.complete(
        [*head, {"role": "user", "content": "Goal: print hello. Finish."}], [Finish], settings
    )
    assert 0 < second.usage.evaluated_tokens < second.usage.prompt_tokens / 4
    assert (
        model.identity["sha256"]
        and len(model.identity["sha256"]) == 64
        and "path" not in model.identity
    )


def test_a_plain_turn_leaves_the_action_prompt_in_the_context(model):
    """A fresh start's greedy candidate (a plain turn) between two judging steps does not make
    the second evaluate their shared beginning again."""
    from autocoder.actions import Finish
    from autocoder.loop.prompt import examples

    head = [{"role": "system", "content": "You write Python."}, *examples()]
    settings = Settings(max_tokens=16)
    model.complete([*head, {"role": "user", "content": "Goal: add. Finish."}], [Finish], settings)
    plain = [{"role": "user", "content": "Write sub(a, b). Reply in a ```python block."}]
    between = model.complete(plain, [], settings)
    assert between.raw and between.usage.evaluated_tokens > 10  # it ran, on its own prompt
    second = model.complete(
        [*head, {"role": "user", "content": "Goal: print hello. Finish."}], [Finish], settings
    )
    assert 0 < second.usage.evaluated_tokens < second.usage.prompt_tokens / 4
    again = model.complete(plain, [], settings)
    assert again.raw == between.raw  # the plain turn's reply is its own, whatever was put back


def test_a_worker_of_one_thread_evaluates_its_prompts_on_one_thread(model):
    """Bench workers share the cores: llama-cpp-python evaluates prompts on every core unless told,
    so two one-thread workers ran four spinning threads on two cores."""
    from autocoder.providers.llama_cpp import LlamaCppProvider

    one = LlamaCppProvider(model.path, n_ctx=512, threads=1)
    params = one.llm.context_params
    assert (params.n_threads, params.n_threads_batch) == (1, 1)
    decision = one.complete([{"role": "user", "content": "Say hi."}], [], Settings(max_tokens=4))
    assert decision.usage.completion_tokens > 0


SKELETON_GOAL = '''Write main.py with this Python function:

```python
from typing import List


def total(numbers: List[int]) -> int:
    """Return the sum of the numbers.
    >>> total([1, 2, 3])
    6
    """
```
'''


def test_a_goals_skeleton_is_continued_with_a_body_not_copied(model, tmp_path):
    """The create reply begins with the goal's code; the model writes the indented body after it."""
    from autocoder.actions.textformat import parse
    from autocoder.goal.code import skeleton

    ws = Workspace(tmp_path)
    obs = observe(ws, policy=SAFE)
    todo = plan(obs)
    agent = Agent(model, ws, SKELETON_GOAL)
    prefix = agent._prefix(todo)
    assert prefix.endswith(skeleton(SKELETON_GOAL)) and prefix.endswith('"""\n    ')
    d = model.complete(
        messages(SKELETON_GOAL, obs, todo, []),
        todo.actions,
        Settings(max_tokens=300, prefix=prefix),
    )
    assert d.raw.startswith(prefix.rstrip(" ")) and d.error == "", d.raw
    _, _, args = parse(d.raw, todo.actions)
    assert args["main"].startswith(skeleton(SKELETON_GOAL).rstrip("\n"))
    body = args["main"].split('"""', 2)[2]
    assert body.startswith("\n    return sum(numbers)\n")  # a body, not the skeleton again
    assert args["main"].count("def total(") == 1


def test_no_actions_is_a_plain_chat_turn(model):
    d = model.complete(
        [
            {
                "role": "user",
                "content": "Write a Python function add(a, b). Reply in a ```python block.",
            }
        ],
        [],
        Settings(max_tokens=80),
    )
    assert d.raw and not d.action and not d.error and d.usage.completion_tokens > 0
    assert "Thought:" not in d.raw  # no action grammar shaped it


def test_a_plain_turn_ends_at_its_stop_text(model):
    ask = [
        {
            "role": "user",
            "content": (
                "Write a Python function add(a, b). Reply in a ```python block, then explain it."
            ),
        }
    ]
    full = model.complete(ask, [], Settings(max_tokens=200))
    stopped = model.complete(ask, [], Settings(max_tokens=200, stop=candidates.STOP))
    assert "\n```\n" in full.raw  # this build's greedy reply closes its block and goes on
    assert (
        stopped.raw == full.raw.split("\n```\n")[0]
        and stopped.usage.completion_tokens < full.usage.completion_tokens
    )


def test_warm_plain_turns_are_decoded_together_and_each_is_a_real_reply(model):
    """complete_many decodes warm samples in parallel over one evaluation of the prompt: each
    reply is its own (seeded) sample, ends at the stop text, and asking again gives the same."""
    ask = [
        {
            "role": "user",
            "content": "Write a Python function add(a, b). Reply in a ```python block.",
        }
    ]
    warm = [
        Settings(temperature=0.8, seed=s, max_tokens=120, stop=candidates.STOP) for s in (1, 2, 3)
    ]
    greedy = Settings(max_tokens=120, stop=candidates.STOP)
    replies = model.complete_many([(ask, s) for s in (greedy, *warm)], [])
    assert replies[0].raw == model.complete(ask, [], greedy).raw  # temperature 0: one by one
    assert all(d.raw and not d.action and not d.error for d in replies)
    assert all("\n```\n" not in d.raw and 0 < d.usage.completion_tokens <= 120 for d in replies)
    # the prompt is evaluated once for the three warm replies
    assert [d.usage.evaluated_tokens for d in replies[1:]][1:] == [1, 1]
    assert len({d.raw for d in replies[1:]}) > 1  # different seeds, different samples
    again = model.complete_many([(ask, s) for s in warm], [])
    assert [d.raw for d in again] == [d.raw for d in replies[1:]]
    assert any("def add" in d.raw for d in replies)
    # two prompts in one round: each evaluated once, each reply as if asked in a round of its own
    other = [
        {
            "role": "user",
            "content": "Write a Python function mul(a, b). Reply in a ```python block.",
        }
    ]
    mixed = model.complete_many([(ask, warm[0]), (other, warm[1]), (ask, warm[2])], [])
    alone = model.complete_many([(other, warm[1])], [])
    assert [d.raw for d in mixed] == [replies[1].raw, alone[0].raw, replies[3].raw]
    assert [d.usage.evaluated_tokens > 1 for d in mixed] == [True, True, False]


def test_a_reply_completing_a_function_ends_once_the_function_is_written(model):
    """Given the function a reply completes (Settings.function), a local model stops writing
    where goal.ending.over says the reply is over, decoded together or alone: what it wrote is
    what the reply written on is cut to, in fewer tokens where the model would have gone on."""
    ask = [
        {
            "role": "user",
            "content": (
                "Write a Python function add(a, b), then print add(2, 3) and add(4, 5). "
                "Reply in a ```python block."
            ),
        }
    ]
    warm = [
        Settings(temperature=0.8, seed=s, max_tokens=160, stop=candidates.STOP) for s in (1, 2, 3)
    ]
    asks = [Settings(max_tokens=160, stop=candidates.STOP), *warm]
    on = model.complete_many([(ask, s) for s in asks], [])
    ended = [s.model_copy(update={"function": ("add",)}) for s in asks]
    short = model.complete_many([(ask, s) for s in ended], [])
    greedy, *together = zip(on, short, strict=True)
    # alone (llama-cpp-python's own loop), the reply stops just past where it is over
    at = over(greedy[0].raw, "add")
    assert greedy[0].raw.startswith(greedy[1].raw) and len(greedy[1].raw) >= (at or 0)
    for whole, cut in together:  # together, it is cut exactly there
        assert cut.raw == whole.raw[: over(whole.raw, "add")]
    for whole, cut in (greedy, *together):  # the same candidate either way
        assert candidates.code(cut.raw, ("add",)) == candidates.code(whole.raw, ("add",))
    stopped = [w.raw for w, _ in (greedy, *together) if over(w.raw, "add") is not None]
    assert stopped, "the model went on after the function in none of its replies"
    for raw in stopped:  # the function kept, what follows it gone
        code = candidates.code(raw, ("add",))
        assert "def add" in code and "print(" not in code and "print(" in raw
    assert sum(c.usage.completion_tokens for _, c in (greedy, *together)) < sum(
        w.usage.completion_tokens for w, _ in (greedy, *together)
    )


def test_warm_turns_decoded_together_stop_at_until_cut_and_late(model):
    """A round of warm replies stops when the run's time is up (Settings.until), each reply then
    cut and late, rather than running on to its token cap past the run's limit."""
    ask = [{"role": "user", "content": "Write a long Python program. Reply in a ```python block."}]
    warm = [Settings(temperature=0.8, seed=s, max_tokens=400) for s in (1, 2)]
    whole = model.complete_many([(ask, s) for s in warm], [])
    assert not any(d.late for d in whole) and max(d.usage.completion_tokens for d in whole) > 20
    up = [s.model_copy(update={"until": time.monotonic()}) for s in warm]
    stopped = model.complete_many([(ask, s) for s in up], [])
    assert all(d.late and d.cut for d in stopped)
    assert [d.usage.completion_tokens for d in stopped] == [1, 1]  # the first token, then stop
    assert [c.raw for c in stopped] == [
        w.raw[: len(c.raw)] for w, c in zip(whole, stopped, strict=True)
    ]


def test_a_single_reply_stops_at_until_cut_and_late(model):
    """A reply asked alone (the greedy candidate, a judging or repair step) stops at the run's
    time limit too: a plain turn comes back cut and late, an action reply as a malformed one
    that says why; neither runs on to its token cap."""
    ask = [{"role": "user", "content": "Write a long Python program. Reply in a ```python block."}]
    warm = Settings(temperature=0.8, seed=1, max_tokens=200)
    whole = model.complete(ask, [], warm)
    assert not whole.late and whole.usage.completion_tokens > 20
    up = warm.model_copy(update={"until": time.monotonic()})
    stopped = model.complete(ask, [], up)
    assert stopped.late and stopped.cut and stopped.usage.completion_tokens <= 2
    assert whole.raw.startswith(stopped.raw)
    acted = model.complete(ask, [CreateProject], up)
    assert acted.late and acted.cut and "time limit" in acted.error and not acted.action


def test_q4_1_weights_run_as_q8_0_converted_once_into_the_cache_folder(tmp_path, monkeypatch):
    """The embedded model is stored as Q4_1, a type llama.cpp has no fast CPU kernels for: it is
    run as Q8_0, converted once into the cache folder (a second provider finds the file), and its
    replies are the model's; the identity says so, so that cached Q4_1 replies are not reused."""
    from autocoder.providers import gguf
    from autocoder.providers.llama_cpp import LlamaCppProvider

    monkeypatch.setattr(gguf, "_CONVERTED", {})  # as a new process
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(tmp_path / "cache"))
    source = gguf.embedded_model_path()
    first = LlamaCppProvider(source, n_ctx=512)
    assert first.identity["runs_as"] == "q8_0"
    made = first._runnable()
    assert made.parent == tmp_path / "cache" / "models" and made.name.endswith(".q8_0.gguf")
    assert made.read_bytes()[:4] == b"GGUF" and not list(made.parent.glob("*.part"))
    assert gguf.metadata(str(made))["general.file_type"] == str(gguf.RUN_AS)
    stamp = made.stat().st_mtime_ns
    assert LlamaCppProvider(source, n_ctx=512)._runnable() == made  # found, not made again
    assert made.stat().st_mtime_ns == stamp
    reply = first.complete(
        [{"role": "user", "content": "What is 2 + 2? Answer with the number."}],
        [],
        Settings(max_tokens=16),
    )
    assert "4" in reply.raw
    # a model stored as Q8_0 is run as stored
    assert gguf.runs_as(str(made)) == "" and gguf.runnable(made, "x" * 64, tmp_path) == made


def test_a_cache_folder_that_cannot_be_written_leaves_the_model_as_stored(tmp_path, monkeypatch):
    from autocoder.providers import gguf

    monkeypatch.setattr(gguf, "_CONVERTED", {})
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    source = gguf.embedded_model_path()
    assert gguf.runnable(source, "y" * 64, blocked / "models") == source


def test_a_big_model_is_run_as_stored(tmp_path, monkeypatch):
    """A big GGUF's single replies are bound by memory bandwidth: its smaller type is faster,
    and converting it would take minutes and twice the disk."""
    from autocoder.providers import gguf

    source = gguf.embedded_model_path()
    assert gguf.runs_as(str(source)) == "q8_0"
    monkeypatch.setattr(gguf, "SMALL", source.stat().st_size - 1)
    assert gguf.runs_as(str(source)) == ""
    assert gguf.runnable(source, "z" * 64, tmp_path / "models") == source
