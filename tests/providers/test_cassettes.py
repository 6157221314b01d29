"""Cassettes: secrets never written, deterministic matching, the network blocked, bench replays."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
import vcr

from autocoder.actions import Finish
from autocoder.bench.options import BenchOptions
from autocoder.bench.runner import run_suite
from autocoder.bench.suite import load
from autocoder.exceptions import AutocoderError
from autocoder.providers import Settings, cassettes, find_profile
from autocoder.providers.cassettes import CassetteProvider
from autocoder.providers.remote import LiteLLMProvider

from ..fakes import RIGHT, WRONG, Coder, solve, suite_folder

CANARY = "sk-canary-4f9c2a7e1b3d5f60"
ROOT = Path(__file__).resolve().parents[2]


def test_the_network_is_blocked_during_the_suite(pytestconfig):
    assert (
        pytestconfig.getoption("--block-network")
        and pytestconfig.getoption("--record-mode") == "none"
    )
    with pytest.raises(RuntimeError, match="Network is disabled"):
        socket.create_connection(("93.184.216.34", 443), timeout=2)
    with pytest.raises(Exception, match="Network is disabled"):
        httpx.get("https://pypi.org/simple/", timeout=2)


class FakeOpenAI(BaseHTTPRequestHandler):
    """An OpenAI-shaped endpoint that echoes the user's message back (so the canary is in the
    response too) and answers with a finish tool call."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        echo = body["messages"][-1]["content"]
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "finish", "arguments": json.dumps({"reason": "ok"})},
        }
        reply = {
            "id": "chatcmpl-123",
            "object": "chat.completion",
            "created": 1764240000,
            "model": "local",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {"role": "assistant", "content": echo, "tool_calls": [call]},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        self._send(reply)

    def do_GET(self):
        self._send({"data": [], "echo": self.path})

    def _send(self, data):
        raw = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.send_header("set-cookie", f"session={CANARY}")
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = HTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def recorder(mode: str) -> vcr.VCR:
    v = vcr.VCR(record_mode=mode, **cassettes.vcr_config())
    v.register_matcher("canonical_body", cassettes.canonical_body)
    return v


def test_a_recorded_cassette_holds_no_secret_in_any_form_and_still_replays(
    tmp_path, endpoint, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    path = tmp_path / "canary.yaml"
    ask = [{"role": "user", "content": f"my key is {CANARY}; call finish"}]

    def exchange(base: str):
        provider = LiteLLMProvider(
            find_profile("openai/local", api_base=base), api_key=CANARY, tool_mode="native"
        )
        decision = provider.complete(ask, [Finish], Settings(max_tokens=32))
        listing = httpx.get(
            f"{base}/models?key={CANARY}&page=1",
            headers={
                "x-api-key": CANARY,
                "x-goog-api-key": CANARY,
                "authorization": "Basic " + base64.b64encode(f"user:{CANARY}".encode()).decode(),
            },
        )
        return decision, listing.status_code

    with recorder("all").use_cassette(str(path)):
        live = exchange(endpoint)
    data = path.read_bytes()
    forms = {
        CANARY,
        base64.b64encode(CANARY.encode()).decode(),
        urllib.parse.quote(CANARY),
        base64.b64encode(f"user:{CANARY}".encode()).decode(),
    }
    for form in forms:
        assert form.encode() not in data, form
    assert b"<scrubbed>" in data and b"1764240000" not in data and endpoint.encode() not in data
    with recorder("none").use_cassette(str(path)):  # nothing listens there: the cassette answers
        replayed = exchange("http://127.0.0.1:9/v1")
    assert replayed[0].action == live[0].action == "finish" and replayed[1] == live[1] == 200


def test_matching_is_on_the_canonical_body_so_a_changed_prompt_never_replays(tmp_path, endpoint):
    path = tmp_path / "match.yaml"
    body = {"model": "m", "messages": [{"role": "user", "content": "one"}], "max_tokens": 4}
    with recorder("all").use_cassette(str(path)):
        httpx.post(f"{endpoint}/chat/completions", json=body)
    # same JSON, other key order and spacing: replays
    with recorder("none").use_cassette(str(path)):
        reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
        assert (
            httpx.post("http://127.0.0.1:9/v1/chat/completions", content=reordered).status_code
            == 200
        )
    with (
        recorder("none").use_cassette(str(path)),
        pytest.raises(vcr.errors.CannotOverwriteExistingCassetteException),
    ):
        httpx.post(
            "http://127.0.0.1:9/v1/chat/completions",
            json={**body, "messages": [{"role": "user", "content": "two"}]},
        )


def test_every_committed_cassette_is_small_and_free_of_secrets_and_machine_paths():
    files = [p for p in (ROOT / "cassettes").rglob("*") if p.is_file()]
    assert files, "no cassettes committed"
    for p in files:
        data = p.read_bytes()
        assert len(data) < 1_000_000, p
        for needle in (b"/home/", b"/root/", b"/tmp/", b"/Users/", b"authorization:", b"Bearer "):
            assert needle not in data, (p, needle)


def test_a_bench_run_recorded_at_the_provider_boundary_replays_to_identical_records(tmp_path):
    suite = load(str(suite_folder(tmp_path)))
    cassette = tmp_path / "bench.json"
    coder = Coder(tmp_path / "live", solve(RIGHT) + solve(WRONG))
    live = run_suite(
        suite,
        BenchOptions(samples=1),
        tmp_path / "live",
        provider=CassetteProvider(coder, cassette, record=True),
    )
    replay = run_suite(suite, BenchOptions(samples=1, cassette=str(cassette)), tmp_path / "replay")
    keys = (*KEYS, "error")  # the fields that do not depend on timing
    assert [{k: r[k] for k in keys} for r in replay] == [{k: r[k] for k in keys} for r in live]
    assert (
        len(coder.calls) == 4
        and json.loads(cassette.read_text())["format"] == "autocoder-cassette/1"
    )

    (tmp_path / "suite" / "right" / "goal.toml").write_text(
        'goal = "Write add(a, b) returning the total."\n'
    )
    changed = run_suite(
        load(str(tmp_path / "suite")),
        BenchOptions(samples=1, cassette=str(cassette)),
        tmp_path / "changed",
    )
    miss = next(r for r in changed if r["goal"] == "right")
    assert (
        miss["status"] == "error" and str(cassette) in miss["error"] and "--record" in miss["error"]
    )


def test_a_missing_cassette_is_a_clear_error(tmp_path):
    with pytest.raises(AutocoderError, match=r"no cassette at .*--record"):
        CassetteProvider(None, tmp_path / "none.json", record=False)


BENCH = ROOT / "cassettes" / "bench"
# The committed bench cassette was recorded on the embedded model with exactly these options:
#   autocoder bench samples --limit 3 --samples 2 --max-steps 3 --max-tokens 512 \
#       --cassette cassettes/bench/samples-smollm2.json --record --out runs/bench-cassette
RECORDED = {"samples": 2, "max_steps": 3, "max_tokens": 512}
KEYS = (
    "goal",
    "try",
    "model",
    "tool_mode",
    "passed",
    "status",
    "steps",
    "model_calls",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "malformed_actions",
)


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_committed_bench_cassette_replays_the_embedded_models_run_bit_for_bit(tmp_path, jobs):
    """No model, no network: the same records, also from parallel workers (each opens the
    cassette)."""
    cassette = BENCH / "samples-smollm2.json"
    expected = [
        json.loads(x) for x in (BENCH / "samples-smollm2.records.jsonl").read_text().splitlines()
    ]
    options = BenchOptions(cassette=str(cassette), jobs=jobs, **RECORDED)
    replayed = run_suite(load("samples", limit=3), options, tmp_path / "replay")
    assert len(expected) == 3

    def rows(records):
        return sorted(({k: r[k] for k in KEYS} for r in records), key=lambda r: r["goal"])

    assert rows(replayed) == rows(expected)


def test_each_recorder_scrubs_the_secrets_it_was_given_and_those_its_provider_holds(tmp_path):
    """No registry shared by the process: a key is known to the recorder that was given it."""
    from autocoder.providers import ScriptedProvider
    from autocoder.providers.cassettes import Scrubber
    from autocoder.state import Decision

    given, held = "sk-given-5c1e0a9b7d", "sk-held-2f8b6d4e1a"
    assert Scrubber([given]).text(f"a {given} b") == "a <scrubbed> b"
    assert given in Scrubber().text(f"a {given} b")  # another recorder never learnt it

    class Holding(ScriptedProvider):
        secrets = (held,)

    inner = Holding([Decision(action="finish", args={"reason": f"{held} and {given}"})])
    path = tmp_path / "c.json"
    recording = CassetteProvider(inner, path, record=True, secrets=[given])
    recording.complete([{"role": "user", "content": f"key {given}"}], [], Settings())
    text = path.read_text()
    assert held not in text and given not in text and text.count("<scrubbed>") == 3


class _Rounds:
    """A provider that decodes rounds together, as the embedded model does: it keeps their sizes."""

    name, tool_mode, secrets, parallel = "rounds", "scripted", (), True

    def __init__(self) -> None:
        from autocoder.providers.modes import SCRIPTED

        self.codec, self.identity, self.rounds = SCRIPTED, {"kind": "rounds"}, []

    def complete(self, messages, actions, settings):
        return self.complete_many([(messages, settings)], actions)[0]

    def complete_many(self, asks, actions):
        from autocoder.state import Decision

        self.rounds.append(len(asks))
        return [Decision(raw=f"reply to {m[-1]['content']} at {s.seed}") for m, s in asks]


def test_every_wrapper_keeps_the_rounds_of_the_provider_inside(tmp_path):
    """A recorded (or capped, or cached) bench asks in the same rounds as the live run, and its
    replay asks in them again."""
    from autocoder.bench.cap import Capped, local_slots
    from autocoder.providers.base import complete_many
    from autocoder.providers.cache import CachedProvider

    asks = [([{"role": "user", "content": f"q{i}"}], Settings(seed=i)) for i in range(4)]
    live = _Rounds()
    path = tmp_path / "rounds.json"
    store: dict = {}
    cached = CachedProvider(
        live, store=type("S", (), {"get": store.get, "set": store.__setitem__})()
    )
    worn = Capped(CassetteProvider(cached, path, record=True), local_slots(1))
    assert worn.parallel and worn.name == "rounds" and worn.tool_mode == "scripted"
    answered = complete_many(worn, asks, [])
    assert live.rounds == [4]
    replay = CassetteProvider(None, path, record=False)
    assert replay.parallel and replay.name == "rounds"
    assert [d.raw for d in complete_many(replay, asks, [])] == [d.raw for d in answered]
