"""The runner of model-written code: secrets stay out, limits hold, the agent survives."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from autocoder import sandbox
from autocoder.exceptions import AutocoderError
from autocoder.sandbox import SAFE, isolation

ROOT = Path(__file__).resolve().parents[2]


def test_secrets_never_reach_the_child(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-4242")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-canary-4242")
    res = sandbox.python(
        ["-c", "import os; print(sorted(os.environ.items()))"], tmp_path, policy=SAFE
    )
    assert res.ok and "canary-4242" not in res.output
    code = (
        "import os; h = os.environ['HOME']; "
        f"print('autocoder-home-' in h, h != {str(Path.home())!r})"
    )
    home = sandbox.python(["-c", code], tmp_path, policy=SAFE).output.strip()
    assert home == "True True"  # a scratch HOME, not the user's


def test_timeout_kills_the_whole_group(tmp_path):
    marker = f"child-{uuid.uuid4().hex}"
    script = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)  # {marker}'])\n"
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    res = sandbox.python(["-c", script], tmp_path, timeout=1.0, policy=SAFE)
    assert res.timed_out and not res.ok and time.monotonic() - start < 10
    assert "timed out after 1 s" in res.output
    assert _gone(marker)  # the child it started, too


def test_memory_limit_is_contained(tmp_path):
    res = sandbox.python(["-c", "x = bytearray(4 * 1024**3)"], tmp_path, policy=SAFE)
    assert not res.ok and "MemoryError" in res.output


def test_long_output_keeps_head_and_tail(tmp_path):
    res = sandbox.python(
        ["-c", "print('START'); print('x' * 100000); print('END')"], tmp_path, policy=SAFE
    )
    assert res.ok and res.output.startswith("START") and res.output.rstrip().endswith("END")
    assert "characters cut" in res.output and len(res.output) < 5000


def test_stdin_is_empty_not_the_terminal(tmp_path):
    res = sandbox.run(
        [sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], tmp_path, policy=SAFE
    )
    assert res.ok and res.output.strip() == "''"


# ---- containment: each case with nothing changed outside the project and the agent alive --------
def _alive(marker: str) -> list[str]:
    """Processes whose command line holds `marker` (ours excepted)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    found.append(proc.name)
            except OSError:
                pass
    return found


def _gone(marker: str, within: float = 5.0) -> bool:
    """Whether no process holds `marker` any more, polled until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(marker) == []


@pytest.fixture
def outside(tmp_path):
    """A folder beside the project, standing for everything outside it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("untouched")
    (tmp_path / "project").mkdir()
    return folder


def _unchanged(folder: Path) -> bool:
    return (
        sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
        and (folder / "keep.txt").read_text() == "untouched"
    )


needs_isolation = pytest.mark.skipif(
    not sandbox.backend(), reason="no bubblewrap or user namespaces here"
)


@needs_isolation
def test_writes_outside_the_project_are_refused(tmp_path, outside):
    shm = f"autocoder-test-{uuid.uuid4().hex}"
    targets = [str(outside / "new.txt"), str(outside / "keep.txt")]
    code = f"""
import os
for path in [*{targets!r}, os.path.expanduser('~/../escape')]:
    try:
        open(path, 'w').write('pwned')
        print('WROTE', path)
    except OSError as exc:
        print('refused', exc.errno)
open('inside.txt', 'w').write('fine')
open('/dev/shm/{shm}', 'w').write('private')  # the run's own /dev/shm: works, and is gone after
"""
    res = sandbox.python(["-c", code], tmp_path / "project", policy=SAFE)
    assert res.ok and "WROTE" not in res.output and res.output.count("refused") == 3
    assert (tmp_path / "project" / "inside.txt").read_text() == "fine" and _unchanged(outside)
    assert not Path("/dev/shm", shm).exists()


def test_a_fork_bomb_is_contained(tmp_path):
    marker = f"forkbomb-{uuid.uuid4().hex}"
    code = (
        f"import os, time\n# {marker}\nwhile True:\n    try:\n        os.fork()\n"
        "    except OSError:\n        time.sleep(0.01)\n"
    )
    start = time.monotonic()
    res = sandbox.python(["-c", code], tmp_path, timeout=3.0, policy=SAFE)
    assert res.timed_out and time.monotonic() - start < 20
    assert _gone(marker)


def test_an_infinite_loop_is_stopped(tmp_path):
    res = sandbox.python(["-c", "while True: pass"], tmp_path, timeout=2.0, policy=SAFE)
    assert res.timed_out and not res.ok


def test_a_setsid_grandchild_dies_with_the_run(tmp_path):
    marker = f"orphan-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)  # {marker}'],\n"
        "                 start_new_session=True)\n"
        "print('started')\n"
    )
    res = sandbox.python(["-c", code], tmp_path, timeout=10.0, policy=SAFE)
    assert res.ok and "started" in res.output and not res.timed_out
    assert _gone(marker)


# The peak memory of a fresh process: in this one it is the whole session's peak, which hides
# any growth below it. The meter is checked too: a 200 MB block must show (ru_maxrss did not,
# after the suite had grown this process: a child keeps its parent's peak across exec).
PEAK = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from autocoder import sandbox

