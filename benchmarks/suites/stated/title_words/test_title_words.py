from main import title_words


def test_title_words():
    assert title_words("hello world") == "Hello World"
    assert title_words("a") == "A"
    assert title_words("the quick fox") == "The Quick Fox"
