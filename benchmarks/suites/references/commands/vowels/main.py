import sys


def main():
    print(sum(c in "aeiouAEIOU" for c in sys.argv[1]))


if __name__ == "__main__":
    main()