def peak_mb():  # VmHWM: this program's own peak (ru_maxrss keeps the forking parent's across exec)
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM:")).split()[1]) / 1024

code = "import sys\\nline = b'y' * 65535 + b'\\\\n'\\n"
code += "for _ in range(16384):\\n    sys.stdout.buffer.write(line)\\nprint('END')"
before = peak_mb()
res = sandbox.python(["-c", code], Path(sys.argv[2]), timeout=60.0, policy=sandbox.SAFE)
grown = peak_mb() - before
block = b"z" * (200 * 1024**2)
meter = peak_mb() - before - grown
print(json.dumps({"ok": res.ok, "output": res.output, "grown": grown, "meter": meter}))
"""


def test_a_gigabyte_of_output_costs_no_memory(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, str(ROOT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(proc.stdout.splitlines()[-1])
    output = found["output"]
    assert found["ok"] and output.rstrip().endswith("END")
    assert "cut" in output and len(output) <= sandbox.OUTPUT_LIMIT + 100
    assert found["meter"] > 150, found["meter"]  # the meter sees memory that is held
    assert found["grown"] < 100, found["grown"]  # 1 GB went through; under 100 MB was held


@needs_isolation
def test_no_network_even_to_the_hosts_loopback(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = (
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    print('CONNECTED')\nexcept OSError as exc:\n    print('blocked', exc)"
        )
        res = sandbox.python(["-c", code], tmp_path, policy=SAFE)
        assert res.ok and "blocked" in res.output and "CONNECTED" not in res.output
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody came


@needs_isolation
def test_a_canary_key_cannot_be_read_from_env_or_other_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-9911")
    code = (
        "import os, glob\nfound = [p for p in glob.glob('/proc/*/environ')\n"
        "         if b'canary-9911' in (open(p, 'rb').read() if os.access(p, os.R_OK) else b'')]\n"
        "print('env', 'canary-9911' in str(os.environ), 'procs', found)"
    )
    res = sandbox.python(["-c", code], tmp_path, policy=SAFE)
    assert res.ok and res.output.strip() == "env False procs []"


def test_without_isolation_runs_are_refused_unless_unsafe(tmp_path, monkeypatch):
    with pytest.raises(AutocoderError, match="--unsafe"):
        sandbox.python(["-c", "print(1)"], tmp_path, policy=sandbox.Sandbox(backend=""))
    unconfined = sandbox.Sandbox(unsafe=True, backend="")
    assert sandbox.python(["-c", "print(1)"], tmp_path, policy=unconfined).output.strip() == "1"
    monkeypatch.setattr(isolation, "backend", lambda: "")  # a machine that cannot isolate
    with pytest.raises(AutocoderError, match=r"bubblewrap.*--unsafe"):
        sandbox.require(False)
    assert sandbox.require(True) == unconfined
    from typer.testing import CliRunner

    from autocoder.cli import app

    result = CliRunner().invoke(
        app, ["run", "x", "-d", str(tmp_path / "p"), "--model", "replay:none"]
    )
    assert result.exit_code == 2 and "--unsafe" in result.output and not (tmp_path / "p").exists()


def test_require_gives_the_policy_of_the_best_backend_here():
    policy = sandbox.require(True)
    assert policy == sandbox.Sandbox(unsafe=True, backend=isolation.backend())
    assert policy.kind() == isolation.backend()


def test_a_policy_names_a_known_backend():
    assert sandbox.Sandbox(backend="unshare").kind() == "unshare"
    with pytest.raises(ValueError, match="unknown sandbox backend"):
        sandbox.Sandbox(backend="docker")


def test_the_backend_is_found_from_a_folder_the_sandbox_hides(tmp_path):
    """Started from a folder under /tmp or /home (which the sandbox hides), autocoder still finds
    its backend: the probe runs from the folder it confines, as every sandboxed run does."""
    here = isolation.backend()
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from autocoder.sandbox import isolation; print(isolation.backend())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert found == here


def test_pip_configuration_in_the_interpreters_prefix_is_seen_by_installs_only(
    tmp_path, monkeypatch
):
    from autocoder.sandbox import visible

    (tmp_path / "pip.conf").write_text("[global]\nindex-url = https://user:token@example/simple\n")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert str(tmp_path / "pip.conf") in visible.rules("/nonexistent", "/nonexistent")["blanked"]
    assert visible.rules("/nonexistent", "/nonexistent", network=True)["blanked"] == []


@pytest.mark.parametrize("kind", [k for k in isolation.BACKENDS if isolation.available(k)])
def test_a_rule_of_what_a_program_sees_is_one_entry_in_visible_py(tmp_path, monkeypatch, kind):
    """What adding (or dropping) a sandbox rule takes: one entry of sandbox/visible.py, and both
    backends show the program the new allow-list (/etc/hosts, here, taken off it)."""
    from autocoder.sandbox import visible

    box = sandbox.Sandbox(backend=kind)
    look = ["-c", "import os; print(os.path.exists('/etc/hosts'))"]
    assert sandbox.python(look, tmp_path, policy=box).output.strip() == "True"
    monkeypatch.setattr(visible, "ETC", [name for name in visible.ETC if name != "hosts"])
    assert sandbox.python(look, tmp_path, policy=box).output.strip() == "False"
