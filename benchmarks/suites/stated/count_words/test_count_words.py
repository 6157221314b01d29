from main import count_words


def test_count_words():
    assert count_words("hello big world") == 3
    assert count_words("") == 0
    assert count_words("  spaced   out ") == 2
    assert count_words("one") == 1
