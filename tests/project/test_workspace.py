import os

import pytest

from autocoder.project.lint import format_code
from autocoder.project.workspace import PathRefused, Workspace


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    return Workspace(root)


@pytest.mark.parametrize(
    "path",
    ["../evil.py", "/etc/passwd", "a/../../x.py", "bad\x00.py", ".autocoder/x", ".git/config", ""],
)
def test_escaping_or_reserved_paths_are_refused(ws, path):
    with pytest.raises(PathRefused):
        ws.write(path, "x = 1\n")
    assert not (ws.root.parent / "evil.py").exists()


def test_symlinks_out_of_the_project_are_refused(ws, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    (ws.root / "link.py").symlink_to(outside)
    (ws.root / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    (ws.root / "dir").symlink_to(tmp_path)
    for path in ("link.py", "dangling.py", "dir/outside.py"):
        with pytest.raises(PathRefused):
            ws.write(path, "x = 2\n")
    assert outside.read_text() == "secret = 1\n"
    assert not (tmp_path / "nowhere.py").exists()


def test_write_is_atomic_and_formats_python(ws):
    ws.write("main.py", "import sys,os\ndef f( x ):\n  return x")
    assert ws.read("main.py") == "import os\nimport sys\n\n\ndef f(x):\n    return x\n"
    assert [p for p in os.listdir(ws.root) if p.endswith(".tmp")] == []


def test_code_that_does_not_parse_is_kept_as_written():
    assert format_code("def f(:\n") == "def f(:\n"


def test_a_failed_write_leaves_the_old_file_intact(ws, monkeypatch):
    ws.write("data.txt", "old\n")

    def crash(*args, **kwargs):
        raise OSError("disk died mid-write")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        ws.write("data.txt", "new\n")
    assert ws.read("data.txt") == "old\n"
    assert [p for p in os.listdir(ws.root) if p.endswith(".tmp")] == []


def test_undo_restores_the_last_snapshot_byte_for_byte(ws):
    (ws.root / "keep.txt").write_bytes(b"user data \x00\xff\n")
    ws.write("main.py", "x = 1\n")
    first = ws.snapshot()
    assert ws.snapshot() is None  # nothing changed: no second snapshot
    ws.write("main.py", "x = 2\n")
    (ws.root / "keep.txt").write_bytes(b"clobbered")
    ws.write("new.py", "y = 1\n")
    restored = ws.undo()
    assert restored.snapshot.name == first.name
    assert ws.read("main.py") == "x = 1\n"
    assert (ws.root / "keep.txt").read_bytes() == b"user data \x00\xff\n"
    assert not (ws.root / "new.py").exists()
    with pytest.raises(FileNotFoundError):
        ws.undo()


def test_undo_skips_a_snapshot_equal_to_now(ws):
    ws.write("main.py", "x = 1\n")
    ws.snapshot()
    ws.write("main.py", "x = 2\n")
    ws.snapshot()  # taken before a step that then changed nothing
    ws.undo()
    assert ws.read("main.py") == "x = 1\n"


def test_files_skips_tool_folders(ws):
    ws.write("main.py", "x = 1\n")
    ws.snapshot()
    (ws.root / "__pycache__").mkdir()
    (ws.root / "__pycache__" / "main.pyc").write_bytes(b"\0")
    ws.write("pkg/util.py", "y = 1\n")
    assert ws.files() == ["main.py", "pkg/util.py"]
