def encrypt(text, shift):
    out = []
    for ch in text:
        if ch.isascii() and ch.isalpha():
            base = ord("A") if ch.isupper() else ord("a")
            out.append(chr((ord(ch) - base + shift) % 26 + base))
        else:
            out.append(ch)
    return "".join(out)


def decrypt(text, shift):
    return encrypt(text, -shift)


def main():
    print(encrypt("Hello, World!", 3))


if __name__ == "__main__":
    main()
