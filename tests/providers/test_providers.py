"""Profiles, the response cache, keys, retries and context trimming (no model needed)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from autocoder.actions import Finish
from autocoder.cli import app
from autocoder.exceptions import AutocoderError, ModelFailed
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers import ScriptedProvider, Settings, find_profile, resolve
from autocoder.providers.base import trim
from autocoder.providers.cache import CachedProvider, cache_dir, open_cache
from autocoder.providers.modes import SCRIPTED
from autocoder.providers.profiles import profiles
from autocoder.state import Decision, Usage

from ..conftest import CREATE, FINISH, GOOD_MAIN, GOOD_TEST

CANARY = "sk-canary-7f3a9c2e51d84b06a1"
MSGS = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]


class Counting:
    """A provider that answers every call and counts them (the loop's view of a model)."""

    name, tool_mode, identity = "counting", "scripted", {"kind": "counting"}
    codec = SCRIPTED
    secrets: tuple[str, ...] = ()

    def __init__(self, decision: Decision) -> None:
        self.decision, self.calls = decision, 0

    def complete(self, messages, actions, settings):
        self.calls += 1
        return self.decision


# ---- profiles ------------------------------------------------------------------------------------
def test_built_in_profiles_load_and_a_user_file_overrides_one(tmp_path, monkeypatch):
    assert {"smollm2", "gpt-4o-mini", "llama-server"} <= set(profiles())
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "autocoder" / "providers"
    folder.mkdir(parents=True)
    (folder / "smollm2.toml").write_text('kind = "llama_cpp"\ngguf = "embedded"\ncontext = 2048\n')
    (folder / "mine.toml").write_text(
        'kind = "litellm"\nmodel = "openai/local"\napi_base = "http://127.0.0.1:9/v1"\n'
    )
    found = profiles()
    assert found["smollm2"].context == 2048 and found["smollm2"].source.endswith("smollm2.toml")
    assert found["mine"].api_base == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    "text, says",
    [
        ("kind = ", "not valid TOML"),
        ('kind = "litellm"\n', "needs model"),
        ('kind = "llama_cpp"\ngguf = "x.gguf"\ntool_mode = "native"\n', "grammar"),
        ('kind = "litellm"\nmodel = "a/b"\ncolour = 1\n', "colour"),
    ],
)
def test_a_bad_profile_is_one_clear_line(text, says):
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "autocoder" / "providers"
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text(text)
    with pytest.raises(AutocoderError, match=says) as err:
        profiles()
    assert "bad.toml" in str(err.value) and "\n" not in str(err.value)


def test_model_strings_resolve_to_profiles():
    assert find_profile("openai/gpt-4o").kind == "litellm"
    assert find_profile("~/models/x.gguf").kind == "llama_cpp"
    assert (
        find_profile("openai/any", api_base="http://127.0.0.1:8080/v1").api_base
        == "http://127.0.0.1:8080/v1"
    )
    with pytest.raises(AutocoderError, match=r"unknown model 'gpt5'.*smollm2"):
        find_profile("gpt5")
    with pytest.raises(AutocoderError, match="--api-base is for served models"):
        find_profile("smollm2", api_base="http://127.0.0.1:1/v1")
    with pytest.raises(AutocoderError, match="tool-mode grammar"):
        resolve("smollm2", tool_mode="native")
    with pytest.raises(AutocoderError, match="grammar is for in-process GGUF models"):
        resolve("openai/local", api_base="http://127.0.0.1:9/v1", tool_mode="grammar")


# ---- keys ----------------------------------------------------------------------------------------
def test_a_missing_key_names_the_variable_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        AutocoderError, match="no API key for openai/gpt-4o-mini: set OPENAI_API_KEY"
    ):
        resolve("gpt-4o-mini")
    result = CliRunner().invoke(
        app, ["run", "x", "-d", str(tmp_path / "p"), "--model", "openai/gpt-4o-mini"]
    )
    assert (
        result.exit_code == 2
        and "OPENAI_API_KEY" in result.output
        and "Traceback" not in result.output
    )
    assert not (tmp_path / "p").exists()


