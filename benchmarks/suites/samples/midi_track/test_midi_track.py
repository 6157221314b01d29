import struct
import subprocess
import sys
from pathlib import Path


def varlen(body, i):
    """A MIDI variable-length number at i: (value, next index)."""
    value = 0
    while True:
        b = body[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, i


def read_midi(data):
    """A small standard MIDI file reader: (ticks per beat, tracks of (abs tick, message bytes))."""
    assert data[:4] == b"MThd", "not a MIDI file"
    length, _fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    pos, tracks = 8 + length, []
    while pos < len(data) and len(tracks) < ntracks:
        kind, size = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        body, pos = data[pos + 8 : pos + 8 + size], pos + 8 + size
        if kind != b"MTrk":
            continue
        events, i, tick, status = [], 0, 0, 0
        while i < len(body):
            delta, i = varlen(body, i)
            tick += delta
            if body[i] == 0xFF:
                meta = body[i + 1]
                n, i = varlen(body, i + 2)
                events.append((tick, bytes([0xFF, meta]) + body[i : i + n]))
                i += n
            elif body[i] in (0xF0, 0xF7):
                n, i = varlen(body, i + 1)
                i += n
            else:
                if body[i] >= 0x80:
                    status, i = body[i], i + 1
                size = 1 if status >> 4 in (0xC, 0xD) else 2
                events.append((tick, bytes([status]) + body[i : i + size]))
                i += size
        tracks.append(events)
    return division, tracks


def test_two_minutes_many_instruments_polyphonic():
    subprocess.run([sys.executable, "main.py"], timeout=120, check=True)
    mids = sorted(Path(".").glob("*.mid"))
    assert mids, "main.py wrote no .mid file"
    division, tracks = read_midi(mids[0].read_bytes())
    events = sorted((t, m) for track in tracks for t, m in track)
    tempo = 500000
    for _t, m in events:
        if m[:2] == b"\xff\x51":
            tempo = int.from_bytes(m[2:5], "big")
            break
    notes, on, channels, programs, polyphony = 0, {}, set(), set(), 0
    for t, m in events:
        kind = m[0] >> 4
        if kind == 0x9 and m[2] > 0:
            notes += 1
            on[(m[0] & 15, m[1])] = t
            channels.add(m[0] & 15)
            polyphony = max(polyphony, len(on))
        elif kind == 0x8 or (kind == 0x9 and m[2] == 0):
            on.pop((m[0] & 15, m[1]), None)
        elif kind == 0xC:
            programs.add(m[1])
    seconds = events[-1][0] / division * tempo / 1e6
    assert 110 <= seconds <= 135, f"{seconds:.0f} s long"
    assert notes >= 500, f"{notes} notes"
    assert len(channels) >= 2 and len(programs) >= 2, "one instrument"
    assert polyphony >= 3, "not polyphonic"
