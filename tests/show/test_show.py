"""`autocoder show`: the run, bench and comparison pages, opened in a real headless browser
(Debian's chromium: the DOM after the page's script ran, and a screenshot)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from autocoder.bench import report
from autocoder.bench.options import BenchOptions
from autocoder.bench.runner import run_suite
from autocoder.bench.suite import load
from autocoder.cli import show as command
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers import ScriptedProvider
from autocoder.show import diffs, trajectory

from ..conftest import FINISH, GOOD_MAIN, ROOT, reply

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_NO_BROWSER = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium: the page tests need Debian's chromium package, a real headless browser "
    "(.ci/run installs it as root with apt-get install chromium)",
)


def browser(test):
    """A test that opens pages in chromium: marked `browser`, skipped where there is none."""
    return pytest.mark.browser(_NO_BROWSER(test))


GOAL = "Create main.py that prints the first 10 Fibonacci numbers <b>bold?</b>"
INJECT = (
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
)
KEY = "sk-" + "a1B2c3D4" * 4  # shaped like an API key, in no variable
SECRET = "hunter2-" + "x" * 12  # held by a key-like variable when the page is made
TWELVE = GOOD_MAIN.replace("fib(10)", "fib(12)")

app = typer.Typer()
app.command()(command.show)  # as cli.py registers it


def headless(tmp: Path) -> list[str]:
    """Chromium without a screen, a GPU or its own sandbox (root in a container), with a profile
    of the test's own."""
    return [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp}/p"]