def test_the_key_comes_from_env_dotenv_or_flag_and_stays_out_of_identity(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={CANARY}\n")
    # capability from litellm's data: no call
    provider = resolve("openai/gpt-4o-mini", tool_mode="native")
    assert provider.tool_mode == "native"
    assert CANARY not in json.dumps(provider.identity) and CANARY not in provider.name
    # read for the call, not put where children inherit it
    assert "OPENAI_API_KEY" not in os.environ
    flagged = resolve("openai/gpt-4o-mini", api_key=CANARY + "x")
    assert flagged.tool_mode == "native" and CANARY not in json.dumps(flagged.identity)


# ---- cache ---------------------------------------------------------------------------------------
def test_an_identical_request_is_answered_from_disk(tmp_path):
    inner = Counting(
        Decision(thought="t", action="finish", args={"reason": "r"}, usage=Usage(10, 5))
    )
    cached = CachedProvider(inner, open_cache(tmp_path / "c"))
    first = cached.complete(MSGS, [Finish], Settings())
    again = cached.complete(MSGS, [Finish], Settings())
    assert inner.calls == 1 and first.cached == 0 and again.cached == 1
    assert (again.action, again.args, again.usage) == (first.action, first.args, first.usage)
    cached.complete(MSGS, [Finish], Settings(seed=1))  # other sampling settings: another request
    cached.complete([*MSGS[:1], {"role": "user", "content": "v"}], [Finish], Settings())
    assert inner.calls == 3
    assert oct(os.stat(tmp_path / "c").st_mode & 0o777) == "0o700"


def test_a_reply_cut_at_the_time_limit_is_not_kept_and_until_is_no_part_of_the_key(tmp_path):
    """A reply the run's time limit cut (late) is not what the same request gives with time: the
    cache does not keep it. When the call must end is no part of what is asked."""
    store = open_cache(tmp_path / "c")
    late = Counting(Decision(raw="def f(", cut=True, late=True))
    for _ in range(2):
        CachedProvider(late, store).complete(MSGS, [Finish], Settings(until=5.0))
    assert late.calls == 2 and not list(store.iterkeys())
    whole = Counting(Decision(action="finish", args={"reason": "r"}))
    CachedProvider(whole, store).complete(MSGS, [Finish], Settings(until=5.0))
    again = CachedProvider(whole, store).complete(MSGS, [Finish], Settings(until=9.0))
    assert whole.calls == 1 and again.cached == 1
    assert Settings(until=5.0).key() == Settings().key()


def test_a_failed_call_stores_nothing_and_a_corrupt_entry_is_a_miss(tmp_path):
    store = open_cache(tmp_path / "c")

    class Failing(Counting):
        def complete(self, messages, actions, settings):
            self.calls += 1
            raise ModelFailed("connection dropped")

    failing = Failing(Decision())
    for _ in range(2):
        with pytest.raises(ModelFailed):
            CachedProvider(failing, store).complete(MSGS, [Finish], Settings())
    assert failing.calls == 2 and not list(store.iterkeys())
    # same ask, same cut
    cut = Counting(Decision(raw="def f(", error="cut at 1024 tokens", cut=True))
    assert CachedProvider(cut, store).complete(MSGS, [Finish], Settings()).cut
    assert (
        CachedProvider(cut, store).complete(MSGS, [Finish], Settings()).cached == 1
        and cut.calls == 1
    )
    store.clear()
    good = Counting(Decision(action="finish", args={"reason": "r"}))
    provider = CachedProvider(good, store)
    provider.complete(MSGS, [Finish], Settings())
    key = next(k for k in store.iterkeys() if k.startswith("reply:"))
    store.set(key, ["not", "a", "decision"])
    assert provider.complete(MSGS, [Finish], Settings()).cached == 0 and good.calls == 2


def test_cache_values_are_json_and_hold_no_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    provider = resolve("openai/gpt-4o-mini", tool_mode="native", store=open_cache())
    inner = Counting(Decision(action="finish", args={"reason": "r"}))
    CachedProvider(inner, provider.store).complete(MSGS, [Finish], Settings())  # type: ignore[attr-defined]
    provider.store.close()  # type: ignore[attr-defined]
    db = sqlite3.connect(cache_dir() / "cache.db")
    rows = db.execute("SELECT key, value FROM Cache").fetchall()
    assert rows
    for key, value in rows:
        for stored in (key, value):
            text = zlib.decompress(stored).decode() if isinstance(stored, bytes) else str(stored)
            json.loads(text)  # JSON, never a pickle
            assert CANARY not in text
    for path in cache_dir().rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes()


def test_a_cached_rerun_reports_every_call_as_a_hit(tmp_path):
    store = open_cache(tmp_path / "c")
    runs = []
    for attempt in range(2):
        # the rerun gets no replies
        script = ScriptedProvider([CREATE, FINISH] if attempt == 0 else [])
        agent = Agent(
            CachedProvider(script, store),
            Workspace(tmp_path / f"p{attempt}"),
            "fib",
            AgentConfig(max_steps=5),
        )
        runs.append(agent.run())
    first, rerun = runs
    assert first.status == rerun.status == "done" and first.cache_hits == 0
    assert rerun.cache_hits == rerun.model_calls == first.model_calls == 2
    assert rerun.tool_mode == "scripted"


def test_cache_commands(tmp_path):
    store = open_cache()
    CachedProvider(Counting(Decision(action="finish", args={"reason": "r"})), store).complete(
        MSGS, [Finish], Settings()
    )
    runner = CliRunner()
    stats = runner.invoke(app, ["cache", "stats"])
    assert stats.exit_code == 0 and "1 replies" in stats.output
    assert runner.invoke(app, ["cache", "clear"]).exit_code == 0
    assert "0 replies" in runner.invoke(app, ["cache", "stats"]).output


# ---- faults and context --------------------------------------------------------------------------
def _fault(kind: str, status: int, headers: dict[str, str] | None = None) -> Exception:
    from autocoder.providers.remote import litellm

    response = httpx.Response(
        status, headers=headers or {}, request=httpx.Request("POST", "http://127.0.0.1/v1")
    )
    return getattr(litellm(), kind)(
        message="boom", llm_provider="openai", model="m", response=response
    )


def test_transient_faults_retry_with_backoff_and_retry_after():
    from autocoder.providers.faults import MAX_ATTEMPTS, with_retries

    faults = [_fault("RateLimitError", 429, {"retry-after": "7"}), _fault("RateLimitError", 429)]
    waits: list[float] = []

    def call():
        if faults:
            raise faults.pop(0)
        return "ok"

    assert with_retries(call, sleep=waits.append) == "ok"
    assert waits[0] == 7 and 0 < waits[1] <= 30
    always = [_fault("RateLimitError", 429)] * 10
    with pytest.raises(Exception, match="boom"):
        with_retries(lambda: (_ for _ in ()).throw(always.pop()), sleep=waits.append)
    assert len(always) == 10 - MAX_ATTEMPTS


def test_auth_errors_do_not_retry_and_say_what_to_set():
    from autocoder.providers.faults import explain, with_retries

    waits: list[float] = []
    with pytest.raises(Exception, match="boom"):
        with_retries(
            lambda: (_ for _ in ()).throw(_fault("AuthenticationError", 401)), sleep=waits.append
        )
    assert waits == []
    message = str(
        explain(_fault("AuthenticationError", 401), find_profile("gpt-4o-mini"), ["OPENAI_API_KEY"])
    )
    assert "rejected" in message and "OPENAI_API_KEY" in message


def test_an_overflowing_prompt_is_trimmed_oldest_first():
    msgs = [{"role": "system", "content": "s"}] + [
        {"role": "user", "content": f"m{i}"} for i in range(5)
    ]
    count = len  # one "token" per message
    kept = trim(msgs, count, 3)
    assert [m["content"] for m in kept] == ["s", "m3", "m4"]
    with pytest.raises(ModelFailed, match="does not fit"):
        trim(msgs, count, 1)


def test_models_lists_profiles_and_whether_each_is_usable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    assert rows["smollm2"]["usable"] == "yes" and rows["smollm2"]["tool_mode"] == "grammar"
    assert rows["gpt-4o-mini"]["usable"].startswith("no: set OPENAI_API_KEY")
    assert rows["gpt-4o-mini"]["tool_mode"] == "native"  # litellm's capability data


def test_an_endpoint_that_is_down_at_start_is_one_line_and_exit_2(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        "run",
        "x",
        "-d",
        str(tmp_path / "p"),
        "--model",
        "openai/any",
        "--api-base",
        f"http://127.0.0.1:{port}/v1",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and f"cannot reach http://127.0.0.1:{port}/v1" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "p").exists()


def test_a_known_models_context_window_comes_from_litellm(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    assert resolve("openai/gpt-4o-mini").context == 128000
    local = resolve("openai/local", api_base="http://127.0.0.1:9/v1", tool_mode="instructor")
    # the server knows its own; an overflow comes back as one clear line
    assert local.context is None


def test_a_stop_text_is_part_of_a_requests_key_and_no_stop_leaves_old_keys_alone():
    from autocoder.providers.cache import request_key

    ask = [{"role": "user", "content": "hi"}]
    assert Settings().key() == {"temperature": 0.0, "max_tokens": 1024, "seed": 0, "prefix": ""}
    assert request_key({}, ask, [], Settings()) != request_key(
        {}, ask, [], Settings(stop=("\n```\n",))
    )


def test_a_fifth_tool_mode_is_one_codec_and_a_run_goes_through_it(tmp_path, monkeypatch):
    """Adding a mode touches modes.MODES only: the run, the prompt, resolve and the config take
    it from there (no other module names it)."""
    import dataclasses

    import litellm as lib

    from autocoder.loop.config import RunConfig
    from autocoder.providers import modes

    @dataclasses.dataclass(frozen=True)
    class Shout(modes.Codec):
        """The action as a JSON object in the reply's text."""

        def request(self, actions):
            return {"response_format": {"type": "json_object"}}

        def decision(self, response, actions, max_tokens):
            data = json.loads(modes.text_of(response))
            return Decision(action=data["action"], args=data["args"], raw=modes.text_of(response))

    shout = Shout("shout", frozenset({"litellm"}), "SHOUT ONE JSON OBJECT.", False, False)
    monkeypatch.setitem(modes.MODES, "shout", shout)
    replies = iter(
        [
            {"action": "create_project", "args": {"main": GOOD_MAIN, "test": GOOD_TEST}},
            {"action": "finish", "args": {"reason": "fib works"}},
        ]
    )
    sent = []

    def completion(**kwargs):
        sent.append(kwargs)
        content = json.dumps(next(replies))
        return lib.ModelResponse(
            choices=[{"message": {"role": "assistant", "content": content}}],
            usage={"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
        )

    monkeypatch.setattr(lib, "completion", completion)
    assert RunConfig(goal="g", tool_mode="shout").tool_mode == "shout"
    provider = resolve("openai/local", api_base="http://127.0.0.1:9/v1", tool_mode="shout")
    assert provider.codec is shout and provider.identity["tool_mode"] == "shout"
    result = Agent(
        provider, Workspace(tmp_path / "p"), "the first n Fibonacci numbers", AgentConfig(samples=1)
    ).run()
    assert result.status == "done" and result.tool_mode == "shout"
    assert all(k["response_format"] == {"type": "json_object"} for k in sent)
    system = sent[0]["messages"][0]["content"]
    # no examples
    assert system.endswith("SHOUT ONE JSON OBJECT.") and len(sent[0]["messages"]) == 2


def test_a_probe_rejected_with_an_error_status_falls_back_at_once(monkeypatch):
    """llama-cpp-python's chatml-function-calling server answers tool_choice="required" with a
    500: that is the endpoint's "no", so the probe asks by name next, and never retries it."""
    import litellm as lib

    from autocoder.providers.remote import LiteLLMProvider

    asked = []

    def completion(**kwargs):
        asked.append(kwargs["tool_choice"])
        if kwargs["tool_choice"] == "required":
            raise lib.InternalServerError("assert tool_choice == 'auto'", "openai", "local")
        function = {"name": "add_numbers", "arguments": '{"a": 2, "b": 3}'}
        call = {"id": "c", "type": "function", "function": function}
        return lib.ModelResponse(
            choices=[{"message": {"role": "assistant", "content": None, "tool_calls": [call]}}]
        )

    monkeypatch.setattr(lib, "completion", completion)
    provider = LiteLLMProvider(find_profile("openai/local", api_base="http://127.0.0.1:9/v1"))
    assert provider.codec.name == "named" and len(asked) == 2 and asked[0] == "required"
    asked.clear()

    def rejects_all(**kwargs):
        return completion(**{**kwargs, "tool_choice": "required"})

    monkeypatch.setattr(lib, "completion", rejects_all)
    provider = LiteLLMProvider(find_profile("openai/local", api_base="http://127.0.0.1:9/v1"))
    assert provider.codec.name == "instructor" and len(asked) == 2  # rejected twice: no tools


class _Together(ScriptedProvider):
    """Answers several settings in one call, as a local model decodes warm samples together."""

    def __init__(self) -> None:
        super().__init__([])
        self.asked: list[list[int]] = []

    def complete(self, messages, actions, settings):
        return Decision(raw=f"seed {settings.seed}")

    def complete_many(self, asks, actions):
        self.asked.append([s.seed for _, s in asks])
        return [self.complete(messages, actions, s) for messages, s in asks]


def test_the_cache_asks_together_only_what_it_has_not_stored(tmp_path):
    inner = _Together()
    cached = CachedProvider(inner, open_cache(tmp_path / "cache"))
    ask = [{"role": "user", "content": "hi"}]
    warm = [Settings(temperature=0.4, seed=s) for s in (1, 2, 3)]
    first = cached.complete_many([(ask, s) for s in warm[:2]], [])
    again = cached.complete_many([(ask, s) for s in warm], [])
    assert inner.asked == [[1, 2], [3]]  # the stored two are not asked again
    assert [d.raw for d in again] == ["seed 1", "seed 2", "seed 3"]
    assert [d.cached for d in first] == [0, 0] and [d.cached for d in again] == [1, 1, 0]
    assert cached.complete(ask, [], warm[2]).cached == 1  # each stored under its own key


class _Endpoint(BaseHTTPRequestHandler):
    """A loopback endpoint that never answers in time: it holds each request until released
    (`stall`), or answers 503 at once (a fault retried with backoff)."""

    released = threading.Event()
    stall = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.stall:
            self.released.wait(30)
            return
        self.send_response(503)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("stall", [True, False], ids=["stalling", "failing"])
def test_a_remote_call_ends_at_the_runs_time_limit(stall):
    """A remote model that does not answer, or fails and would be retried with backoff, is
    stopped at the run's time limit (Settings.until): the reply comes back stopped there, as a
    local one does (late, cut; an action reply malformed, saying why, whether asked for by tool
    call or through Instructor), not after the 600 s timeout or the retries."""
    import time

    from autocoder.providers.faults import litellm
    from autocoder.providers.remote import LiteLLMProvider

    litellm()  # imported before the clock starts: seconds on its own
    handler = type("Endpoint", (_Endpoint,), {"stall": stall, "released": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    profile = find_profile("llama-server", api_base=base)
    try:
        for mode, actions in (("native", []), ("native", [Finish]), ("instructor", [Finish])):
            provider = LiteLLMProvider(profile, tool_mode=mode)
            start = time.monotonic()
            reply = provider.complete(MSGS, actions, Settings(max_tokens=8, until=start + 1.0))
            assert time.monotonic() - start < 5.0
            assert reply.late and reply.cut and not reply.action and not reply.raw
            assert ("time limit" in reply.error) == bool(actions)
    finally:
        handler.released.set()
        server.shutdown()
        server.server_close()
