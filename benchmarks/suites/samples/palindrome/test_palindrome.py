from main import is_palindrome


def test_palindromes():
    assert is_palindrome("racecar") is True
    assert is_palindrome("A man, a plan, a canal: Panama") is True
    assert is_palindrome("") is True


def test_not_palindromes():
    assert is_palindrome("hello") is False
    assert is_palindrome("ab") is False
