#!/usr/bin/env python3
"""Prints the strings of the unicode_loose golden test, one hex-encoded UTF-8 string per line.

The strings are random (fixed seed) but aimed at what the collator does beyond one code point at
a time: contractions from x/text's root table (whole, cut short, and with combining marks put
between their parts, which UCA's discontiguous matching looks past), combining marks in and out
of canonical order, Hangul syllables and jamo, characters that collate as their compatibility
decomposition, expansions, ideographs (implicit weights), ignorables, spaces and tabs (trailing
spaces are trimmed, tabs are not).

Only code points of Unicode 13.0 or earlier are drawn, so that the Go 1.19 that computes the keys
and the Unicode 15.0 data of Vitess agree on them. See regenerate.sh.
"""

import random
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from gen_tables import ctype, parse, root_elements  # noqa: E402

COUNT = 3000  # including the 120 long ones
SEED = 20261122

MARKS = (
    list(range(0x300, 0x370))
    + list(range(0x483, 0x488))
    + list(range(0x591, 0x5BE))
    + list(range(0x610, 0x61B))
    + list(range(0x64B, 0x660))
    + [0x93C, 0x94D, 0x951, 0x952, 0x953, 0x954]
    + list(range(0xE31, 0xE3B))
    + list(range(0xE47, 0xE4F))
    + list(range(0xEB1, 0xEBD))
    + list(range(0xF71, 0xF85))
    + list(range(0x1DC0, 0x1DFA))
    + list(range(0x20D0, 0x20F1))
    + list(range(0x302A, 0x3030))
    + [0x3099, 0x309A]
    + list(range(0xFE20, 0xFE30))
)
PLAIN = (
    [ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"]
    + [ord(c) for c in " \t\n-_.,;:!?'\"()[]{}@#$%&*/\\+=<>|~^`"]
    + [0x0, 0x7F, 0xA0, 0xAD, 0xB7, 0xDF, 0xE6, 0xF0, 0xFE, 0x131, 0x130, 0x138, 0x149]
    + [0x391, 0x3B1, 0x3C2, 0x3C3, 0x410, 0x418, 0x419, 0x430, 0x438, 0x439, 0x5D0, 0x627, 0x644]
    + [0x915, 0x930, 0xE01, 0xE40, 0xE44, 0xE81, 0xEC0, 0xF40, 0xF42, 0xF66, 0x1100, 0x1161]
    + [0x11A8, 0x3131, 0x314F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xFFFD, 0x1F600]
    + [0x4E00, 0x4E8C, 0x9FA5, 0x9FCC, 0x9FEF, 0x3400, 0x4DB5, 0x20000, 0x2A6D6, 0xF900]
    + [0xFA6D, 0x2F800, 0xE000, 0xF8FF, 0x10FFFD, 0xFFFF, 0x1D11E, 0x10400, 0x10428]
    + [0xAC00, 0xAC01, 0xB098, 0xD7A3, 0xD4DB]
)


def contractions(entries, elems):
    """Every contraction of the root table, as text."""
    found = set()
    for cp, e in enumerate(elems):
        if ctype(e) != "contraction":
            continue
        n = e & 0xF
        index = (e >> 4) & 0xFFF

        def walk(states, n, prefix):
            for i in range(n):
                lo, hi, nxt, idx = entries[states + i]
                if nxt != 0:
                    seq = prefix + bytes([lo])
                    if idx != 0xFF:
                        found.add(seq)
                    walk(states + hi + n, nxt, seq)
                else:
                    for b in range(lo, hi + 1):
                        found.add(prefix + bytes([b]))

        walk(index, n, chr(cp).encode())
    return sorted(s.decode() for s in found if valid(s))


def valid(b):
    try:
        b.decode()
        return True
    except UnicodeDecodeError:
        return False


def main():
    expand, contract, values, lookup, entries, _, _ = parse(
        sys.argv[1] if len(sys.argv) > 1 else "/usr/share/gocode/src/golang.org/x/text/collate/tables.go"
    )
    elems = root_elements(values, lookup)
    seqs = contractions(entries, elems)
    decomposing = [cp for cp, e in enumerate(elems) if ctype(e) == "decompose"]
    expanding = [cp for cp, e in enumerate(elems) if ctype(e) == "expansion"]
    rng = random.Random(SEED)
    marks = [chr(m) for m in MARKS]

    def piece():
        r = rng.random()
        if r < 0.30:
            s = rng.choice(seqs)
            if len(s) > 1 and rng.random() < 0.5:
                # Marks between the first code point and the rest of the contraction.
                cut = rng.randint(1, len(s) - 1)
                s = s[:cut] + "".join(rng.choice(marks) for _ in range(rng.randint(1, 3))) + s[cut:]
            elif len(s) > 1 and rng.random() < 0.3:
                s = s[: rng.randint(1, len(s) - 1)]
            return s
        if r < 0.50:
            return rng.choice(marks)
        if r < 0.60:
            return chr(rng.choice(decomposing))
        if r < 0.70:
            return chr(rng.choice(expanding))
        return chr(rng.choice(PLAIN))

    strings = set()
    # Every contraction alone, then random mixes.
    for s in seqs:
        strings.add(s)
    # Long runs of combining marks inside contractions: past the 30 non-starters after which
    # x/text stops reordering and looking for the rest of a contraction.
    multi = [s for s in seqs if len(s) > 1]
    for _ in range(60):
        s = rng.choice(multi)
        run = "".join(rng.choice(marks) for _ in range(rng.randint(25, 40)))
        strings.add(s[:1] + run + s[1:] + rng.choice(["", "a", chr(rng.choice(MARKS))]))
    # Long runs of marks out of canonical order, some with primary weights (Thai, Tibetan):
    # x/text reorders at most 30 elements at a time.
    weighted = [0xE38, 0xE39, 0xF71, 0xF72, 0xF74, 0xF7A, 0xF7C, 0xF80, 0x301, 0x316, 0x327]
    for _ in range(60):
        run = "".join(chr(rng.choice(weighted)) for _ in range(rng.randint(20, 45)))
        strings.add(rng.choice(["a", "\u0e01", "\u0f40", "l"]) + run + rng.choice(["", "b"]))
    while len(strings) < COUNT:
        strings.add("".join(piece() for _ in range(rng.randint(1, 6))))
    for s in sorted(strings, key=lambda s: (len(s), s)):
        print(s.encode().hex())


if __name__ == "__main__":
    main()
