"""Fingerprints: stable shingle hashes, exact set similarity, MinHash signatures, band keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from samestory.fingerprint import (
    DEFAULT_CONFIG,
    Fingerprint,
    FingerprintConfig,
    band_keys_many,
    candidate_probability,
    containment,
    content_hash,
    estimate_jaccard,
    fingerprint,
    fingerprint_many,
    jaccard,
    lsh_threshold,
    normalize_for_shingles,
    paragraph_minhash,
    paragraph_words,
    shingle_hashes,
    signatures,
    word_hashes,
)
from samestory.normalize import nfc, words

FOX = "The quick brown fox jumps over the lazy dog."
# Pinned values (fingerprint scheme 3): any change to word hashing, window
# combination, the MinHash library or its seed changes these, and every
# stored fingerprint with them (then bump FINGERPRINT_SCHEME).
FOX_SHINGLES = [
    1591428022994458299,
    1821457371819763508,
    2631020352239187387,
    6903980879744148275,
    14379471527493014011,
]
FOX_CONTENT_HASH = "b27bb8afdc4da8ba5f41ff67b574af47"
FOX_SIGNATURE_HEAD = [3232899925, 3274762187, 3435381668, 3470095085, 3447675159, 3495224417, 2755022354, 3665673752]
FOX_BAND_KEYS_HEAD = [4234592467856427759, 17187013572990888962, 6044487246312795580]
FOX_PARAGRAPHS_HEAD = [8253672550970125679, 6779024328842252295]


def _story(seed: int, n: int = 300) -> str:
    """A text of n distinct-ish invented words, in paragraphs."""
    rng = np.random.default_rng(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "pe", "zu", "da", "gro"]
    ws = ["".join(rng.choice(syllables, size=3)) for _ in range(n)]
    return "\n\n".join(" ".join(ws[i : i + 30]) + "." for i in range(0, n, 30))


# --- determinism -----------------------------------------------------------------


def test_pinned_shingle_hashes_content_hash_and_signature():
    assert shingle_hashes(FOX).tolist() == FOX_SHINGLES
    assert content_hash(FOX) == FOX_CONTENT_HASH
    fp = fingerprint(FOX)
    assert fp.signature.dtype == np.uint32 and fp.signature.shape == (128,)
    assert fp.signature[:8].tolist() == FOX_SIGNATURE_HEAD
    assert fp.band_keys()[:3] == FOX_BAND_KEYS_HEAD
    assert fp.paragraphs[:2].tolist() == FOX_PARAGRAPHS_HEAD


def test_same_text_same_fingerprint_across_calls():
    text = _story(1)
    a, b = fingerprint(text), fingerprint(text)
    assert a == b
    assert a.band_keys() == b.band_keys()
    assert np.array_equal(shingle_hashes(text), shingle_hashes(text))


def test_same_fingerprint_in_another_process():
    """Another interpreter (other hash seed, rensa's portable kernel) gives identical output."""
    code = (
        "import json; from samestory.fingerprint import fingerprint; "
        f"f = fingerprint({FOX!r}); "
        "print(json.dumps([f.content_hash, f.shingles.tolist(), f.signature.tolist(), f.band_keys()]))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", RENSA_FORCE_KERNEL="scalar")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    here = fingerprint(FOX)
    assert json.loads(out) == [here.content_hash, here.shingles.tolist(), here.signature.tolist(), here.band_keys()]


# --- normalisation -----------------------------------------------------------------


def test_case_punctuation_quotes_dashes_and_spacing_do_not_change_shingles():
    plain = "He said \"it's over\" - and the crowd left the square at 9 p.m. on Sunday"
    variants = [
        "HE SAID \u201cIT\u2019S OVER\u201d \u2014 AND THE CROWD LEFT THE SQUARE AT 9 P.M. ON SUNDAY",
        "He said \u00abit\u2019s over\u00bb \u2013 and the crowd left the square at 9 p.m. on Sunday!!!",
        "He\u00a0said   'it`s over'\n\nand the crowd left the\tsquare at \uff19 p.m., on Sunday.",
        "He said \u201cit\u2019s\u200b over\u201d and the crowd left the square at 9 p.m. on Sun\u00adday",
    ]
    base = shingle_hashes(plain)
    for v in variants:
        assert np.array_equal(shingle_hashes(v), base), v
        assert content_hash(v) == content_hash(plain), v


def test_words_are_casefolded_nfkc_without_punctuation():
    assert normalize_for_shingles("\ufb01nal \u2460 Stra\u00dfe, DON\u2019T stop!") == ["final", "1", "strasse", "don't", "stop"]
    assert normalize_for_shingles("") == []
    assert normalize_for_shingles(" \n\t.,;!? \u2014 ") == []


_SPECIAL = "\u2018\u2019\u201c\u201d\u2013\u2014\u00a0\u200b\u00ad\u2026`'\"-.,\n\t \x07\ufb01\u00c9e\u0301\u0130\u00dfAb9 \uff40\u00b4"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(_SPECIAL) | st.characters(), max_size=60))
@example("don\uff40t stop")
def test_fast_normalisation_matches_samestory_normalize(text):
    assert normalize_for_shingles(text) == words(nfc(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(_SPECIAL + "\n\n\r\u2028\u2029 ") | st.characters(), max_size=80))
