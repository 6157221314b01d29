import sys


def main():
    print(len(sys.argv) - 1)


if __name__ == "__main__":
    main()
