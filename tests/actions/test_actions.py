"""The actions' declarations as every endpoint must take them."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from autocoder.actions import ACTIONS, CreateFile, tool_schema


def test_no_tool_schema_carries_a_regex_pattern():
    # llama-cpp-python's server (chatml-function-calling) turns a `pattern` into a grammar it
    # cannot parse ("unknown escape at \.py") and then dies: paths are checked on our side
    schemas = json.dumps([tool_schema(action) for action in ACTIONS])
    assert '"pattern"' not in schemas


@pytest.mark.parametrize("bad", ["../x.py", "Utils.py", "utils.txt", "a/b.py", ".hidden.py", ""])
def test_a_new_module_name_is_still_checked(bad):
    with pytest.raises(ValidationError, match="not a new module name"):
        CreateFile(path=bad, content="x = 1\n", test="")
    assert CreateFile(path="utils.py", content="x = 1\n", test="").path == "utils.py"