@example("don\uff40t stop")
def test_paragraph_words_are_the_reference_words(text):
    """The fast tokeniser (ASCII bytes path, or the general one) gives exactly normalize_for_shingles' words."""
    flat = [w.decode("utf-8", "surrogatepass") for p in paragraph_words(text) for w in p]
    assert flat == normalize_for_shingles(text)
    assert content_hash(text) == content_hash(" ".join(normalize_for_shingles(text)))


def test_paragraphs_are_blank_line_separated():
    assert paragraph_words("One two.\nthree\n\nFour \u2014 five\n \t\r\n\n\nsix") == [[b"one", b"two", b"three"], [b"four", b"five"], [b"six"]]
    assert paragraph_words("caf\u00e9 one\n\n\u201cdon\u2019t\u201d") == [["caf\u00e9".encode(), b"one"], [b"don't"]]
    assert paragraph_words("a\n--\nb") == [[b"a"], [b"b"]]  # a line of punctuation only is blank too
    assert paragraph_words("\n\n ... \n\n") == []


def test_shingles_do_not_cross_paragraph_breaks():
    paras = [_story(s, 40).replace("\n\n", " ") for s in range(60, 66)]
    full = shingle_hashes("\n\n".join(paras))
    for keep in ([0, 2, 5], [1, 4], [5, 3, 1]):  # any paragraphs, any order
        part = shingle_hashes("\n\n".join(paras[i] for i in keep))
        assert containment(part, full) == 1.0
    assert np.array_equal(shingle_hashes("\n\n".join(paras[::-1])), full)  # reordering changes nothing
    # each paragraph of 40 words gives 36 windows; none across the 5 breaks
    assert len(full) == sum(len(shingle_hashes(p)) for p in paras) == 6 * 36


def test_short_paragraphs_join_their_neighbours():
    body = "the harbour bridge reopened on thursday after three weeks of repairs"
    with_kicker = shingle_hashes("Advertisement\n\n" + body)
    assert np.array_equal(with_kicker, shingle_hashes("Advertisement " + body))  # a one-word paragraph is no unit of its own
    assert len(shingle_hashes("By Jane Roe\n\n" + body + "\n\nMore")) == len(shingle_hashes("By Jane Roe " + body + " More"))
    assert shingle_hashes("Breaking\n\nnews").size == 1  # a text under k words: one shingle, paragraphs or not


