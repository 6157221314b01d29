import sys


def word_count(text):
    counts = {}
    for raw in text.split():
        word = raw.strip(".,!?;:").lower()
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts


def main():
    counts = word_count(sys.stdin.read())
    for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{word} {n}")


if __name__ == "__main__":
    main()
