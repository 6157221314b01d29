import sys


def main():
    print(max(int(a) for a in sys.argv[1:]))


if __name__ == "__main__":
    main()
