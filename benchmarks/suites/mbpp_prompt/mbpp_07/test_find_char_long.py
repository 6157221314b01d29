from main import find_char_long


def test_find_char_long():
    assert find_char_long("Please move back to stream") == ["Please", "move", "back", "stream"]
    assert find_char_long("Jing Eco and Tech") == ["Jing", "Tech"]
    assert find_char_long("Jhingai wulu road Zone 3") == ["Jhingai", "wulu", "road", "Zone"]
