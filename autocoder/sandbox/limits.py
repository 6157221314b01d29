"""What one sandboxed run may use and what it may leave: rlimits on memory, CPU, file size and
processes, pids and memory cgroups where the system lets us make them, death with autocoder (a
parent-death signal), killing its whole tree, its scratch folders, and sweeping at the next start
what a killed autocoder left on disk.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from . import leftovers, tree

MEMORY_LIMIT = 2 * 1024**3  # address space, bytes
FILE_LIMIT = 64 * 1024**2  # largest file the child may write, bytes
# processes and threads of one run (pids cgroup; rlimit above what the user runs)
PROCESS_LIMIT = 128
# every process of one run together, what it keeps in its tmpfs folders included (memory cgroup)
MEMORY_TOTAL = 3 * 1024**3
# v1 pids and memory controllers, or a v2 hierarchy
CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup")
CGROUP_LIMITS = {  # a file a controller lacks here is skipped: the others still hold
    "pids.max": str(PROCESS_LIMIT),
    "memory.limit_in_bytes": str(MEMORY_TOTAL),  # v1; then swap included
    "memory.memsw.limit_in_bytes": str(MEMORY_TOTAL),
    "memory.max": str(MEMORY_TOTAL),  # v2
    "memory.swap.max": "0",
}
PR_SET_PDEATHSIG = 1


# ---- scratch folders ---------------------------------------------------------------------------
@contextlib.contextmanager
def scratch(kind: str) -> Iterator[Path]:
    """A private temporary folder named for this process, so that one a SIGKILL left behind is
    recognised and removed by the next start (`sweep`)."""
    # not TemporaryDirectory: its clean-up recurses, and stops on what a program can leave
    # (a thousand nested folders, a path past PATH_MAX)
    tmp = tempfile.mkdtemp(prefix=f"autocoder-{kind}-{os.getpid()}-")
    try:
        yield Path(tmp)
    finally:
        tree.rmtree(tmp)


def _dead(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except (ValueError, OverflowError):
        return False
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def sweep() -> None:
    """Remove the scratch folders and cgroups of autocoder processes that are gone (killed)."""
    for path in Path(tempfile.gettempdir()).glob("autocoder-*-*-*"):
        parts = path.name.split("-")
        try:
            mine = path.lstat().st_uid == os.getuid() and path.is_dir() and not path.is_symlink()
        except OSError:
            continue
        if mine and _dead(parts[2]):
            tree.rmtree(path)
    for root in CGROUP_ROOTS:
        for group in Path(root).glob("autocoder-*-*"):
            if _dead(group.name.split("-")[1]):
                kill_cgroup(group)


# ---- limits ------------------------------------------------------------------------------------
def user_processes() -> int:
    """How many processes this user runs now (RLIMIT_NPROC counts them all, not just the run's)."""
    uid = os.getuid()
    if uid == 0:  # root ignores RLIMIT_NPROC (the cgroup limits it): no need to count
        return 0
    try:
        return sum(
            1 for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == uid
        )
    except OSError:
        return 0


def _group(root: str) -> Path | None:
    """A fresh cgroup under `root` with the limits its controllers offer, if we may make one."""
    group = Path(root) / f"autocoder-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
    except OSError:
        return None
    limited = False
    for name, value in CGROUP_LIMITS.items():
        with contextlib.suppress(OSError):
            (group / name).write_text(value)
            limited = True
    if not limited:
        with contextlib.suppress(OSError):
            group.rmdir()
        return None
    return group


def cgroups() -> list[Path]:
    """Fresh cgroups limiting the processes (PROCESS_LIMIT) and the memory (MEMORY_TOTAL) of one
    run, where the system lets us make them: the v1 controllers' own, or one in a v2 hierarchy."""
    v1 = [g for root in CGROUP_ROOTS[:2] if os.path.isdir(root) and (g := _group(root))]
    if v1 or any(os.path.isdir(root) for root in CGROUP_ROOTS[:2]):
        return v1
    unified = _group(CGROUP_ROOTS[2])
    return [unified] if unified else []


def preexec(cpu_s: int, nproc: int, groups: list[Path], parent: int) -> Callable[[], None]:
    """What the child does between fork and exec: die with autocoder, join the cgroup, take the
    rlimits. Built here, in the parent, so that the child loads nothing."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    joins = [str(group / "cgroup.procs") for group in groups]

    def limit() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # autocoder killed: the run dies with it
        if os.getppid() != parent:  # it died before the line above took effect
            os._exit(137)
        for join in joins:
            # where it cannot join, the rlimits and the namespaces still hold
            with contextlib.suppress(OSError), open(join, "w") as fh:
                fh.write(str(os.getpid()))
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # not enforced for root: the cgroup is
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return limit


# ---- after the run -----------------------------------------------------------------------------
def kill_children(pid: int) -> None:
    """SIGKILL the children of `pid`: for a sandboxed run, the init of its PID namespace, whose
    end the kernel makes the end of every process in it, whatever session or parent-death signal
    they gave themselves (where no cgroup holds them: an unprivileged user's run)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry), signal.SIGKILL)


def kill_group(pgid: int) -> None:
    """SIGKILL a process group (the run's session), if anything of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_cgroup(group: Path) -> None:
    """Kill every process left in the cgroup (setsid or not), then remove it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            break
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    with contextlib.suppress(OSError):
        group.rmdir()


def survey(root: Path) -> leftovers.Survey:
    """What of the project is the user's before a run (see `defuse`)."""
    return leftovers.survey(root)


def defuse(root: Path, before: leftovers.Survey) -> list[str]:
    """Undo what the program left for later (`leftovers`): setuid and setgid bits it set (run by
    a root autocoder it owns what it writes, and a setuid-root shell would outlive the run), and
    repository-control folders it made (`.git` with hooks, for the user's next `git status`)."""
    return leftovers.defuse(root, before)