def test_fingerprint_many_batches_like_single_texts():
    texts = ["", "one", "one two three four five six", _story(70), "Breaking\n\nnews", "\u00e9t\u00e9 " * 9, _story(71, 45), ""]
    many = fingerprint_many(texts)
    for t, f in zip(texts, many):
        assert np.array_equal(f.shingles, shingle_hashes(t))
        assert f.content_hash == content_hash(t)
    assert [f.empty for f in many] == [True, False, False, False, False, False, False, True]


def test_lone_surrogates_split_words_like_normalize():
    text = "bad\ud800decode \udcff here"
    assert normalize_for_shingles(text) == words(nfc(text)) == ["bad", "decode", "here"]
    assert shingle_hashes(text).size == 1


def test_word_order_matters_and_repetition_does_not():
    text = "alpha beta gamma delta epsilon zeta eta"
    assert not np.array_equal(shingle_hashes(text), shingle_hashes("beta alpha gamma delta epsilon zeta eta"))
    doubled = shingle_hashes(text + " " + text)
    assert set(shingle_hashes(text).tolist()) < set(doubled.tolist())  # plus the windows across the seam only
    assert len(doubled) == 2 * len(shingle_hashes(text)) - len(shingle_hashes(text)) + 4
    assert np.array_equal(shingle_hashes(text + "\n\n" + text), shingle_hashes(text))  # no window across a paragraph break
    assert shingle_hashes("again " * 12).size == 1


def test_shingles_are_sorted_unique_uint64():
    sh = shingle_hashes(_story(2) + " " + _story(2))
    assert sh.dtype == np.uint64
    assert np.all(np.diff(sh.astype(object)) > 0)  # strictly increasing, no overflow in the check


# --- short and empty text ------------------------------------------------------------


def test_short_and_empty_texts():
    assert shingle_hashes("").size == 0
    assert shingle_hashes("... \u2014 !!!").size == 0
    assert shingle_hashes("Breaking news").size == 1  # fewer than k words: one shingle of all of them
    assert np.array_equal(shingle_hashes("Breaking news"), shingle_hashes("BREAKING \u2014 news!"))
    assert not np.array_equal(shingle_hashes("Breaking news"), shingle_hashes("news breaking"))
    assert shingle_hashes("one two three four five").size == 1
    assert shingle_hashes("one two three four five six").size == 2
    assert shingle_hashes("a b a b", k=1).size == 2
    with pytest.raises(ValueError):
        shingle_hashes("text", k=0)


def test_empty_fingerprint_has_no_band_keys_and_matches_nothing():
    empty = fingerprint("")
    assert empty.empty and empty.shingles.size == 0
    assert empty.signature.shape == (128,)
    assert empty.band_keys() == []
    assert empty.content_hash == content_hash("   ")
    other = fingerprint(FOX)
    assert empty.jaccard(other) == 0.0 and empty.containment(other) == 0.0
    assert empty.estimate_jaccard(fingerprint("")) == 0.0


# --- exact similarity ----------------------------------------------------------------


def _arr(*xs: int) -> np.ndarray:
    return np.array(sorted(set(xs)), dtype=np.uint64)


def test_exact_jaccard_and_containment_on_hand_made_sets():
    a, b = _arr(1, 2, 3, 4), _arr(3, 4, 5, 6, 7, 8)
    assert jaccard(a, b) == pytest.approx(2 / 8)
    assert containment(a, b) == pytest.approx(2 / 4)
    assert jaccard(a, a) == 1.0 and containment(a, a) == 1.0
    cut = _arr(1, 2)
    assert jaccard(cut, a) == pytest.approx(0.5) and containment(cut, a) == 1.0
    big = _arr(2**64 - 1, 2**63, 0)
    assert jaccard(big, _arr(2**64 - 1)) == pytest.approx(1 / 3)
    e = _arr()
    assert jaccard(e, e) == 0.0 and jaccard(a, e) == 0.0 and containment(a, e) == 0.0


