# ruff: noqa: E712  (MBPP's own asserts, == True and == False as the task states them)
from main import differ_At_One_Bit_Pos


def test_differ_at_one_bit_pos():
    assert differ_At_One_Bit_Pos(13, 9) == True
    assert differ_At_One_Bit_Pos(15, 8) == False
    assert differ_At_One_Bit_Pos(2, 4) == False
