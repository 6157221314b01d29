from main import reverse_string


def test_reverse_string():
    assert reverse_string("abc") == "cba"
    assert reverse_string("") == ""
    assert reverse_string("racecar") == "racecar"
    assert reverse_string("ab c") == "c ba"