def test_cut_down_copy_has_low_jaccard_high_containment():
    story = _story(3, 600)
    paras = story.split("\n\n")
    cut = "\n\n".join(paras[: len(paras) // 2])
    full, half = fingerprint(story), fingerprint(cut)
    assert half.containment(full) == 1.0
    assert 0.4 < half.jaccard(full) < 0.6


_sets = st.sets(st.integers(0, 40), max_size=25).map(lambda s: np.array(sorted(s), dtype=np.uint64))


@given(_sets, _sets)
def test_jaccard_containment_properties(a, b):
    j, c = jaccard(a, b), containment(a, b)
    assert j == jaccard(b, a) and c == containment(b, a)
    assert 0.0 <= j <= 1.0 and 0.0 <= c <= 1.0
    assert c >= j
    inter = len(set(a.tolist()) & set(b.tolist()))
    union = len(set(a.tolist()) | set(b.tolist()))
    assert j == (inter / union if union else 0.0)
    if len(a):
        assert jaccard(a, a) == 1.0 and containment(a, a) == 1.0


# --- signatures and LSH ----------------------------------------------------------------


def test_signature_estimate_close_to_exact_jaccard():
    rng = np.random.default_rng(7)
    pool = np.unique(rng.integers(0, 2**63, 700, dtype=np.uint64))[:600]
    a, b = np.sort(pool[:400]), np.sort(pool[200:])  # |a∩b| = 200, |a∪b| = 600
    assert jaccard(a, b) == pytest.approx(1 / 3)
    sa, sb = signatures([a, b])
    assert abs(estimate_jaccard(sa, sb) - 1 / 3) <= 0.1

    # and through text: 200 words, the second half replaced
    ws = [f"w{i}" for i in range(200)]
    t1, t2 = " ".join(ws), " ".join(ws[:100] + [f"x{i}" for i in range(100)])
    f1, f2 = fingerprint(t1), fingerprint(t2)
    exact = f1.jaccard(f2)
    assert exact == pytest.approx(96 / 296)
    assert abs(f1.estimate_jaccard(f2) - exact) <= 0.1


def test_band_keys_equal_for_identical_texts_and_differ_for_unrelated():
    text = _story(11)
    a, b = fingerprint(text), fingerprint("  " + text.upper() + "  ")
    keys = a.band_keys()
    assert len(keys) == DEFAULT_CONFIG.bands + DEFAULT_CONFIG.paragraph_bands
    assert keys == b.band_keys()
    assert all(0 <= k < 2**64 for k in keys)
    assert len(set(keys)) == len(keys)
    for seed in range(12, 20):
        other = fingerprint(_story(seed)).band_keys()
        assert sum(x == y for x, y in zip(keys, other)) <= 2


def test_band_index_is_part_of_the_key():
    fp = Fingerprint("x", _arr(1), np.full(128, 42, dtype=np.uint32), np.full(8, 7, dtype=np.uint64))
    keys = fp.band_keys()
    assert len(set(keys)) == 72  # identical band (and paragraph slot) contents, different columns


def test_near_copy_shares_a_band_key():
    text = _story(21, 600)
    copy = "By A. Reporter, Some Outlet\n\n" + text.replace("kaka", "lolo", 3) + "\n\nCopyright 2024 Some Outlet."
    a, b = fingerprint(text), fingerprint(copy)
    assert a.jaccard(b) > 0.7
    assert set(a.band_keys()) & set(b.band_keys())


def test_band_keys_need_the_matching_config():
    with pytest.raises(ValueError):
        fingerprint(FOX).band_keys(FingerprintConfig(num_perm=64, bands=32, rows=2))


def test_fingerprint_many_equals_one_at_a_time():
    texts = [FOX, "", "Breaking news", _story(30), _story(31, 50), "\u201cQuoted\u201d \u2014 text " * 20, _story(30)]
    for config in (DEFAULT_CONFIG, FingerprintConfig(shingle_words=3, num_perm=64, bands=16, rows=4, seed=99)):
        many = fingerprint_many(texts, config)
        assert many == [fingerprint(t, config) for t in texts]
        keys = band_keys_many(many, config)
        assert keys.shape == (len(texts), config.bands + config.paragraph_bands)
        assert keys[0].tolist() == many[0].band_keys(config)
        assert not keys[1].any()  # the empty text's row
    assert fingerprint_many([]) == []


def test_seed_changes_signature_but_not_shingles():
    a = fingerprint(FOX)
    b = fingerprint(FOX, FingerprintConfig(seed=2))
    assert np.array_equal(a.shingles, b.shingles) and a.content_hash == b.content_hash
    assert not np.array_equal(a.signature, b.signature)


def test_config_validation():
    assert DEFAULT_CONFIG.bands * DEFAULT_CONFIG.rows == DEFAULT_CONFIG.num_perm
    with pytest.raises(ValueError):
        FingerprintConfig(num_perm=128, bands=30, rows=4)
    with pytest.raises(ValueError):
        FingerprintConfig(shingle_words=0)
    with pytest.raises(ValueError):
        FingerprintConfig(seed=-1)


def test_s_curve_arithmetic():
    assert candidate_probability(0.5, 64, 2) == pytest.approx(1 - 0.75**64)
    assert candidate_probability(0.0, 64, 2) == 0.0 and candidate_probability(1.0, 64, 2) == 1.0
    assert lsh_threshold(64, 2) == pytest.approx(0.125)
    assert lsh_threshold(16, 8) == pytest.approx((1 / 16) ** (1 / 8))
    ps = [candidate_probability(s / 10, 32, 4) for s in range(11)]
    assert ps == sorted(ps)
    # the default config: >= 99% of pairs at the verification threshold 0.3 become candidates
    assert candidate_probability(0.3, DEFAULT_CONFIG.bands, DEFAULT_CONFIG.rows) >= 0.99
    assert DEFAULT_CONFIG.threshold == pytest.approx(lsh_threshold(DEFAULT_CONFIG.bands, DEFAULT_CONFIG.rows))


def test_rensa_agrees_with_datasketch_on_the_same_shingles():
    """A reference MinHash (datasketch) on the same shingles estimates the same Jaccard within sampling error."""
    datasketch = pytest.importorskip("datasketch")

    def reference(sh):
        m = datasketch.MinHash(num_perm=128, seed=1, scheme="affine64", hashfunc=int)
        m.update_batch(sh.tolist())
        return m

    for seed, keep in ((40, 0.8), (41, 0.5), (42, 0.25)):
        ws = _story(seed, 400).split(" ")
        cut = int(len(ws) * keep)
        a, b = fingerprint(" ".join(ws)), fingerprint(" ".join(ws[:cut] + [w + "x" for w in ws[cut:]]))
        exact = a.jaccard(b)
        ours, theirs = a.estimate_jaccard(b), reference(a.shingles).jaccard(reference(b.shingles))
        sigma = (exact * (1 - exact) / 128) ** 0.5
        assert abs(ours - exact) <= max(4 * sigma, 0.02)
        assert abs(theirs - exact) <= max(4 * sigma, 0.02)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=60), st.lists(st.integers(0, 300), max_size=60))
