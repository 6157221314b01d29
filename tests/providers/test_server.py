"""The litellm path against a real endpoint: llama-cpp-python's own OpenAI-compatible server running
the embedded model on 127.0.0.1, reached exactly as any API-key user's model is, in both of its
usual set-ups: the GGUF's own chat template, and `--chat_format chatml-function-calling` (what its
docs give for tools; it answers tool_choice="required" with HTTP 500).

The HTTP traffic is replayed from cassettes/test_server/ (recording off, network blocked). Re-record
from scratch, which starts the server here and stops it after:
    python -m pytest tests/providers/test_server.py --record-mode=rewrite
"""

from __future__ import annotations

import contextlib
import html
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from autocoder.actions import Finish, WriteFile, narrow, tool_schema
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers import Settings, find_profile, resolve
from autocoder.providers.cache import open_cache
from autocoder.providers.gguf import embedded_model_path
from autocoder.providers.remote import LiteLLMProvider, litellm

from ..conftest import recording

pytestmark = pytest.mark.model

CODE = 'def f(x) -> int:\n    return x["a"] if 1 < x < 3 else 0  # a -> b & <c>\n'
ASK = [
    {"role": "system", "content": "You write Python."},
    {"role": "user", "content": f"main.py:\n```python\n{CODE}```\nAll checks pass. Use finish."},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# llama_cpp.server, with the weights in plain CPU buffers where the CPU advertises AMX (as our
# in-process loader does: a VM that advertises AMX without allowing it kills the server on the
# first long prompt, which reads as a dropped connection).
SERVE = """
import runpy, sys
from autocoder.providers.gguf import _without_extra_buffers
sys.argv[0] = "llama_cpp.server"
with _without_extra_buffers():
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""
FORMATS = {"template": [], "chatml-function-calling": ["--chat_format", "chatml-function-calling"]}


@contextlib.contextmanager
def serving(chat_format: str, folder: Path) -> Iterator[str]:
    """The embedded model behind llama-cpp-python's server on 127.0.0.1, in one chat format;
    yields its base URL and stops it after."""
    port = _free_port()
    cmd = [sys.executable, "-c", SERVE, "--model", str(embedded_model_path())]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    cmd += ["--verbose", "False", *FORMATS[chat_format]]
    log = folder / "server.log"
    with log.open("wb") as stderr:  # the server keeps its own handle on the log
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(proc, base, log, seconds=120)
        yield base
        assert proc.poll() is None, f"the server died: {log.read_text(errors='replace')[-2000:]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module", params=list(FORMATS))
def server(request, tmp_path_factory, pytestconfig):
    """The server in one chat format (the param), for the recorded tests. Replaying, nothing
    listens: the cassettes answer (requests match on method, path and body)."""
    if not recording(pytestconfig):
        yield "http://127.0.0.1:8000/v1"
        return
    with serving(request.param, tmp_path_factory.mktemp("server")) as base:
        yield base


@pytest.fixture(scope="module", params=list(FORMATS))
def live_server(request, tmp_path_factory):
    """The server in one chat format, started for real whatever the record mode: what a
    cassette cannot show (the server parsing our schemas into its grammar, and living on)."""
    with serving(request.param, tmp_path_factory.mktemp("live")) as base:
        yield base


def _wait_until_serving(proc: subprocess.Popen, base: str, log: Path, seconds: float) -> None:
    """Poll the server until it answers, it exits, or the deadline passes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.3)  # between every try, a refused connection or a not-ready answer alike
    pytest.fail(f"llama_cpp.server did not answer within {seconds:.0f} s")


@pytest.mark.vcr
def test_the_probe_finds_that_either_server_honours_only_a_named_tool(server):
    """The template server ignores "required"; chatml-function-calling fails it with a 500: both
    end in the named form at once (a rejection is an answer, never retried)."""
    provider = LiteLLMProvider(find_profile("openai/local", api_base=server))
    assert provider.codec.name == "named"


@pytest.mark.vcr
@pytest.mark.parametrize("mode", ["auto", "native", "named", "instructor"])
def test_every_mode_either_server_serves_completes_a_run(server, mode, tmp_path):
    """`autocoder run --model openai/local --api-base ... --tool-mode MODE` on both servers: the
    run goes its steps and ends on its budget, never on an error."""
    provider = resolve("openai/local", api_base=server, tool_mode=mode)
    result = Agent(
        provider,
        Workspace(tmp_path),
        "a function add(a, b) that returns a + b",
        AgentConfig(max_steps=2, settings=Settings(max_tokens=300)),
    ).run()
    assert result.tool_mode == ("named" if mode in ("auto", "native") else mode)
    assert (result.status, result.steps, result.model_calls) == ("max_steps", 2, 2), result.reason


