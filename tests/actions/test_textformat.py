import re

import pytest

from autocoder.actions import ACTIONS, CreateProject, Finish, ReplaceLines, WriteFile
from autocoder.actions.textformat import FormatError, grammar, parse

from ..conftest import CREATE, GOOD_MAIN, reply


def test_parses_code_blocks_verbatim():
    thought, name, args = parse(CREATE, [CreateProject])
    assert (thought, name) == ("scripted", "create_project")
    assert args["main"] == GOOD_MAIN


def test_line_fields_and_ints_are_validated():
    text = reply("replace_lines", path="main.py", start="2", end="3", content="x = 1\ny = 2\n")
    _, _, args = parse(text, [ReplaceLines])
    assert args["start"] == 2 and args["end"] == 3 and args["content"] == "x = 1\ny = 2\n"
    with pytest.raises(FormatError, match="start"):
        parse(
            reply("replace_lines", path="main.py", start="two", end="3", content="x\ny\n"),
            [ReplaceLines],
        )


@pytest.mark.parametrize(
    "text, message",
    [
        ("just some prose", "no `Action:` line"),
        ("Action: rm_rf\n", "unknown action 'rm_rf'"),
        ("Action: write_file\npath: main.py\n", "missing field `content`"),
        ("Action: write_file\npath: main.py\ncontent:\n```python\nx = 1\n", "not closed"),
        ("Action: write_file\nfile: main.py\n", "expected `path: <value>`"),
        ("Action: write_file\npath: main.py\ncontent:\nx = 1\n", "fenced block"),
    ],
)
def test_malformed_replies_say_what_is_wrong(text, message):
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace("`", "`")):
        parse(text, [WriteFile])


def test_action_outside_the_offered_set_is_refused():
    with pytest.raises(FormatError, match="choose one of: create_project"):
        parse(reply("finish", reason="done"), [CreateProject])


def test_every_action_has_a_grammar_rule_and_a_description():
    g = grammar(ACTIONS)
    for action in ACTIONS:
        assert f'"{action.name}\\n"' in g and (action.__doc__ or "").strip()
        for field in action.model_fields:
            assert f'"{field}:' in g


def test_grammar_names_every_offered_action_once():
    g = grammar([WriteFile, Finish])
    assert '"write_file\\n"' in g and '"finish\\n"' in g and "create_project" not in g
    assert g.startswith("root ::=")


def test_narrowed_paths_become_grammar_choices_and_are_validated():
    from autocoder.actions import narrow

    only_test = narrow(WriteFile, ("main_test.py",))
    g = grammar([only_test])
    assert '( "main_test.py" )' in g
    assert (
        '"content:\\n```python\\n" "from main import " '
        'v-ident ( ", " v-ident ){0,5} "\\n\\n\\ndef test_"' in g
    )
    with pytest.raises(FormatError, match=re.escape("Input should be 'main_test.py'")):
        parse(reply("write_file", path="main.py", content="x = 1\ny = 2\n"), [only_test])
    both = narrow(WriteFile, ("main.py", "main_test.py"))
    assert '( "main.py" | "main_test.py" )' in grammar([both])
    assert narrow(WriteFile, ("main.py",)) is narrow(WriteFile, ("main.py",))  # cached, not rebuilt


def test_create_project_test_block_starts_with_the_import():
    assert (
        '"test:\\n```python\\n" "from main import " '
        'v-ident ( ", " v-ident ){0,5} "\\n\\n\\ndef test_"' in grammar([CreateProject])
    )


def test_a_reply_begun_inside_a_code_block_is_finished_by_the_continuation_grammar():
    from autocoder.actions import CreateProject
    from autocoder.actions.textformat import grammar

    prefix = 'Thought: t\nAction: create_project\nmain:\n```python\ndef f():\n    """Doc."""\n    '
    rules = grammar([CreateProject], prefix)
    root = rules.splitlines()[0]
    assert root.startswith('root ::= "    " [a-ce-zA-Z_] code "\\n```\\n" "test:\\n```python\\n"')
    assert "Thought" not in root
    with pytest.raises(ValueError, match="must open a code block"):
        grammar([CreateProject], "Thought: t\nAction: finish\n")


def test_the_reply_model_of_several_actions_is_their_discriminated_union():
    """The Instructor model and the named `act` tool: one of the offered actions, chosen by name."""
    from pydantic import ValidationError

    from autocoder.actions import Finish, WriteFile, from_reply, narrow, reply_model

    reply = reply_model([Finish, narrow(WriteFile, ("main.py",))])
    parsed = reply.model_validate({"thought": "t", "call": {"action": "finish", "reason": "r"}})
    assert from_reply(parsed) == ("t", "finish", {"reason": "r"})
    with pytest.raises(ValidationError):
        reply.model_validate({"thought": "t", "call": {"action": "delete_file", "path": "x"}})
