import pytest
from main import Stack


def test_last_in_first_out():
    s = Stack()
    for i in range(3):
        s.push(i)
    assert s.size() == 3 and s.peek() == 2
    assert [s.pop(), s.pop(), s.pop()] == [2, 1, 0]
    assert s.is_empty()


def test_empty_stack_raises():
    s = Stack()
    assert s.is_empty() and s.size() == 0
    with pytest.raises(IndexError):
        s.pop()
    with pytest.raises(IndexError):
        s.peek()
