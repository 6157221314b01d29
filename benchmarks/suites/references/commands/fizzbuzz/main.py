import sys


def main():
    n = int(sys.argv[1])
    print("Fizz" * (n % 3 == 0) + "Buzz" * (n % 5 == 0) or n)


if __name__ == "__main__":
    main()