def test_sorted_matches_agrees_with_numpy_intersect1d(xs, ys):
    from samestory.fingerprint import overlap, sorted_matches

    a = np.unique(np.array(xs, dtype=np.uint64))
    b = np.unique(np.array(ys, dtype=np.uint64))
    ia, ib = sorted_matches(a, b)
    _, ra, rb = np.intersect1d(a, b, assume_unique=True, return_indices=True)
    assert np.array_equal(ia, ra) and np.array_equal(ib, rb)
    assert overlap(a, b) == (jaccard(a, b), containment(a, b))


# --- the batched word path (scheme 3) -----------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(_SPECIAL + "\n\n\r\u2028\u2029 '") | st.characters(), max_size=80), max_size=6))
def test_batched_words_are_the_reference_words(texts):
    """_batch_words (numpy over one buffer) finds paragraph_words' words, hashed as word_hashes, and its paragraph breaks."""
    from samestory.fingerprint import _batch_words

    got = _batch_words(texts)
    for t, text in enumerate(texts):
        paras = paragraph_words(text)
        lo, hi = got.text_start[t], got.text_start[t + 1]
        assert np.array_equal(got.hashes[lo:hi], word_hashes([w for p in paras for w in p]))
        inside = [x - lo for x in got.para_start.tolist() if lo <= x < hi]
        assert inside == np.cumsum([0] + [len(p) for p in paras[:-1]]).tolist()[: len(paras)]


