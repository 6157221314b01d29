def is_palindrome(text):
    chars = [c.lower() for c in text if c.isalnum()]
    return chars == chars[::-1]


def main():
    print(is_palindrome("racecar"))


if __name__ == "__main__":
    main()
