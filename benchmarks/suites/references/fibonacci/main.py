def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def main():
    print([fib(n) for n in range(10)])


if __name__ == "__main__":
    main()