@pytest.mark.parametrize("mode", ["auto", "named", "instructor"])
def test_a_live_server_completes_a_run_in_every_mode_the_probe_can_choose(
    live_server, mode, tmp_path
):
    """No cassette: the server really parses each request's tool schema into its grammar (a regex
    `pattern` in a schema once made chatml-function-calling's server fail to parse it, then
    crash), answers every step, and is alive after the run. `auto` probes the live server."""
    store = open_cache(tmp_path / "cache")  # a fresh probe, not one remembered from a cassette
    provider = resolve("openai/local", api_base=live_server, tool_mode=mode, store=store)
    result = Agent(
        provider,
        Workspace(tmp_path / "p"),
        "a function add(a, b) that returns a + b",
        AgentConfig(max_steps=2, settings=Settings(max_tokens=200)),
    ).run()
    assert result.tool_mode == ("named" if mode == "auto" else mode)
    assert result.status in ("max_steps", "done"), result.reason
    assert result.model_calls >= 1 and "cannot reach" not in result.reason


# the template server only: chatml-function-calling escapes code as HTML, and the 135M model's
# JSON there can run to the token cap (its runs still complete: see the test above)
@pytest.mark.parametrize("server", ["template"], indirect=True)
@pytest.mark.vcr
@pytest.mark.parametrize("mode", ["native", "instructor"])
@pytest.mark.parametrize("offered", [1, 2])
def test_each_mode_gets_a_valid_action_from_the_real_model(server, mode, offered):
    provider = LiteLLMProvider(find_profile("llama-server", api_base=server), tool_mode=mode)
    actions = [Finish, narrow(WriteFile, ("main.py",))][:offered]
    decision = provider.complete(ASK, actions, Settings(max_tokens=400))
    assert decision.error == "", decision.raw
    assert decision.action in {a.name for a in actions}
    assert set(decision.args) == set(
        next(a for a in actions if a.name == decision.action).model_fields
    )
    assert decision.usage.prompt_tokens > 0 and decision.usage.cost_usd == 0.0  # local: no price


@pytest.mark.parametrize("server", ["template"], indirect=True)
@pytest.mark.vcr
def test_code_reaches_the_server_unescaped(server):
    """The server's prompt token count equals that of our own unescaped rendering of the same
    messages with the GGUF's template, and differs from an HTML-escaped one (the
    chatml-function-calling trap), so a format that escaped `->`, quotes or `&` would fail here."""
    from autocoder.providers.llama_cpp import LlamaCppProvider

    response = litellm().completion(
        model="openai/local",
        api_base=server,
        api_key="none",
        messages=ASK,
        max_tokens=1,
        tools=[tool_schema(Finish)],
        tool_choice={"type": "function", "function": {"name": "finish"}},
    )
    local = LlamaCppProvider(embedded_model_path())
    escaped = [dict(m, content=html.escape(m["content"])) for m in ASK]
    assert response.usage.prompt_tokens == len(local.prompt_tokens(ASK))
    assert len(local.prompt_tokens(escaped)) != len(local.prompt_tokens(ASK))


@pytest.mark.parametrize("server", ["template"], indirect=True)
@pytest.mark.vcr
def test_a_run_through_the_server_then_its_cached_rerun(server, tmp_path):
    runs = []
    for n in range(2):
        store = open_cache()
        provider = resolve("llama-server", api_base=server, tool_mode="native", store=store)
        agent = Agent(
            provider,
            Workspace(tmp_path / f"p{n}"),
            "a function add(a, b) that returns a + b",
            AgentConfig(max_steps=2, settings=Settings(max_tokens=300)),
            store=store,
        )
        runs.append(agent.run())
    first, rerun = runs
    # two steps, two calls, never done: malformed would take three bad replies in a row
    assert (first.tool_mode, first.model_calls, first.status) == ("named", 2, "max_steps")
    assert rerun.cache_hits == rerun.model_calls == first.model_calls
    assert rerun.steps == first.steps
    assert sorted(p.name for p in (tmp_path / "p0").glob("*.py")) == sorted(
        p.name for p in (tmp_path / "p1").glob("*.py")
    )


def test_a_server_that_is_down_is_one_clear_error(tmp_path):
    port = _free_port()
    provider = LiteLLMProvider(
        find_profile("llama-server", api_base=f"http://127.0.0.1:{port}/v1"), tool_mode="native"
    )
    from autocoder.exceptions import ModelFailed

    with pytest.raises(ModelFailed, match=f"cannot reach http://127.0.0.1:{port}/v1"):
        provider.complete(ASK, [Finish], Settings(max_tokens=16))
