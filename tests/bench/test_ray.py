"""`bench --ray`: the bench on a real two-node Ray cluster, no mocks. Outside a private network
namespace Ray would advertise the machine's own address, so the cluster and every driver run in
one that this module makes (`unshare -rn`, loopback up): the head on 127.0.0.1, a second node on
127.0.0.2, one CPU each. One cluster serves the module; the test that kills its second node runs
last. Every process in the namespace is killed by its id at the end, pass or fail."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from autocoder.bench import pool
from autocoder.bench.cap import local_slots
from autocoder.bench.goal import Goal
from autocoder.bench.options import BenchOptions, Task
from autocoder.bench.records import read_records
from autocoder.bench.runner import run_suite
from autocoder.bench.suite import load

from ..fakes import pool_caller, suite_folder

ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "cassettes" / "bench" / "samples-smollm2.json"
# the committed cassette's options (providers/test_cassettes.py): 3 sample goals replayed, no
# model
REPLAY = ["--limit", "3", "--samples", "2", "--max-steps", "3", "--max-tokens", "512"]
REPLAYED = {"samples": 2, "max_steps": 3, "max_tokens": 512}
GOALS = 3
TIMING = {"wall_s", "model_s", "harness_s", "judge_s"}
PLACE = {"node", "host", "worker"}
HEAD, SECOND, PORT = "127.0.0.1", "127.0.0.2", 6379  # the namespace is private: any port is free
# The namespace's init: loopback up, the two nodes, then hold the namespace until stdin closes.
# The health checks are quick so that a killed node is declared dead in seconds.
START = f"""set -eu
ip link set lo up
"$RAY" start --head --node-ip-address {HEAD} --port {PORT} --num-cpus 1 \\
  --include-dashboard=false --disable-usage-stats --object-store-memory 100000000 \\
  --temp-dir "$WHERE/ray" > "$WHERE/head.log" 2>&1
TMPDIR="$WHERE/second" "$RAY" start --address {HEAD}:{PORT} --node-ip-address {SECOND} \\
  --num-cpus 1 --disable-usage-stats --object-store-memory 100000000 > "$WHERE/second.log" 2>&1
