from main import to_fahrenheit


def test_to_fahrenheit():
    assert to_fahrenheit(100) == 212.0
    assert to_fahrenheit(0) == 32.0
    assert to_fahrenheit(-40) == -40.0
    assert to_fahrenheit(20) == 68.0