def test_word_hashes_use_every_byte():
    short = [b"a", b"ab", b"ba", b"abcdefgh", b"abcdefgi", b"", b"it's"]
    long_ = [b"x" * 17, b"x" * 16 + b"y", b"x" * 9, b"x" * 8 + b"y", b"y" + b"x" * 16, b"x" * 300]
    h = word_hashes(short + long_).tolist()
    assert len(set(h)) == len(h)
    assert word_hashes([b"abc"]).tolist() == word_hashes([b"zz", b"abc"]).tolist()[1:]  # a word's hash does not depend on its neighbours


def test_lsh_finds_pairs_at_the_verification_threshold():
    """At Jaccard 0.30 (the verification threshold) the 64 x 2 bands make a pair a candidate with probability 0.998; measured on 200 pairs."""
    cfg = DEFAULT_CONFIG
    expected = candidate_probability(0.30, cfg.bands, cfg.rows)
    assert expected > 0.99
    found = tried = 0
    for seed in range(400):
        ws = _story(1000 + seed, 400).split(" ")
        shared = 187  # 5-word windows over the first 187 words are shared: Jaccard about 0.3
        a = fingerprint(" ".join(ws))
        b = fingerprint(" ".join(ws[:shared] + [w + "q" for w in ws[shared:]]))
        if not 0.28 <= a.jaccard(b) <= 0.32:
            continue
        tried += 1
        found += bool(set(a.band_keys()[: cfg.bands]) & set(b.band_keys()[: cfg.bands]))
        if tried == 200:
            break
    assert tried == 200
    assert found / tried >= 0.98, (found, tried, expected)


def test_paragraph_keys_find_cut_downs_the_signature_misses():
    """A cut-down keeping 4 of 20 long paragraphs has shingle Jaccard near 0.2 but shares a paragraph slot with probability 1 - 0.8**8."""
    cfg = DEFAULT_CONFIG
    rng = np.random.default_rng(3)
    expected = candidate_probability(4 / 20, cfg.paragraph_bands, 1)
    found = 0
    for seed in range(100):
        paras = _story(2000 + seed, 600).split("\n\n")
        keep = sorted(rng.choice(len(paras), 4, replace=False).tolist())
        a, b = fingerprint("\n\n".join(paras)), fingerprint("\n\n".join(paras[i] for i in keep))
        assert b.containment(a) == 1.0 and a.jaccard(b) < 0.25
        found += bool(set(a.band_keys()[cfg.bands :]) & set(b.band_keys()[cfg.bands :]))
    assert found >= 100 * expected - 10, (found, expected)


def test_one_line_paragraphs_stay_out_of_the_paragraph_minhash():
    """Unrelated stories ending with the same one-liner share no paragraph slot; a text of only short paragraphs still has slots."""
    line = "Please enable JavaScript to watch this video."
    a, b = fingerprint(_story(50) + "\n\n" + line), fingerprint(_story(51) + "\n\n" + line)
    assert not set(a.paragraphs.tolist()) & set(b.paragraphs.tolist())
    short = fingerprint("one two three four five six\n\nseven eight nine ten eleven twelve")
    assert short.paragraphs.all()
    assert not fingerprint("").paragraphs.any()
    empty = paragraph_minhash(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), 2, 8, 1)
    assert empty.shape == (2, 8) and not empty.any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(list("ab'\n ") + ["cd ", "efgh ijkl mnop qrst uvw xyz ", "\u2019", "\u00e9"]), max_size=60).map("".join), max_size=5))