touch "$WHERE/up"
exec cat > /dev/null
"""
QUICK_HEALTH = {
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


def unshare_works() -> bool:
    if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip")):
        return False
    probe = ["unshare", "-rn", "ip", "link", "set", "lo", "up"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


needs_namespace = pytest.mark.skipif(
    not unshare_works(),
    reason="needs `unshare -rn` (unprivileged user and network namespaces), nsenter and ip: "
    "Ray must run on loopback in a private network namespace",
)


@dataclass
class Namespace:
    """The private network namespace that holds the cluster, entered with nsenter."""

    holder: subprocess.Popen
    where: Path
    net: str  # /proc/PID/ns/net of its processes

    @property
    def enter(self) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-U", "-n", "--preserve-credentials", "--"]

    def env(self) -> dict[str, str]:
        return {**os.environ, "RAY_ADDRESS": f"{HEAD}:{PORT}", "PYTHONPATH": str(ROOT)}

    def bench(self, out: Path, *more: str, jobs: int = 2) -> list[str]:
        """The CLI of a replayed bench on this cluster (`--ray auto`: RAY_ADDRESS says where)."""
        return [
            *self.enter,
            sys.executable,
            "-m",
            "autocoder",
            "bench",
            "samples",
            *REPLAY,
            "--cassette",
            str(CASSETTE),
            "--ray",
            "auto",
            "--jobs",
            str(jobs),
            "--out",
            str(out),
            *more,
        ]

    def run(self, argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            argv,
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def members(self) -> list[int]:
        """Every process in the namespace (the cluster, drivers, actors)."""
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and os.readlink(proc / "ns" / "net") == self.net:
                    found.append(int(proc.name))
            except OSError:
                continue
        return found

    def second_node(self) -> list[int]:
        """The second node's raylet and every process under it (its agents and actors)."""
        raylets = [p for p in self.members() if f"--node_ip_address={SECOND}" in cmdline(p)]
        return [q for p in raylets for q in descendants(p)]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit():
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds:.0f} s for {what}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Namespace]:
    """Two Ray nodes on loopback in a namespace of their own; all of it killed at the end."""
    if not unshare_works():
        pytest.skip("needs `unshare -rn`, nsenter and ip")
    ray = Path(sys.executable).parent / "ray"
    if not ray.exists():
        pytest.fail(f"no {ray}: Ray comes with the test extra (pip install -e '.[test]')")
    where = Path(tempfile.mkdtemp(prefix="acray-", dir="/tmp"))  # Ray's sockets want short paths
    (where / "second").mkdir()
    env = {**os.environ, **QUICK_HEALTH, "RAY": str(ray), "WHERE": str(where)}
    env.update(PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    holder = subprocess.Popen(
        ["unshare", "-rn", "bash", "-c", START], stdin=subprocess.PIPE, env=env, cwd=ROOT
    )
    ns = Namespace(holder, where, net="")
    try:
        ns.net = wait_for(lambda: entered(ns), 30, "the namespace")
        wait_for(lambda: entered(ns) and (where / "up").exists(), 240, "Ray to start")
        yield ns
    finally:
        holder.stdin.close()
        for _ in range(100):
            pids = ns.members()
            if not pids:
                break
            kill(pids)
            time.sleep(0.1)
        holder.wait(10)
        shutil.rmtree(where, ignore_errors=True)
        assert not ns.members(), "a process of the cluster outlived the test"


def entered(ns: Namespace) -> str:
    """The holder's network namespace once it has left ours; a holder that stopped (Ray could
    not start) fails the test with Ray's own words."""
    if ns.holder.poll() is not None:
        logs = "".join(p.read_text()[-3000:] for p in ns.where.glob("*.log"))
        pytest.fail(f"the cluster did not start:\n{logs}")
    try:
        net = os.readlink(f"/proc/{ns.holder.pid}/ns/net")
    except OSError:
        return ""
    return net if net != os.readlink("/proc/self/ns/net") else ""


@dataclass
class Run:
    out: Path
    records: list[dict]


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Run:
    """The replayed bench run here, in this process: what the cluster must reproduce."""
    out = tmp_path_factory.mktemp("local")
    options = BenchOptions(cassette=str(CASSETTE), **REPLAYED)
    records = run_suite(load("samples", limit=GOALS), options, out)
    assert len(records) == GOALS
    return Run(out, records)


def same(record: dict) -> dict:
    """What must match between runs: all but timings and where it ran (pytest's own clock in the
    judge's output included)."""
    kept = {k: v for k, v in record.items() if k not in TIMING | PLACE}
    kept["judge_output"] = re.sub(r" in [\d.]+s\b", " in Ts", kept.get("judge_output", ""))
    return kept


def rows(records: list[dict]) -> list[dict]:
    return sorted((same(r) for r in records), key=lambda r: (r["goal"], r["try"]))


def keys(records: list[dict]) -> list[tuple[str, int]]:
    return sorted((r["goal"], r["try"]) for r in records)


# ---- without a cluster ------------------------------------------------------------------------
def test_the_local_path_never_imports_ray_and_its_records_say_where_they_ran(tmp_path):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from autocoder.cli import app\n"
        "from autocoder.bench import BenchOptions, load, run_suite\n"
        "from tests.fakes import Coder, RIGHT, WRONG, solve\n"
        "assert CliRunner().invoke(app, ['bench', '--help']).exit_code == 0\n"
        "out, suite = __import__('pathlib').Path(sys.argv[1]), load(sys.argv[2])\n"
        "coder = Coder(out, solve(RIGHT) + solve(WRONG))\n"
        "records = run_suite(suite, BenchOptions(samples=1), out, provider=coder)\n"
        "assert [(r['node'], r['worker']) for r in records] == [('local', 0)] * 2, records\n"
        "assert 'ray' not in sys.modules, 'the local path imported ray'\n"
    )
    argv = [sys.executable, "-c", code, str(tmp_path / "out"), str(suite_folder(tmp_path))]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def test_without_ray_installed_the_flag_says_how_to_install_it(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from autocoder.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as where it is missing
    out = tmp_path / "out"
    argv = ["bench", str(suite_folder(tmp_path)), "--ray", "auto", "--out", str(out)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        'error: --ray needs Ray, which is not installed: pip install "autocoder[ray]"'
    ]
    assert not out.exists()


def test_an_unreachable_cluster_is_exit_2_in_one_line_and_nothing_is_written(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "autocoder", "bench", str(suite_folder(tmp_path))]
    argv += ["--ray", f"127.0.0.1:{port}", "--out", str(out)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: cannot reach the Ray cluster at 127.0.0.1:{port} (Connection refused): is"
        " `ray start --head` running there?"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    "more, complaint",
    [
        (["--jobs", "65"], "--jobs 65 is more than one machine runs (64 at most): add --ray"),
        (["--ray", "auto", "--record", "--cassette", "{tmp}/c.json"], "--record writes one"),
    ],
)
def test_what_needs_a_cluster_or_one_process_is_refused_before_anything_is_written(
    tmp_path, more, complaint
):
    from typer.testing import CliRunner

    from autocoder.cli import app

    out = tmp_path / "out"
    argv = ["bench", str(suite_folder(tmp_path)), "--out", str(out)]
    argv += [x.format(tmp=tmp_path) for x in more]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2 and result.output.strip().startswith(f"error: {complaint}")
    assert not out.exists() and not (tmp_path / "c.json").exists()


def test_the_cap_holds_on_a_local_pool_too():
    """--max-concurrent-calls without a cluster: the pool's processes share one semaphore, so
    no two calls are in flight at once."""
    todo = [Task(Goal(f"g{n}", "x"), 0) for n in range(4)]
    records = list(pool.run(todo, partial(pool_caller, local_slots(1), 0.3), 2))
    assert {r["worker"] for r in records} == {0, 1}
    spans = sorted(r["flight"] for r in records)  # each call's flight, timed inside its slot
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans


# ---- on the two-node cluster ------------------------------------------------------------------
@needs_namespace
def test_a_bench_on_two_nodes_gives_the_local_runs_records(cluster, local, tmp_path):
    out = tmp_path / "out"
    done = cluster.run(cluster.bench(out, "--json"))
    assert done.returncode == 0, done.stderr[-3000:]
    records = read_records(out)
    assert rows(records) == rows(local.records)
    assert {r["host"] for r in records} == {HEAD, SECOND}  # work on both nodes
    assert len({r["node"] for r in records}) == 2 and {r["worker"] for r in records} == {0, 1}
    for r in records:  # each project came back to the driver's folder, as it is made here
        project = Path("projects", r["goal"], f"try{r['try']}")
        assert sorted(files(out / project)) == sorted(files(local.out / project))
        assert (out / project / "main.py").read_text() == (
            local.out / project / "main.py"
        ).read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cluster"]["nodes"] == 2 and manifest["options"]["ray"] == "auto"
    assert json.loads(done.stdout)["records"] == GOALS


def files(folder: Path) -> list[str]:
    """A project's files, less its trajectories (named by the time they were made)."""
    return [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and ".autocoder" not in p.parts
    ]


@needs_namespace
def test_the_cap_holds_across_the_cluster(cluster, tmp_path):
    code = (
        "import json, sys\n"
        "from tests.fakes import capped_run\n"
        "print(json.dumps(capped_run(sys.argv[1], sys.argv[2], 1, 8, 0.4)))\n"
    )
    argv = [*cluster.enter, sys.executable, "-c", code, f"{HEAD}:{PORT}", str(tmp_path)]
    done = cluster.run(argv)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["most"] == 1 and len(result["records"]) == 8
    assert {r["host"] for r in result["records"]} == {HEAD, SECOND}
    flights = sorted(r["flight"] for r in result["records"])  # timed inside each call's slot
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(flights)), flights


