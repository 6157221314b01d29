def reverse_words(sentence):
    return " ".join(reversed(sentence.split()))


def main():
    print(reverse_words("hello big world"))


if __name__ == "__main__":
    main()
