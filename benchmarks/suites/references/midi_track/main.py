import struct


def var_len(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def track(events):
    """events: (abs tick, bytes) -> an MTrk chunk."""
    body, last = b"", 0
    for tick, msg in sorted(events, key=lambda e: (e[0], e[1][0] >> 4 != 8)):
        body += var_len(tick - last) + msg
        last = tick
    body += var_len(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def song(beats=240, division=480):
    """120 bpm, 240 beats = 2 minutes: chords on a piano, a melody on strings, a bass line."""
    events = [(0, b"\xff\x51\x03" + (500000).to_bytes(3, "big"))]
    parts = [(0, 0, [60, 64, 67]), (1, 48, [72]), (2, 32, [36])]
    for channel, program, _base in parts:
        events.append((0, bytes([0xC0 | channel, program])))
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    for beat in range(beats):
        for channel, _, base in parts:
            step = scale[(beat * (channel + 1)) % len(scale)]
            for note in base:
                pitch = note + (step if channel else (beat // 4 % 4) * 2)
                events.append((beat * division, bytes([0x90 | channel, pitch, 80])))
                events.append(((beat + 1) * division - 10, bytes([0x80 | channel, pitch, 0])))
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, division)
    return header + track(events)


def main():
    with open("output.mid", "wb") as fh:
        fh.write(song())


if __name__ == "__main__":
    main()
