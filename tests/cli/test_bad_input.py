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
from autocoder.project.workspace import Workspace

from ..fakes import RIGHT, WRONG, Coder, solve, suite_folder

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


# ---- names, sizes and the harness's own folder (issue 24, class 5) -------------------------------
DEPTH = 1100  # deeper than a recursive walk goes (the recursion limit is 1000)
USERS_FILE = "x = 1\n"


def _deep(root: Path, depth: int = DEPTH, leaf: bytes = b"x = 1\n") -> None:
    """`depth` nested folders under `root` with a file at the bottom, made through descriptors
    (the whole path is longer than the system takes in one call)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("leaf.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, leaf)
        os.close(out)
    finally:
        os.close(fd)


def _remove(root: Path) -> None:
    """Remove a tree without recursion: pytest's own clean-up (shutil.rmtree) recurses once per
    level and would stop the session at the end on a tree this deep."""
    order, todo = [], [root]
    while todo:
        here = todo.pop()
        order.append(here)
        with os.scandir(here) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(Path(entry.path))
                else:
                    os.unlink(entry.path)
    for folder in reversed(order):
        os.rmdir(folder)


@pytest.fixture
def cleaned(tmp_path):
    """The test's folder, removed without recursion when it ends."""
    yield tmp_path
    _remove(tmp_path)


def _utf8_flagged(name: bytes, data: bytes) -> bytes:
    """A zip whose one member is named by `name` (not UTF-8) while its flags say UTF-8."""
    placeholder = b"N" * len(name)
    raw = bytearray(_zip([(placeholder.decode(), data)]).replace(placeholder, name))
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        raw[at + flags + 1] |= 0x08  # bit 11: the names are UTF-8
    return bytes(raw)


def _damaged_deflate(data: bytes = b"print('hello')\n" * 40) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("main.py", data)
    raw = bytearray(buffer.getvalue())
    raw[30 + len("main.py")] ^= 0x5A  # the stream's first block header: zlib.error, not a CRC
    return bytes(raw)


def _plant(kind: str, project: Path, outside: Path) -> None:
    """One hostile thing in the project or its .autocoder/ folder."""
    state = project / ".autocoder"
    snaps, runs = state / "snapshots", state / "runs"
    if kind == "deep tree":
        _deep(project)
    elif kind == "undecodable names":
        (project / os.fsdecode(b"caf\xe9.py")).write_text("y = 2\n")
        (project / os.fsdecode(b"\xff\xfe")).mkdir()
        (project / os.fsdecode(b"\xff\xfe") / "z.py").write_text("z = 3\n")
    elif kind == "deep snapshot member":
        snaps.mkdir(parents=True)
        (snaps / "0001.zip").write_bytes(_zip([("d/" * DEPTH + "leaf.py", b"x = 2\n")]))
    elif kind == "undecodable snapshot member":
        snaps.mkdir(parents=True)
        (snaps / "0001.zip").write_bytes(_utf8_flagged(b"caf\xe9.py", b"x = 2\n"))
    elif kind == "damaged deflate":
        snaps.mkdir(parents=True)
        (snaps / "0001.zip").write_bytes(_damaged_deflate())
    elif kind == "snapshot a FIFO":
        snaps.mkdir(parents=True)
        os.mkfifo(snaps / "0001.zip")
    elif kind == "snapshot a link":
        snaps.mkdir(parents=True)
        (outside / "0001.zip").write_bytes(_zip([("main.py", b"stolen = 1\n")]))
        (snaps / "0001.zip").symlink_to(outside / "0001.zip")
    elif kind == "runs a link":
        state.mkdir()
        (outside / "runs").mkdir()
        runs.symlink_to(outside / "runs")
    elif kind == "trajectory a link":
        runs.mkdir(parents=True)
        (runs / "20990101T000000000000Z.jsonl").symlink_to("/etc/passwd")
    elif kind == "huge trajectory":
        runs.mkdir(parents=True)
        with (runs / "20990101T000000000000Z.jsonl").open("wb") as fh:
            fh.truncate(300 * 1024 * 1024)  # sparse: no disk spent
    elif kind == "state a link":
        (outside / "state").mkdir()
        state.symlink_to(outside / "state")


PLANTS = [
    "deep tree",
    "undecodable names",
    "deep snapshot member",
    "undecodable snapshot member",
    "damaged deflate",
    "snapshot a FIFO",
    "snapshot a link",
    "runs a link",
    "trajectory a link",
    "huge trajectory",
    "state a link",
]
# Crashes of workspace.py that another change fixes: each case flips to a pass when it lands.
KNOWN: dict[tuple[str, str], str] = {}


def _files(root: Path) -> dict[str, bytes]:
    """Every plain file under `root` (no link followed), by path, walked without recursion."""
    found, todo = {}, [root]
    while todo:
        here = todo.pop()
        with os.scandir(here) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    found[os.fsencode(entry.path).hex()] = Path(entry.path).read_bytes()
    return found


