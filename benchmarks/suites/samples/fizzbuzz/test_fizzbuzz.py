from main import fizzbuzz


def test_first_fifteen():
    assert fizzbuzz(15) == [
        "1",
        "2",
        "Fizz",
        "4",
        "Buzz",
        "Fizz",
        "7",
        "8",
        "Fizz",
        "Buzz",
        "11",
        "Fizz",
        "13",
        "14",
        "FizzBuzz",
    ]


def test_length_and_empty():
    assert len(fizzbuzz(100)) == 100
    assert fizzbuzz(0) == []


def test_multiples():
    out = fizzbuzz(90)
    assert out[89] == "FizzBuzz" and out[32] == "Fizz" and out[49] == "Buzz" and out[51] == "52"
