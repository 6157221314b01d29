import sys


def total(args):
    values = [float(a) for a in args]
    s = sum(values)
    return int(s) if s == int(s) else s


def main():
    try:
        print(total(sys.argv[1:]))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
