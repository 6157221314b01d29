import sys


def counts(text):
    return len(text.splitlines()), len(text.split()), len(text)


def main():
    if len(sys.argv) != 2:
        print("usage: python main.py FILE", file=sys.stderr)
        sys.exit(1)
    try:
        with open(sys.argv[1], encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(*counts(text))


if __name__ == "__main__":
    main()