def test_texts_batched_together_fingerprint_as_alone(texts):
    """A text's fingerprint (shingles, paragraph slots, content hash) does not depend on the texts batched with it."""
    assert fingerprint_many(texts) == [fingerprint(t) for t in texts]


def test_shingles_many_are_the_fingerprints_shingles():
    from samestory.fingerprint import fingerprint_many, shingles_many

    texts = ["", "one two", "a b c d e f g h\n\nnew paragraph with enough words to shingle here", "Ünïcödé text, with punctuation! " * 5]
    assert shingles_many([]) == []
    for sh, fp in zip(shingles_many(texts), fingerprint_many(texts)):
        assert sh.dtype == fp.shingles.dtype and np.array_equal(sh, fp.shingles)


def _nonsense(n: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return [rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") + rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(n)]


def test_positions_are_each_shingles_first_window_in_text_order():
    words = _nonsense(30, 1)
    text = " ".join(words) + "\n\n" + " ".join(words[:6])  # a second paragraph repeating the first two windows
    fp = fingerprint(text)
    assert fp.positions is not None and fp.positions.dtype == np.uint32 and len(fp.positions) == len(fp.shingles)
    where = dict(zip(fp.shingles.tolist(), fp.positions.tolist()))
    for i in range(len(words) - 4):
        assert where[int(shingle_hashes(" ".join(words[i : i + 5]))[0])] == i
    assert len(fp.shingles) == 26 and sorted(where.values()) == list(range(26))  # the repeats keep their first window
    assert fingerprint("one two").positions.tolist() == [0] and len(fingerprint("").positions) == 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["ab ", "cd ", "efgh ijkl mnop qrst uvw xyz ", "\n\n", "\u00e9 "]), max_size=40).map("".join), max_size=4))
def test_positions_do_not_depend_on_the_batch(texts):
    for a, b in zip(fingerprint_many(texts), [fingerprint(t) for t in texts]):
        assert np.array_equal(a.positions, b.positions)


def test_edit_tolerant_overlap_forgives_isolated_changed_words_only():
    from samestory.fingerprint import edit_tolerant_overlap, overlap

    words = _nonsense(200, 2)
    every_25th = [w if i % 25 != 12 else "zz" + w for i, w in enumerate(words)]  # 4% of words changed, far apart
    a, b = fingerprint(" ".join(words)), fingerprint(" ".join(every_25th))
    j, c = overlap(a.shingles, b.shingles)
    jt, ct = edit_tolerant_overlap(a.shingles, a.positions, b.shingles, b.positions, 5)
    assert c < 0.8 and j < 0.7  # 5-word shingles lose 5 windows per changed word
    assert ct == 1.0 and jt == 1.0  # every gap is one changed word wide
    assert edit_tolerant_overlap(a.shingles, None, b.shingles, None, 5) == pytest.approx((j, c))
    # changes 3 words apart leave gaps of 8 windows: not one isolated word, not bridged
    pairs = [w if i % 25 not in (10, 13) else "zz" + w for i, w in enumerate(words)]
    p = fingerprint(" ".join(pairs))
    assert edit_tolerant_overlap(a.shingles, a.positions, p.shingles, p.positions, 5) == pytest.approx(overlap(a.shingles, p.shingles))
    # a passage the other text does not hold is no gap: a shared sentence in two otherwise different texts stays small
    other = _nonsense(60, 3)
    x = fingerprint(" ".join(other[:30] + words[:20] + other[30:]))
    y = fingerprint(" ".join(_nonsense(30, 4) + words[:20] + _nonsense(30, 5)))
    assert edit_tolerant_overlap(x.shingles, x.positions, y.shingles, y.positions, 5) == pytest.approx(overlap(x.shingles, y.shingles))
