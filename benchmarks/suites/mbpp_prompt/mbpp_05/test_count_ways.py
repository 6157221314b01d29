from main import count_ways


def test_count_ways():
    assert count_ways(2) == 3
    assert count_ways(8) == 153
    assert count_ways(12) == 2131
