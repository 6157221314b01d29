from main import decrypt, encrypt


def test_encrypt():
    assert encrypt("abc", 1) == "bcd"
    assert encrypt("Zz", 1) == "Aa"
    assert encrypt("Hello, World!", 3) == "Khoor, Zruog!"


def test_round_trip():
    text = "The quick brown fox jumps over the lazy dog 123."
    for shift in (1, 7, 13, 25, 52):
        assert decrypt(encrypt(text, shift), shift) == text
