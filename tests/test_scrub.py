"""The one scrubber (autocoder/scrub.py): this machine's places in every spelling a program prints
them, the user's name, and secrets by value and by shape, out of the prompt, a trajectory, a
cassette and a page."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from autocoder import scrub
from autocoder.loop import prompt
from autocoder.loop.planner import plan
from autocoder.sandbox import SAFE
from autocoder.show.clean import Cleaner
from autocoder.state import FileReport, Observation, ProcResult

KEYS = [
    "sk-" + "a1B2c3D4" * 4,
    "sk-ant-api03-" + "Zz9_" * 8,
    "sk-proj-" + "q" * 30,
    "AIza" + "b" * 35,
    "ghp_" + "C" * 36,
    "xoxb-1234567890-abcdefghij",
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "hf_" + "d" * 34,
]
NAMED = [
    ("api_key = ", "0123456789abcdef0123456789abcdef"),
    ('"token": "', "dGhpcyBpcyBhIHNlY3JldCB0b2tlbjEyMw=="),
    ("X-Secret: ", "9f86d081884c7d659a2feaa0c55ad015"),
    ("Authorization: Bearer ", "abc.DEF-ghi_jkl.mnopqrstu"),
]


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A project reached through a link (as /tmp is on macOS), and a home folder of the test's."""
    real = tmp_path / "real" / "proj"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    home = tmp_path / "home" / "alicexyz"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(scrub.getpass, "getuser", lambda: "alicexyz")
    scrub._user_pattern.cache_clear()
    yield tmp_path / "link" / "proj", real, home
    scrub._user_pattern.cache_clear()


def spellings(path: str) -> list[str]:
    """A folder as programs print it: plain, with `/./` and `//`, JSON-escaped, percent-encoded."""
    return [
        path,
        path.replace("/", "/./", 2),
        path.replace("/", "//"),
        json.dumps(path)[1:-1].replace("/", "\\/"),
        urllib.parse.quote(path, safe=""),
        urllib.parse.quote(path),
    ]


def test_every_spelling_of_the_project_and_home_is_replaced(places):
    linked, real, home = places
    clean = scrub.for_project(linked).text
    for root in (str(linked), str(real)):  # as given and resolved
        for form in spellings(root):
            sep = "%2F" if "%2F" in form else "\\/" if "\\/" in form else "/"
            assert clean(f"at {form}{sep}main.py:3") == "at main.py:3", form
            assert clean(f"cwd={form} done") == "cwd=. done", form
    for form in spellings(str(home)):
        assert "alicexyz" not in clean(f"{form}/.bashrc and {form}"), form
    assert clean(f"{home}/x and {home}") == "~/x and ~"
    assert clean("user alicexyz logged in") == "user <user> logged in"
    assert clean(f"{real}2/x") == f"{real}2/x"  # another folder that shares its start


def test_generic_user_names_and_system_paths_stay(monkeypatch):
    monkeypatch.setattr(scrub.getpass, "getuser", lambda: "root")
    scrub._user_pattern.cache_clear()
    try:
        assert scrub.Scrubber().text("the root of /usr/bin/python") == "the root of /usr/bin/python"
    finally:
        scrub._user_pattern.cache_clear()


@pytest.mark.parametrize("key", KEYS)
def test_key_shapes_are_scrubbed_wherever_they_stand(key):
    for text in (key, f"key={key}", f'{{"k": "{key}"}}', f"x {key}."):
        out = scrub.Scrubber().text(text)
        assert key not in out and scrub.SCRUBBED in out, out


@pytest.mark.parametrize("before, value", NAMED)
def test_hex_and_base64_next_to_key_or_token_are_scrubbed(before, value):
    out = scrub.shapes(f"{before}{value}")
    assert value not in out and out.startswith(before.strip()[:5])


def test_ordinary_text_is_left_alone():
    for text in ("the key point is 42", "token = next(tokens)", "sha: 1234", "monkey business"):
        assert scrub.shapes(text) == text


