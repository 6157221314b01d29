"""Damaged or hostile files given to the public commands: one line naming the file and what is
wrong, exit 2, no traceback, nothing outside the project changed. Named cases first, then a
property test that feeds random and ill-typed data through the same commands."""

from __future__ import annotations

import hashlib
import io
import json
import os
import string
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from autocoder import autocoder
from autocoder.bench.options import BenchOptions
from autocoder.bench.records import RECORDS, read_records
from autocoder.bench.runner import run_suite
from autocoder.bench.suite import load
from autocoder.cli import app
from autocoder.exceptions import AutocoderError
from autocoder.workspace import Workspace

from .fakes import RIGHT, WRONG, Coder, solve, suite_folder

runner = CliRunner()
GOAL = "print hello"


def invoke(args: list[str]):
    return runner.invoke(app, args, catch_exceptions=True)


def assert_clear_error(result, *words: str) -> None:
    """Exit 2, one line on stderr, no traceback, naming what it should."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def profile(name: str, body: bytes | None) -> Path:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "autocoder" / "providers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if body is None:
        path.mkdir()
    else:
        path.write_bytes(body)
    return path


# ---- named cases ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, body, words",
    [
        (
            "evil.toml",
            b'name = "other"\nkind = "litellm"\nmodel = "openai/x"\n',
            ["evil.toml", "'name'"],
        ),
        (
            "evil.toml",
            b'source = "x"\nkind = "litellm"\nmodel = "openai/x"\n',
            ["evil.toml", "'source'"],
        ),
        ("evil.toml", b'kind = "litellm"\nmodel = "\xff\xfe"\n', ["evil.toml", "UTF-8"]),
        ("evil.toml", None, ["evil.toml", "not a file"]),
        ("evil.toml", b"kind = [1, 2\n", ["evil.toml", "TOML"]),
    ],
)
def test_a_bad_profile_is_one_line(tmp_path, name, body, words):
    path = profile(name, body)
    assert_clear_error(invoke(["models"]), str(path), *words[1:])
    assert_clear_error(invoke(["run", GOAL, "-d", str(tmp_path / "p"), "--model", "evil"]), *words)
    assert not (tmp_path / "p").exists()


def test_a_gguf_that_is_no_gguf_is_one_line(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    profile("fake.toml", f'kind = "llama_cpp"\ngguf = "{fake}"\n'.encode())
    for model in ("fake", str(fake)):
        assert_clear_error(
            invoke(["run", GOAL, "-d", str(tmp_path / "p"), "--model", model]), "not a GGUF"
        )


@pytest.mark.parametrize(
    "data",
    [
        {"format": "autocoder-cassette/1"},
        {"format": "autocoder-cassette/1", "model": "m", "tool_mode": "grammar"},
        {
            "format": "autocoder-cassette/1",
            "model": "m",
            "tool_mode": "grammar",
            "interactions": [{"request": 1}],
        },
        {
            "format": "autocoder-cassette/1",
            "model": "m",
            "tool_mode": "g",
            "interactions": [{"request": "a", "decision": 5}],
        },
        {
            "format": "autocoder-cassette/1",
            "model": "m",
            "tool_mode": "g",
            "identity": [],
            "interactions": [],
        },
        [1, 2, 3],
    ],
)
def test_a_damaged_cassette_is_one_line(tmp_path, data):
    cassette = tmp_path / "c.json"
    cassette.write_text(json.dumps(data))
    res = invoke(
        [
            "bench",
            str(suite_folder(tmp_path)),
            "--cassette",
            str(cassette),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert_clear_error(res, str(cassette), "not a bench cassette")


def test_a_garbage_cache_is_one_line_and_cache_clear_recovers(tmp_path):
    cache = Path(os.environ["AUTOCODER_CACHE_DIR"])
    cache.mkdir(parents=True)
    (cache / "cache.db").write_bytes(os.urandom(4096))
    assert_clear_error(invoke(["cache", "stats"]), "cache clear")
    cleared = invoke(["cache", "clear"])
    assert cleared.exit_code == 0, cleared.output
    stats = invoke(["cache", "stats"])
    assert stats.exit_code == 0 and "0 replies" in stats.output


@pytest.mark.parametrize(
    "text",
    [
        b"\x00\xff\xfe garbage",
        b"[1, 2]\n",
        b'{"type": "step", "decision": 7}\n',
        b'{"type": "step", "decision": {"args": "not a dict"}}\n',
        b'{"type": "step", "decision": {"usage": {"prompt_tokens": "many"}}}\n',
        b'{"type": "step"}\n',
    ],
)
def test_a_bad_replay_trajectory_is_one_line(tmp_path, text):
    path = tmp_path / "t.jsonl"
    path.write_bytes(text)
    assert_clear_error(
        invoke(["run", GOAL, "-d", str(tmp_path / "p"), "--model", f"replay:{path}"]), str(path)
    )
    assert not (tmp_path / "p").exists()


def test_undo_of_a_corrupt_snapshot_and_of_stray_names_is_one_line(tmp_path):
    ws = Workspace(tmp_path / "p")
    ws.write("main.py", "x = 1\n", fmt=False)
    ws.snapshot_dir.mkdir(parents=True)
    (ws.snapshot_dir / "stray name.txt").write_text("?")
    (ws.snapshot_dir / "zz.zip").write_text("?")
    assert_clear_error(invoke(["undo", "-d", str(ws.root)]), "nothing to undo")
    (ws.snapshot_dir / "0001.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 10)
    assert_clear_error(invoke(["undo", "-d", str(ws.root)]), "0001.zip", "damaged")
    assert ws.read("main.py") == "x = 1\n"


def _bench(tmp_path: Path, out: Path, *extra: str):
    return invoke(["bench", str(suite_folder(tmp_path)), "--out", str(out), "--resume", *extra])


@pytest.mark.parametrize(
    "line", ["5", '{"goal": "right"}', '{"goal": "right", "try": "zero"}', "[]", "null"]
)
def test_resume_and_compare_on_bad_records_are_one_line(tmp_path, line):
    out = tmp_path / "out"
    out.mkdir()
    (out / RECORDS).write_text(line + "\n")
    assert_clear_error(_bench(tmp_path, out), f"{RECORDS}:1", "not a bench record")
    assert_clear_error(invoke(["bench", "compare", str(out), str(out)]), "not a bench record")


@pytest.mark.parametrize("manifest", ["{not json", "[1]", '{"options": 3}'])
def test_resume_on_a_damaged_manifest_is_one_line(tmp_path, manifest):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(manifest)
    assert_clear_error(_bench(tmp_path, out), "manifest.json", "damaged")


def test_a_record_cut_by_a_crash_is_set_aside_and_the_next_one_starts_clean(tmp_path):
    out = tmp_path / "out"
    suite = load(str(suite_folder(tmp_path)))
    run_suite(suite, BenchOptions(samples=1), out, provider=Coder(out, solve(RIGHT) + solve(WRONG)))
    right, wrong = (out / RECORDS).read_text().splitlines()
    (out / RECORDS).write_text(right + "\n" + wrong[: len(wrong) // 2])  # the crash, mid-record
    assert [r["goal"] for r in read_records(out)] == [json.loads(right)["goal"]]
    rerun = Coder(out, solve(WRONG))  # only the goal whose record was cut runs again
    records = run_suite(suite, BenchOptions(samples=1), out, resume=True, provider=rerun)
    assert sorted(r["goal"] for r in records) == ["right", "wrong"]
    assert len(rerun.calls) == 2 and not rerun.replies
    assert (out / (RECORDS + ".cut")).read_text() == wrong[: len(wrong) // 2] + "\n"  # nothing lost


def test_the_python_api_refuses_a_nul_in_a_path(tmp_path):
    with pytest.raises(AutocoderError, match="NUL"):
        autocoder({"goal": GOAL, "project_dir": str(tmp_path / "a\x00b")})


def test_control_sequences_from_a_model_never_reach_the_terminal(tmp_path):
    trajectory = tmp_path / "t.jsonl"
    create = {
        "action": "create_project",
        "args": {
            "main": "def main():\n    print(1)\n\n\nif __name__ == '__main__':\n    main()\n",
            "test": "from main import main\n\n\ndef test_main():\n    assert main() is None\n",
        },
    }
    # its name is shown in the error
    bogus = {"action": "done \x1b]0;pwned\x07 \x1b[2J\x9b31m \u202eevil", "args": {}}
    finish = {"action": "finish", "args": {"reason": "ok"}}
    trajectory.write_text(
        "".join(json.dumps({"type": "step", "decision": d}) + "\n" for d in (create, bogus, finish))
    )
    res = invoke(
        [
            "run",
            GOAL,
            "-d",
            str(tmp_path / "p"),
            "--model",
            f"replay:{trajectory}",
            "--samples",
            "1",
        ]
    )
    assert res.exit_code == 0, res.output
    for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert bad not in res.output
    assert "pwned" in res.output  # shown, harmless


# ---- property: random and ill-typed data through the commands ------------------------------------
def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in dict(members).items():  # one entry per name
            zf.writestr(name, data)
    return buffer.getvalue()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
DECISION_KEYS = [
    "thought",
    "action",
    "args",
    "raw",
    "error",
    "usage",
    "seconds",
    "calls",
    "cached",
    "cut",
]
RECORD_KEYS = [
    "suite",
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
    "cost_usd",
    "wall_s",
    "model_s",
    "harness_s",
    "malformed_actions",
]


def ill_typed(keys: list[str]):
    """Objects with the right keys (some missing) and values of any type."""
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys))


def lines_of(values) -> st.SearchStrategy[bytes]:
    return st.lists(values, max_size=4).map(
        lambda xs: "".join(json.dumps(x) + "\n" for x in xs).encode()
    )


payloads = {
    "trajectory": st.binary(max_size=200)
    | lines_of(json_values)
    | lines_of(ill_typed(DECISION_KEYS).map(lambda d: {"type": "step", "decision": d})),
    "records": st.binary(max_size=200) | lines_of(json_values) | lines_of(ill_typed(RECORD_KEYS)),
    "manifest": st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    "profile": st.binary(max_size=120)
    | st.dictionaries(
        st.sampled_from(["name", "kind", "model", "gguf", "tool_mode", "context", "source", "x"]),
        st.text(string.printable, max_size=10) | st.integers(),
        max_size=4,
    ).map(lambda d: "\n".join(f"{k} = {json.dumps(v)}" for k, v in d.items()).encode()),
    "cassette": st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.fixed_dictionaries(
        {"format": st.just("autocoder-cassette/1")},
        optional={
            "model": json_values,
            "tool_mode": json_values,
            "identity": json_values,
            "interactions": st.lists(
                st.fixed_dictionaries(
                    {}, optional={"request": json_values, "decision": json_values}
                )
            ),
        },
    ).map(lambda v: json.dumps(v).encode()),
    "snapshot": st.binary(max_size=300)
    | st.lists(
        st.tuples(
            st.text(string.ascii_letters + "./_- \\", min_size=1, max_size=12)
            | st.sampled_from(
                ["../x", "/etc/x", "main.py/x", ".autocoder/x", "a/../../x", "./main.py", "main.py"]
            ),
            st.binary(max_size=20),
        ),
        max_size=4,
    ).map(_zip),
}


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(
            str(p.relative_to(root)).encode()
            + (p.read_bytes() if p.is_file() and not p.is_symlink() else b"")
        )
    return h.hexdigest()


def _command(kind: str, work: Path, data: bytes) -> list[str]:
    project, out = work / "project", work / "out"
    if kind == "trajectory":
        (work / "t.jsonl").write_bytes(data)
        return [
            "run",
            GOAL,
            "-d",
            str(project),
            "--model",
            f"replay:{work / 't.jsonl'}",
            "--samples",
            "1",
            "--max-steps",
            "2",
        ]
    if kind in ("records", "manifest"):
        out.mkdir(exist_ok=True)
        (out / (RECORDS if kind == "records" else "manifest.json")).write_bytes(data)
        if kind == "records":
            return ["bench", "compare", str(out), str(out)]
        done = [
            {
                **dict.fromkeys(RECORD_KEYS, 0),
                "suite": "suite",
                "goal": g,
                "model": "m",
                "tool_mode": "t",
                "passed": False,
                "status": "done",
                "cost_usd": 0.0,
                "wall_s": 0.0,
                "model_s": 0.0,
                "harness_s": 0.0,
            }
            for g in ("right", "wrong")
        ]
        # nothing left to run
        (out / RECORDS).write_text("".join(json.dumps(r) + "\n" for r in done))
        return ["bench", str(work / "suite"), "--out", str(out), "--resume"]
    if kind == "profile":
        profile("fuzzed.toml", data)
        return ["run", GOAL, "-d", str(project), "--model", "fuzzed"]
    if kind == "cassette":
        (work / "c.json").write_bytes(data)
        return [
            "bench",
            str(work / "suite"),
            "--cassette",
            str(work / "c.json"),
            "--out",
            str(out),
            "--max-steps",
            "1",
        ]
    Workspace(project).write("main.py", "x = 1\n", fmt=False)
    (project / ".autocoder" / "snapshots").mkdir(parents=True)
    (project / ".autocoder" / "snapshots" / "0001.zip").write_bytes(data)
    return ["undo", "-d", str(project)]


@pytest.mark.parametrize("kind", sorted(payloads))
def test_random_and_ill_typed_files_never_end_in_a_traceback(tmp_path_factory, kind):
    @settings(
        max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(data=payloads[kind])
    def check(data: bytes) -> None:
        work = tmp_path_factory.mktemp("fuzz")
        suite_folder(work)
        outside = work / "outside"
        outside.mkdir()
        (outside / "keep.txt").write_text("keep")
        before = _digest(outside)
        result = invoke(_command(kind, work, data))
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert "Traceback" not in result.output
        assert result.exit_code in (0, 1, 2), result.output
        if result.exit_code == 2:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert _digest(outside) == before

    check()
