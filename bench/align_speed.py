"""Speed of :func:`samestory.align.shared_passages` on synthetic article pairs.

Not a unit test (timings depend on the machine); run it by hand after changing
the aligner. Each pair is an invented text and a lightly edited copy of it:
paragraphs moved and dropped, words replaced, sentences inserted, quotes and
dashes changed. Sizes: a typical 5 KB news article and a 1 MB worst case.

    .venv/bin/python bench/align_speed.py [--seed N]
"""

from __future__ import annotations

import argparse
import random
import time

from samestory.align import shared_passages

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "de", "pa", "gu", "ze", "bo", "fi", "ha", "jo"]
_COMMON = ["the", "a", "of", "to", "in", "and", "said", "on", "for", "is", "was", "that", "with", "by"]


def _vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    words = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


def _article(rng: random.Random, vocab: list[str], n_chars: int) -> list[str]:
    """Paragraphs of sentences with a Zipf-ish mix of common and rarer words."""
    paragraphs, total = [], 0
    while total < n_chars:
        sentences = []
        for _ in range(rng.randint(1, 4)):
            n = rng.randint(8, 30)
            ws = [rng.choice(_COMMON) if rng.random() < 0.35 else rng.choice(vocab) for _ in range(n)]
            ws[0] = ws[0].capitalize()
            if rng.random() < 0.3:
                ws.insert(rng.randint(1, n - 1), "\u2014")
            s = " ".join(ws) + "."
            if rng.random() < 0.2:
                s = "\u201c" + s + "\u201d"
            sentences.append(s)
        para = " ".join(sentences)
        paragraphs.append(para)
        total += len(para) + 1
    return paragraphs


def _edited_copy(rng: random.Random, vocab: list[str], paragraphs: list[str]) -> list[str]:
    out = []
    for para in paragraphs:
        if rng.random() < 0.1:
            continue  # cut
        ws = para.replace("\u201c", '"').replace("\u201d", '"').replace("\u2014", "-").split(" ")
        for _ in range(len(ws) // 40):
            ws[rng.randrange(len(ws))] = rng.choice(vocab)  # replaced word
        out.append(" ".join(ws))
        if rng.random() < 0.1:
            out.append(" ".join(_article(rng, vocab, 80)))  # inserted paragraph
    k = max(1, len(out) // 10)  # move the last tenth to the front
    return out[-k:] + out[:-k]


def _pair(rng: random.Random, vocab: list[str], n_chars: int) -> tuple[str, str]:
    paras = _article(rng, vocab, n_chars)
    return "\n".join(paras), "\n".join(_edited_copy(rng, vocab, paras))


def _rate(pairs: list[tuple[str, str]], min_seconds: float) -> tuple[float, float, int]:
    """(pairs per second, slowest single pair in seconds, passages in last pair)."""
    done, worst, start, n = 0, 0.0, time.perf_counter(), 0
    while True:
        for a, b in pairs:
            t = time.perf_counter()
            n = len(shared_passages(a, b))
            worst = max(worst, time.perf_counter() - t)
            done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed, worst, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocab = _vocabulary(rng)
    shared_passages("warm up the word pattern", "warm up the word pattern")
    for label, size, count, min_seconds in (("5 KB", 5_000, 50, 2.0), ("1 MB", 1_000_000, 3, 0.0)):
        pairs = [_pair(rng, vocab, size) for _ in range(count)]
        mean_len = sum(len(a) + len(b) for a, b in pairs) / (2 * len(pairs))
        rate, worst, n = _rate(pairs, min_seconds)
        print(f"{label} pairs (mean {mean_len / 1000:,.0f} KB a text): {rate:,.1f} pairs/s, "
              f"{1000 / rate:,.2f} ms mean, {worst * 1000:,.1f} ms slowest, {n} passages in the last pair")


if __name__ == "__main__":
    main()