def test_a_given_secret_goes_in_all_its_spellings(monkeypatch):
    secret = "s3cr/et+value=="
    s = scrub.Scrubber([secret])
    for form in (secret, urllib.parse.quote(secret, safe=""), secret.replace("/", "\\/")):
        assert s.text(f"[{form}]") == f"[{scrub.SCRUBBED}]"
    monkeypatch.setenv("MY_SERVICE_TOKEN", "plainvalue123")
    assert scrub.Scrubber().text("got plainvalue123") == f"got {scrub.SCRUBBED}"


def test_the_prompt_never_holds_a_key_the_home_folder_or_the_user(places):
    _, _, home = places
    leak = f"{KEYS[0]} {home}//.ssh alicexyz"
    obs = Observation(
        ("main.py",),
        (FileReport("main.py", "print(1)\n", f"line 1: {leak}"),),
        None,
        ProcResult(1, f"Traceback: {leak}", 0.1),
    )
    text = json.dumps(prompt.messages("goal", obs, plan(obs), []))
    assert KEYS[0] not in text and str(home) not in text and "alicexyz" not in text


def test_a_page_never_shows_a_machine_path_in_any_spelling(places, tmp_path):
    linked, _, home = places
    cleaner = Cleaner(linked)
    scratch = "/tmp/autocoder-home-x1/.cache/f.txt"
    for form in (*spellings(scratch), *spellings(str(home))):
        out = cleaner.text(f"see {form}")
        assert "autocoder-home-x1" not in out and "alicexyz" not in out, out
    assert cleaner.text(f"{linked}/main.py") == "main.py"


def test_what_a_program_prints_reaches_the_observation_scrubbed(places):
    from autocoder.project.observe import observe
    from autocoder.project.workspace import Workspace

    linked, _, home = places
    ws = Workspace(linked)
    ws.write(
        "main.py",
        "import json, os, urllib.parse\n\n\n"
        "def main():\n"
        "    here = os.getcwd()\n"
        "    print(here.replace('/', '//'), here.replace('/', '/./', 2))\n"
        "    print(json.dumps(here).replace('/', '\\\\/'), urllib.parse.quote(here, safe=''))\n"
        f"    print({str(home)!r} + '/.ssh', {KEYS[0]!r}, 'alicexyz')\n\n\n"
        'if __name__ == "__main__":\n    main()\n',
        fmt=False,
    )
    out = observe(ws, policy=SAFE).main.output
    assert "proj" not in out and "alicexyz" not in out and KEYS[0] not in out, out
    assert "~/.ssh" in out and scrub.SCRUBBED in out


def test_program_output_names_no_place_of_the_python_that_ran_it():
    """A pytest traceback names the venv's site-packages: the prompt told the model where
    autocoder is installed, and differed between two clones (the bench cassette missed)."""
    import os
    import sys

    from autocoder import scrub

    here = os.path.dirname(os.path.abspath(scrub.__file__))
    text = (
        f"{sys.prefix}/lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule\n"
        f"{sys.base_prefix}/lib/python3.11/importlib/__init__.py:126: in import_module\n"
        f"{here}/_tool.py:12\n"
    )
    cleaned = scrub.for_project("/nonexistent/project").text(text)
    for place in (sys.prefix, sys.base_prefix, here):
        assert place not in cleaned
    assert "_pytest/python.py:528" in cleaned and "<python>/lib/python3.11/importlib" in cleaned


def test_memory_addresses_of_objects_are_not_in_program_output():
    """They differ from run to run: a prompt holding one is never asked, cached or replayed the
    same way twice (pytest prints `<built-in method strip of str object at 0x7f...>`)."""
    from autocoder import scrub

    text = "E    +  where <built-in method strip of str object at 0x7f550cd53c60>() = x"
    assert scrub.for_project("/nonexistent").text(text) == (
        "E    +  where <built-in method strip of str object at 0x...>() = x"
    )
