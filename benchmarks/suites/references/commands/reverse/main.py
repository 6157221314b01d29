import sys


def main():
    print(sys.argv[1][::-1])


if __name__ == "__main__":
    main()