def _replayed(work: Path) -> Path:
    """A trajectory that writes main.py and finishes (the model of `autocoder run`)."""
    steps = [
        {"action": "write_file", "args": {"path": "main.py", "content": "print(1)\n"}},
        {"action": "finish", "args": {"reason": "ok"}},
    ]
    path = work / "replay.jsonl"
    path.write_text("".join(json.dumps({"type": "step", "decision": d}) + "\n" for d in steps))
    return path


def _recorded(project: Path) -> None:
    """A run's trajectory whose one step changed main.py: `show` reads the snapshots for its
    diff (unless the plant took the runs folder)."""
    runs = project / ".autocoder" / "runs"
    if (project / ".autocoder").is_symlink() or runs.exists() or runs.is_symlink():
        return
    runs.mkdir(parents=True, exist_ok=True)
    step = {
        "type": "step",
        "step": 1,
        "decision": {"action": "write_file", "args": {"path": "main.py"}},
        "result": {"ok": True, "changed": ["main.py"]},
        "observation": {"files": ["main.py"]},
        "seconds": 1.0,
    }
    lines = [{"type": "run", "goal": GOAL}, step]
    (runs / "20200101T000000000000Z.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def _through(command: str, project: Path, work: Path, goal: str = GOAL) -> list[str]:
    if command == "show":
        _recorded(project)
        return ["show", str(project), "--out", str(work / "page.html")]
    if command == "undo":
        return ["undo", "-d", str(project)]
    replay = f"replay:{_replayed(work)}"
    return ["run", goal, "-d", str(project), "-m", replay, "--samples", "1", "--max-steps", "3"]


def _clear_or_verdict(result) -> None:
    """No traceback; a verdict (0, 1) or one clear line (2)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


@pytest.mark.parametrize("command", ["show", "undo", "run"])
@pytest.mark.parametrize("kind", PLANTS)
def test_deep_trees_odd_names_and_planted_state_never_end_in_a_traceback(
    cleaned, request, kind, command
):
    tmp_path = cleaned
    if (kind, command) in KNOWN:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN[kind, command]))
    project, outside, work = tmp_path / "project", tmp_path / "outside", tmp_path / "work"
    for folder in (project, outside, work):
        folder.mkdir()
    (project / "main.py").write_text(USERS_FILE)
    (project / "notes.txt").write_text("the user's own notes\n")
    _plant(kind, project, outside)
    before = _files(outside)
    result = invoke(_through(command, project, work))
    _clear_or_verdict(result)
    assert _files(outside) == before  # nothing outside the project changed
    assert (project / "notes.txt").read_text() == "the user's own notes\n"  # nothing of the user's
    if command == "show":
        assert (project / "main.py").read_text() == USERS_FILE
    if command == "show" and kind == "damaged deflate":  # the page says which member and why
        page = (work / "page.html").read_text()
        assert "its member &#39;main.py&#39; is unreadable: Error -3" in page


def test_a_96_kb_one_line_goal_runs_and_its_examples_are_cheap(tmp_path):
    goal = "Write f(x) returning x. " + "f(1) == 1, " * 8_700
    result = invoke(_through("run", tmp_path / "p", tmp_path, goal))
    _clear_or_verdict(result)
    assert result.exit_code in (0, 1)


def test_a_5_mb_goal_in_a_suite_is_run_or_refused_in_one_line(tmp_path):
    suite = suite_folder(tmp_path)
    huge = suite / "huge"
    huge.mkdir()
    text = "Write add(a, b). add(1, 2) == 3, " + "and more words " * 340_000
    (huge / "goal.toml").write_text(f'goal = """{text}"""\n')
    (huge / "test_hidden.py").write_text((suite / "right" / "test_hidden.py").read_text())
    out = tmp_path / "out"
    loaded = load(str(suite))
    assert [g.name for g in loaded.goals] == ["huge", "right", "wrong"]
    # the huge goal states an example: answered right, it is done without a judging call
    provider = Coder(out, solve(RIGHT)[:1] + solve(RIGHT) + solve(WRONG))
    records = run_suite(loaded, BenchOptions(samples=1), out, provider=provider)
    assert {r["goal"]: r["passed"] for r in records} == {
        "huge": True,
        "right": True,
        "wrong": False,
    }
    # and --resume over it: nothing left to run, no traceback
    _clear_or_verdict(invoke(["bench", str(suite), "--out", str(out), "--resume"]))


planted = st.sampled_from(PLANTS[1:])  # the deep tree costs seconds: it has its named cases
names = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b)


@pytest.mark.parametrize("command", ["show", "undo"])
def test_random_names_and_plants_never_end_in_a_traceback(tmp_path_factory, command):
    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(kind=planted, name=names, data=st.binary(max_size=64))
    def check(kind: str, name: bytes, data: bytes) -> None:
        work = tmp_path_factory.mktemp("names")
        project, outside = work / "project", work / "outside"
        project.mkdir()
        outside.mkdir()
        (project / "main.py").write_text(USERS_FILE)
        if name not in (b".", b"..", b"main.py", b".autocoder"):
            (project / os.fsdecode(name)).write_bytes(data)
        _plant(kind, project, outside)
        before = _files(outside)
        try:
            _clear_or_verdict(invoke(_through(command, project, work)))
            assert _files(outside) == before
        finally:
            _remove(work)  # an undo may have restored a snapshot's deep member

    check()
