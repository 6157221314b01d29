def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def main():
    print([n for n in range(50) if is_prime(n)])


if __name__ == "__main__":
    main()
