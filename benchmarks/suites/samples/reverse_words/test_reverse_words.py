from main import reverse_words


def test_reverses_order():
    assert reverse_words("hello big world") == "world big hello"


def test_extra_spaces_dropped():
    assert reverse_words("  one   two ") == "two one"


def test_single_and_empty():
    assert reverse_words("alone") == "alone"
    assert reverse_words("") == ""