@needs_namespace
def test_resume_after_the_driver_is_killed_completes_the_run(cluster, local, tmp_path):
    out = tmp_path / "out"
    driver = subprocess.Popen(
        cluster.bench(out),
        cwd=ROOT,
        env=cluster.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: read_records(out), 240, "the first record")
    finally:
        driver.kill()
        driver.wait(30)
    before = read_records(out)
    assert 1 <= len(before) < GOALS
    done = cluster.run(cluster.bench(out, "--resume"))
    assert done.returncode == 0, done.stderr[-3000:]
    after = read_records(out)
    assert keys(after) == keys(local.records)  # each goal once: nothing lost, none twice
    assert rows(after) == rows(local.records)
    assert after[: len(before)] == before


@needs_namespace
def test_killing_the_second_node_mid_run_loses_nothing(cluster, local, tmp_path):
    """Runs last: the cluster has one node afterwards."""
    out = tmp_path / "out"
    driver = subprocess.Popen(
        cluster.bench(out, "--max-concurrent-calls", "1"),  # the dead worker's slot comes back
        cwd=ROOT,
        env=cluster.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        busy = wait_for(
            lambda: list((cluster.where / "second").glob("autocoder-ray-*/projects/*/try*")),
            240,
            "a task on the second node",
        )
        killed = cluster.second_node()
        assert killed, "no raylet of the second node found"
        kill(killed)
        _, err = driver.communicate(timeout=300)
    finally:
        driver.kill()
    assert driver.returncode == 0, err[-3000:]
    records = read_records(out)
    assert keys(records) == keys(local.records)
    assert rows(records) == rows(local.records)
    goal = busy[0].parent.name  # the task that was running there ran again on the head
    assert [r["host"] for r in records if r["goal"] == goal] == [HEAD]
