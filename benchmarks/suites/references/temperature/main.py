import sys


def celsius_to_fahrenheit(c):
    return c * 9 / 5 + 32


def fahrenheit_to_celsius(f):
    return (f - 32) * 5 / 9


def main():
    if len(sys.argv) != 3 or sys.argv[2].upper() not in ("C", "F"):
        print("usage: python main.py VALUE C|F", file=sys.stderr)
        return
    value = float(sys.argv[1])
    result = (
        celsius_to_fahrenheit(value) if sys.argv[2].upper() == "C" else fahrenheit_to_celsius(value)
    )
    print(round(result, 1))


if __name__ == "__main__":
    main()
