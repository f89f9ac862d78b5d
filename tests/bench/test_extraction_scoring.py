"""The benchmark's scoring must match the official evaluate.py of
scrapinghub/article-extraction-benchmark, or our figures would not compare
with its published table. Expected numbers are worked out by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "extraction.py"
_spec = importlib.util.spec_from_file_location("bench_extraction", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def page_scores(gold: str, pred: str) -> tuple[float, float]:
    m = bench.shingle_match(gold, pred)
    return bench.precision_score(*m), bench.recall_score(*m)


def test_tokens_are_word_runs_case_kept():
    assert list(bench.shingles("Hello, world! It's 2019.", n=4)) == [("Hello", "world", "It", "s"), ("world", "It", "s", "2019")]
    assert page_scores("The cat sat down", "the cat sat down") == (0.0, 0.0)


def test_perfect_match_scores_one():
    text = "The council voted on Monday to rebuild the pier."
    assert page_scores(text, text) == (1.0, 1.0)
    assert bench.metrics([bench.shingle_match(text, text)]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_partial_overlap():
    # gold shingles: (the cat sat on) (cat sat on the) (sat on the mat)
    # pred shingles: (the cat sat on) (cat sat on a) (sat on a rug) (on a rug today)
    # tp = 1, fp = 3, fn = 2 -> normalised by 6; P = 1/4, R = 1/3, F1 = 2/7
    m = bench.shingle_match("the cat sat on the mat", "the cat sat on a rug today")
    assert m == pytest.approx((1 / 6, 3 / 6, 2 / 6))
    assert page_scores("the cat sat on the mat", "the cat sat on a rug today") == pytest.approx((1 / 4, 1 / 3))
    assert bench.metrics([m])["f1"] == pytest.approx(2 / 7)


def test_repeated_shingles_count_with_multiplicity():
    # gold "a b c d a b c d" holds (a b c d) twice among 5 shingles; pred holds it once.
    assert page_scores("a b c d a b c d", "a b c d") == pytest.approx((1.0, 1 / 5))


def test_text_shorter_than_four_words_is_one_shingle():
    assert page_scores("Breaking news", "Breaking news") == (1.0, 1.0)
    assert page_scores("Breaking news", "Breaking") == (0.0, 0.0)


def test_empty_prediction_is_left_out_of_precision_and_scores_zero_recall():
    gold = "one two three four five"
    assert bench.shingle_match(gold, "") == (0.0, 0.0, 1.0)
    assert page_scores(gold, "") == (0.0, 0.0)
    # averaged with a perfect page: precision 1 (the empty page is skipped), recall 1/2
    scores = bench.metrics([bench.shingle_match(gold, gold), bench.shingle_match(gold, "")])
    assert scores == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3})


def test_page_averages_not_pooled():
    # a long perfect page and a short wrong one weigh the same
    long_gold = " ".join(f"w{i}" for i in range(200))
    pages = [bench.shingle_match(long_gold, long_gold), bench.shingle_match("a b c d", "x y z q")]
    assert bench.metrics(pages) == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})


def test_bootstrap_of_identical_systems_is_zero():
    pages = [bench.shingle_match("a b c d e", p) for p in ("a b c d e", "a b c d x", "")]
    diff = bench.bootstrap_f1_difference(pages, pages, rounds=50)
    assert diff["f1_diff"] == diff["ci_low"] == diff["ci_high"] == 0.0


def test_failing_extractor_counts_as_empty():
    pages = [{"html": "<p>x</p>", "url": "https://example.org/a", "gold_body": "one two three four"}]

    def broken(html: str, url: str) -> str:
        raise RuntimeError("boom")

    result = bench.run_system(broken, pages)
    assert (result["empty"], result["errors"], result["recall"]) == (1, 1, 0.0)