def browse(page: Path, tmp: Path, *flags: str) -> str:
    """The DOM chromium holds once the page loaded and its script ran."""
    return subprocess.run(
        [*headless(tmp), *flags, "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def screenshot(page: Path, tmp: Path) -> Path:
    shot = tmp / f"{page.stem}.png"
    size = ["--hide-scrollbars", "--window-size=1280,1600"]
    subprocess.run(
        [*headless(tmp), *size, f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot


def show(*args: str) -> Path:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return Path(result.output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A scripted run: a fresh start of two candidates (the chosen one's reply holds a script, a
    key and the project's absolute path), a malformed reply holding a script, a write that
    changes nothing, a real change, finish."""
    root = tmp_path_factory.mktemp("fib")
    first = f"Sure {INJECT} {KEY} in {root}/main.py\n```python\n{GOOD_MAIN}```\n"
    script = [
        first,
        f"```python\n{GOOD_MAIN}```",
        f"Thought: {INJECT} {SECRET}\nno action here",
        reply("write_file", path="main.py", content=GOOD_MAIN),
        reply("write_file", path="main.py", content=TWELVE),
        FINISH,
    ]
    config = AgentConfig(samples=2, plain_start=True, max_steps=8)
    result = Agent(ScriptedProvider(script), Workspace(root), GOAL, config).run()
    assert result.status == "done" and result.steps == 5, result
    return root


def records(project: Path) -> list[dict]:
    path = trajectory.latest(project)
    return [json.loads(line) for line in path.read_text().splitlines()]


@browser
def test_the_run_page_shows_the_run_its_steps_diffs_and_candidates(project, tmp_path):
    page = show(str(project))
    assert page.parent == project / ".autocoder" / "runs" and page.suffix == ".html"
    dom = browse(page, tmp_path)
    assert 'data-ready="1"' in dom and "5 of 5 shown" in dom  # the page's own script ran
    assert "Timeline <span" in dom and dom.count('<details class="step"') == 5
    assert '<span class="badge pass">done</span>' in dom
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", dom))
    assert facts["model calls"] == "6" and facts["steps"] == "5 of at most 8"
    assert facts["model"] == "scripted" and facts["tool mode"] == "scripted"
    assert '<span class="add">+def fib(n):</span>' in dom  # step 1 created main.py
    assert '<span class="del">-    print(fib(10))</span>' in dom  # step 4 changed it
    assert '<span class="add">+    print(fib(12))</span>' in dom
    assert "nothing changed: it wrote the files as they were" in dom  # step 3
    select = next(r for r in records(project) if r["type"] == "select")
    score = ", ".join(map(str, select["candidates"][0]["progress"]))
    assert 'title="green: 1; examples right: 0; main runs: 1; tests pass: 1;' in dom
    assert f">{score}</td>" in dom
    assert select["why"] in dom and "✓ chosen" in dom
    assert "The plain ask every candidate" in dom and "does not store the prompt" in dom
    screenshot(page, tmp_path)


@browser
def test_a_script_in_a_model_reply_shows_as_text_and_never_runs(project, tmp_path):
    page = show(str(project))
    dom = browse(page, tmp_path)
    title = re.search(r"<title>(.*?)</title>", dom).group(1)
    assert title == "autocoder run: " + GOAL.replace("<", "&lt;").replace(">", "&gt;")
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]  # no attribute set
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # shown, as text
    assert dom.count("<script") == 1  # the page's own, nothing else became an element
    assert "<img" not in dom


def test_no_secret_and_no_machine_path_on_a_page(project, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOWTEST_API_KEY", SECRET)
    html = show(str(project)).read_text()
    assert str(project) not in html and str(Path.home()) + "/" not in html
    assert KEY not in html and SECRET not in html and html.count("&lt;scrubbed&gt;") >= 2
    assert " in main.py" in html  # the absolute path became the project's relative one


def test_the_page_loads_nothing_and_runs_only_its_own_script(project, tmp_path):
    html = show(str(project)).read_text()
    assert not re.search(r"""(?:src|href|action|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src &#39;none&#39;" in policy and "script-src &#39;sha256-" in policy


def requested(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """The DOM, and every URL the page itself asked for, from chromium's net log (the browser's
    own background requests have no origin; a file:// page's have the opaque one), with no name
    resolving."""
    log = tmp / f"{page.stem}.netlog.json"
    dom = browse(page, tmp, "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={log}")
    data = json.loads(log.read_text())
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    asked = [e.get("params") or {} for e in data["events"] if e["type"] == start]
    return dom, [p["url"] for p in asked if p.get("initiator") not in (None, "not an origin")]


@browser
def test_the_page_asks_for_nothing_and_renders_whole_with_no_name_resolving(project, tmp_path):
    leak = tmp_path / "leak.html"  # the net log catches what a page asks for
    leak.write_text(
        '<img src="http://example.com/a.png"><script>fetch("https://example.org/b")</script>'
    )
    assert sorted(requested(leak, tmp_path)[1]) == [
        "http://example.com/a.png",
        "https://example.org/b",
    ]
    dom, asked = requested(show(str(project)), tmp_path)
    assert asked == []
    assert 'data-ready="1"' in dom and 'id="step-5"' in dom and "</footer>" in dom


def unnamed(project: Path, to: Path) -> Path:
    """A copy of the project whose trajectory names no snapshot, as runs recorded before steps
    named them, on a timeline of its own: each step 2 s, 10 ms between steps, each snapshot made
    as the step that first began with it began (a real run's times depend on the machine's load)."""
    shutil.copytree(project, to)
    path = trajectory.latest(to)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    started, steps = trajectory.read(path).started, [r for r in records if r["type"] == "step"]
    for i, step in reversed(list(enumerate(steps))):
        made = started + 2.0 * i + 0.01 * (i + 1)
        os.utime(to / ".autocoder" / "snapshots" / f"{step['snapshot']['name']}.zip", (made, made))
    path.write_text(
        "".join(
            json.dumps({k: v for k, v in r.items() if k != "snapshot"} | {"seconds": 2.0}) + "\n"
            if r["type"] == "step"
            else json.dumps(r) + "\n"
            for r in records
        )
    )
    end = started + 2.0 * len(steps) + 0.01 * (len(steps) + 1)
    os.utime(path, (end, end))
    return to


def test_diffs_lie_between_the_snapshots_the_steps_began_with(project, tmp_path):
    run = trajectory.read(trajectory.latest(project))
    assert [s["snapshot"]["name"] for s in run.steps] == ["0001", "0002", "0002", "0002", "0003"]
    named = diffs.changes(run)
    assert named[1].before == "snapshot 0001" and named[1].after == "snapshot 0002"
    assert [f.note for f in named[1].files] == ["new file", "new file"]
    assert named[3] == "nothing changed: it wrote the files as they were"
    assert ("add", "+    print(fib(12))") in named[4].files[0].lines
    assert named[4].after == "snapshot 0003" and 5 not in named  # made as finish began
    copy = tmp_path / "copy"  # file times do not matter to it
    shutil.copytree(project, copy)
    for path in (copy / ".autocoder").rglob("*"):
        os.utime(path, (1e9, 1e9))
    assert diffs.changes(trajectory.read(trajectory.latest(copy))) == named
    # a snapshot remade with other files (undo dropped it, a later run made its number again):
    # the names no longer tell, time and content do
    remade = copy / ".autocoder" / "snapshots" / "0003.zip"
    with zipfile.ZipFile(remade, "w") as zf:
        zf.comment = json.dumps({"digest": "0" * 64}).encode()
        zf.writestr("main.py", "print('other')\n")
    assert diffs.changes(trajectory.read(trajectory.latest(copy)))[4] != named[4]


def test_diffs_follow_the_snapshots_by_time_and_by_content_when_times_are_lost(project, tmp_path):
    old = unnamed(project, tmp_path / "old")
    timed = diffs.changes(trajectory.read(trajectory.latest(old)))
    assert timed[1].before == "snapshot 0001" and timed[1].after == "snapshot 0002"
    assert [f.note for f in timed[1].files] == ["new file", "new file"]
    assert timed[3] == "nothing changed: it wrote the files as they were"  # by time
    assert ("add", "+    print(fib(12))") in timed[4].files[0].lines
    assert timed[4].after == "snapshot 0003" and 5 not in timed  # made as finish began
    copy = tmp_path / "copy"  # copied without its files' times: matched by content alone
    shutil.copytree(old, copy)
    for path in (copy / ".autocoder").rglob("*"):
        os.utime(path, (1e9, 1e9))
    untimed = diffs.changes(trajectory.read(trajectory.latest(copy)))
    assert untimed[1] == timed[1]
    assert untimed[3].files == timed[4].files  # the no-op write takes the next change of main.py


def test_a_killed_run_still_shows_what_it_recorded(project, tmp_path):
    copy = tmp_path / "killed"
    shutil.copytree(project, copy)
    path = trajectory.latest(copy)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:4], "{not json", '{"type": "st']) + "\n")  # cut
    html = show(str(path), "--out", str(tmp_path / "killed.html")).read_text()
    assert "No result record" in html and "2 line(s) of the trajectory were not records" in html
    assert html.count('<details class="step"') == 2  # the two steps before the damage


def test_user_mistakes_are_one_line_and_open_uses_the_browser(project, tmp_path, monkeypatch):
    for args, message in (
        ([str(tmp_path / "nowhere")], "does not exist"),
        ([str(tmp_path)], "has no run to show"),
        ([str(project), str(project)], "is not a bench output folder"),
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    page = show(str(project), "--open")
    assert opened == [page.resolve().as_uri()]


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """The committed bench cassette replayed (no model), as `autocoder bench` leaves it."""
    out = tmp_path_factory.mktemp("runs") / "samples-smollm2"
    cassette = ROOT / "cassettes" / "bench" / "samples-smollm2.json"
    options = BenchOptions(cassette=str(cassette), samples=2, max_steps=3, max_tokens=512)
    run_suite(load("samples", limit=3), options, out)
    report.write(out)
    return out


@browser
def test_the_bench_page_shows_every_goal_links_its_runs_and_draws_the_chart(bench, tmp_path):
    page = show(str(bench))
    assert page == bench / "index.html"
    dom = browse(page, tmp_path)
    summary = json.loads((bench / "summary.json").read_text())
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", dom))
    assert facts["model calls"] == str(summary["model_calls"]) == "17"
    assert facts["goals passed"] == f"{summary['passed_goals']} of 3"
    assert "3 of 3 shown" in dom and dom.count("<svg") == 1 and dom.count("<circle") == 3
    rows = re.findall(r'<tr data-text="([a-z]+) ', dom)
    assert sorted(rows) == ["caesar", "fibonacci", "fizzbuzz"]
    links = re.findall(r'href="(projects/[^"]+\.html)"', dom)
    assert len(set(links)) == 3 and all((bench / link).is_file() for link in links)
    run = browse(bench / links[0], tmp_path)
    assert '<span class="add">+' in run and "✓ chosen" in run and "the bench</a>" in run
    screenshot(page, tmp_path)


@browser
def test_two_bench_folders_compare_goal_by_goal(bench, tmp_path):
    bench = shutil.copytree(bench, tmp_path / "runs" / bench.name)
    plain = bench.parent / "samples-smollm2-plain"
    plain.mkdir()
    rows = [json.loads(x) for x in (bench / "records.jsonl").read_text().splitlines()]
    rows[0] |= {"passed": not rows[0]["passed"], "status": "plain", "tool_mode": "plain"}
    (plain / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = json.loads((bench / "manifest.json").read_text())
    manifest["options"]["plain"] = True
    (plain / "manifest.json").write_text(json.dumps(manifest))
    page = show(str(bench), str(plain), "--out", str(tmp_path / "compare.html"))
    dom = browse(page, tmp_path)
    assert "(1 of 3 differ)" in dom and "3 of 3 shown" in dom
    assert "samples-smollm2 (agent) over plain samples-smollm2-plain" in dom
    assert dom.count("<circle") == 2 and dom.count('<text x="') == 2  # a labelled point each
    assert (plain / "index.html").is_file()  # each folder got its own page
    own = browse(bench / "index.html", tmp_path)  # which now sets the baseline beside it
    assert "Plain, single-shot and agent" in own and "over plain" in own


def test_the_compare_chart_reads_pass_rate_on_a_0_to_100_axis(tmp_path):
    zero = {"cost_usd": 0.0, "wall_s": 10.0, "pass@1": 0.0, "model": "m", "mode": "agent"}
    limits = report._chart([("a", zero), ("b", zero | {"mode": "plain"})], tmp_path / "c.png")
    assert limits == [(0.0, 100.0)]
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


# ---- hostile inputs: everything in these files may come from the model or its programs -------
HOSTILE = INJECT + "\"'</script>\u2028"


def hostile_run(root: Path, *lines: object) -> Path:
    """A project whose trajectory holds `lines` (JSON text as written, or records)."""
    runs = root / ".autocoder" / "runs"
    runs.mkdir(parents=True)
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    (runs / "20260101T000000000000Z.jsonl").write_text(text)
    return root


def test_ill_typed_records_and_lone_surrogates_still_make_a_page(tmp_path):
    """NaN, Infinity and 400-digit numbers (JSON reads them), a lone surrogate (UTF-8 cannot
    write one), `changed` as a number, objects where text belongs: a page, never a traceback."""
    step = {
        "type": "step",
        "step": 1,
        "phase": HOSTILE,
        "seconds": float("nan"),
        "observation": {"files": "abc", "file_errors": [1], "tests_ok": True},
        "decision": {"calls": float("inf"), "usage": {"prompt_tokens": 10**400}, "args": [1]},
        "result": {"ok": True, "message": HOSTILE, "changed": 5},
    }
    lines = [
        '{"type": "run", "goal": "\\ud800 ' + HOSTILE.replace('"', '\\"') + '", "settings": [1]}',
        {"type": "select", "step": 1, "candidates": [{"candidate": 10**400, "progress": "x"}]},
        {"type": "install", "distributions": {"a": 1}, "output": None},
        step,
        {"type": "result", "status": None, "wall_s": float("-inf"), "model_calls": "x"},
    ]
    html = show(str(hostile_run(tmp_path / "p", *lines))).read_text()
    assert "\ufffd" in html and "<img" not in html and html.count("<script") == 1
    assert '<details class="step" id="step-1"' in html


def test_ill_typed_bench_records_and_summary_still_make_a_page(bench, tmp_path):
    """A try number that is a list, seconds that are NaN, tokens past a float, a summary.json
    whose counts are text and whose mode is a list: the page shows what it can."""
    copy = shutil.copytree(bench, tmp_path / "b")
    rows = [json.loads(x) for x in (copy / "records.jsonl").read_text().splitlines()]
    rows[0] |= {"try": [0], "wall_s": float("nan"), "prompt_tokens": 10**400, "goal": HOSTILE}
    rows[1] |= {"try": {"a": 1}, "error": "e" * 100_000, "judge_output": HOSTILE}
    (copy / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = json.loads((copy / "summary.json").read_text())
    summary |= {"prompt_tokens": "x", "mode": ["agent"], "tries": [2], "model": {"a": HOSTILE}}
    (copy / "summary.json").write_text(json.dumps(summary))
    html = show(str(copy)).read_text()
    assert "3 records" in html and "<img" not in html and html.count("<script") == 1
    assert "e" * 20_000 in html and "e" * 20_001 not in html  # cut, as a reply is


def test_a_bench_page_follows_no_link_out_of_its_folder(bench, tmp_path):
    """projects/ as a link (pages would be written wherever it points), a project's .autocoder
    as a link to another project (read and written through it): no run page there, and the
    bench page is still written, that row without a run page."""
    victim = shutil.copytree(bench / "projects" / "fibonacci" / "try0", tmp_path / "victim")
    before = sorted(p.name for p in (victim / ".autocoder" / "runs").iterdir())
    linked = shutil.copytree(bench, tmp_path / "linked")
    shutil.rmtree(linked / "projects")
    (linked / "projects").symlink_to(victim.parent / "elsewhere", target_is_directory=True)
    shutil.copytree(bench / "projects", victim.parent / "elsewhere")
    for made in (victim.parent / "elsewhere").rglob("*.html"):
        made.unlink()  # pages an earlier test wrote in the bench
    state = shutil.copytree(bench, tmp_path / "state")
    shutil.rmtree(state / "projects" / "fibonacci" / "try0" / ".autocoder")
    (state / "projects" / "fibonacci" / "try0" / ".autocoder").symlink_to(victim / ".autocoder")
    assert ">run page</a>" not in show(str(linked)).read_text()
    assert not list((victim.parent / "elsewhere").rglob("*.html"))
    html = show(str(state)).read_text()
    assert html.count(">run page</a>") == 2  # the two projects of its own
    assert sorted(p.name for p in (victim / ".autocoder" / "runs").iterdir()) == before


def test_a_goal_named_like_a_url_scheme_links_as_a_path(tmp_path):
    from autocoder.show import page

    target = tmp_path / "javascript:alert(1)" / "try0" / "x.html"
    assert page.link(target, tmp_path / "index.html") == "./javascript:alert(1)/try0/x.html"
    assert page.link(tmp_path / "a" / "x.html", tmp_path / "i.html") == "a/x.html"


def test_a_snapshot_that_inflates_past_its_header_is_not_read(tmp_path):
    """A zip bomb planted in .autocoder/snapshots: its header says 10 bytes, it inflates to
    64 MiB; read in bounded pieces, it is refused without inflating."""
    import io
    import struct
    import tracemalloc
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("main.py", b"a" * (64 * 1024 * 1024))
    data = bytearray(buf.getvalue())
    struct.pack_into("<I", data, 22, 10)  # the local header's size
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 10)  # the central directory's
    (tmp_path / "0001.zip").write_bytes(bytes(data))
    del buf, data
    tracemalloc.start()
    try:
        with pytest.raises(diffs.Unreadable, match=r"main\.py"):  # the page says so
            diffs._snapshot(tmp_path / "0001.zip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, peak  # not the 64 MiB it inflates to


def test_pages_that_cannot_be_written_or_read_are_one_line(project, tmp_path, monkeypatch):
    for args, message in (
        ([str(project), "--out", str(tmp_path)], "is a folder"),
        ([str(project), "--out", "/proc/x.html"], "cannot write the page"),
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and message in result.output, result.output
    monkeypatch.setattr(trajectory, "MAX_BYTES", 100)
    result = CliRunner().invoke(app, [str(project)])
    assert result.exit_code == 2 and "more than a run writes" in result.output, result.output
