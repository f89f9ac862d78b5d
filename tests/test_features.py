"""Pair features of the same-story scorer (lexical part)."""

from __future__ import annotations

import math

import numpy as np

from samestory.features import LEXICAL_FEATURES, PairText, date_gap_days, fit_char_idf, lexical_features, names, numbers, set_overlap

A = PairText("Harbour bridge reopens in Port Alder", "Port Alder's harbour bridge reopened on Thursday after repairs costing 4,200,000 dollars, Mayor Lena Ortiz said.", "en", "2024-03-14")
B = PairText("Port Alder bridge open again", "Mayor Lena Ortiz said the Port Alder bridge was open again after 4200000 dollars of repairs.", "en", "2024-03-16")
C = PairText("Hail hits Velden orchards", "A hailstorm flattened young fruit across the Velden valley on Friday, growers said.", "en", None)


def test_names_and_numbers():
    assert {"port alder", "mayor lena ortiz"} <= names(A.text)
    assert names("Port Alder\nPort Alder's harbour") == {"port alder"}
    assert "port" not in names("Port officials met today.")  # a sentence-opening word alone is no name
    assert numbers(A.text) == numbers(B.text) == {"4200000"}
    assert names("قال المسؤولون إن الجسر أعيد فتحه") == set()


def test_overlap_and_gaps():
    assert set_overlap({"a", "b"}, {"b", "c", "d"}) == 0.5
    assert math.isnan(set_overlap(set(), {"a"}))
    assert date_gap_days("2024-03-14", "2024-03-16T10:00:00") == 2.0
    assert math.isnan(date_gap_days("2024-03-14", None))


def test_lexical_features_rank_the_same_story_higher():
    idf = fit_char_idf([A.full, B.full, C.full]).astype(np.float32)
    X = lexical_features([(A, B), (A, C)], idf)
    assert X.shape == (2, len(LEXICAL_FEATURES))
    col = {name: X[:, i] for i, name in enumerate(LEXICAL_FEATURES)}
    assert col["char_cos"][0] > col["char_cos"][1]
    assert col["names_overlap"][0] == 1.0 and col["names_overlap"][1] == 0.0
    assert col["date_gap_days"][0] == 2.0 and math.isnan(col["date_gap_days"][1])
    assert col["same_lang"].tolist() == [1.0, 1.0]
    # symmetric
    Y = lexical_features([(B, A), (C, A)], idf)
    assert np.allclose(np.nan_to_num(X, nan=-9), np.nan_to_num(Y, nan=-9), atol=1e-6)


def test_profile_features_many_equals_the_pairwise_features():
    from samestory.features import PairText, article_profiles, profile_features, profile_features_many

    texts = [PairText("Bridge reopens", "The Alder Bay bridge reopened on Thursday after 6 months. Marta Ilves spoke.", "en", "2024-03-14"),
             PairText("", "Cars crossed the Alder Bay bridge again on Thursday, said Marta Ilves.", "en", None),
             PairText("Library hours", "All 12 branches of the Ostvik library open on Sundays.", "de", "2024-03-20"),
             PairText("", "", None, None),
             PairText("Only a title", "", "en", "2024-01-01")]
    profiles = article_profiles(texts)
    for a in profiles:
        many = profile_features_many(a, profiles)
        one = np.array([profile_features(a, b) for b in profiles], dtype=np.float64)
        assert many.shape == one.shape
        np.testing.assert_allclose(many, one, rtol=1e-6, atol=1e-7, equal_nan=True)
    assert profile_features_many(profiles[0], []).shape == (0, len(profile_features(profiles[0], profiles[1])))


def test_character_vectors_read_a_bounded_prefix_of_very_long_texts():
    from samestory.features import CHAR_TEXT_LIMIT, char_vectors

    head = ("The council met on Tuesday to discuss the new bridge. " * 2000)[:CHAR_TEXT_LIMIT]
    a, b = char_vectors([head, head + " Entirely different words about a harbour fire follow here." * 500])
    assert (a != b).nnz == 0  # what lies past the limit does not reach the vector (nor its memory)


def _same_profile(a, b) -> None:
    for name in ("char_ids", "char_weights", "title_ids", "title_weights", "shingles"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in ("names", "numbers", "title_names", "n_words", "lang", "date"):
        assert getattr(a, name) == getattr(b, name), name


def test_profiles_survive_their_byte_form():
    """Stored profiles (clustering's ``link_profiles``) are read back exactly as the first read gave them."""
    from samestory.features import ArticleProfile, PairText, article_profiles, profile_features_many

    texts = [A, B, C, PairText("", "", None, None), PairText("Only a title", "", "en", "2024-01-01"),
             PairText("Ünïcödé Straße", "Die Straße in München: Frau Müller zählt 1.234 Äpfel.", "de", "2024-02-29")]
    for p in article_profiles(texts):
        once = ArticleProfile.from_bytes(p.to_bytes())
        _same_profile(ArticleProfile.from_bytes(once.to_bytes()), once)  # a fixed point after one round
        _same_profile(once, p) if p.char_weights.size == 0 else None
        assert np.array_equal(once.char_ids, p.char_ids) and np.allclose(once.char_weights, p.char_weights, atol=1e-3)
        assert once.names == p.names and once.title_names == p.title_names and once.numbers == p.numbers
        np.testing.assert_allclose(profile_features_many(once, [once]), profile_features_many(p, [p]), atol=2e-3)


def test_a_damaged_profile_is_refused():
    import pytest

    from samestory.features import ArticleProfile, article_profiles

    data = article_profiles([A])[0].to_bytes()
    with pytest.raises(ValueError, match="bad magic"):
        ArticleProfile.from_bytes(b"XXXX" + data[4:])
    with pytest.raises(Exception):
        ArticleProfile.from_bytes(data[:-5])


def _sklearn_char_counts(texts):
    from sklearn.feature_extraction.text import HashingVectorizer

    from samestory.features import CHAR_FEATURES

    m = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=CHAR_FEATURES, alternate_sign=False,
                          norm=None, lowercase=True).transform(texts).tocsr()
    m.sort_indices()
    return m


def _assert_same_counts(texts):
    from samestory.features import hashed_char_counts

    ours, theirs = hashed_char_counts(texts), _sklearn_char_counts(texts)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.array_equal(ours.indptr, theirs.indptr) and np.array_equal(ours.indices, theirs.indices)
    assert np.array_equal(ours.data, theirs.data)


def test_hashed_char_counts_are_scikit_learns():
    """The shipped IDF table and models were made with scikit-learn's vectoriser: ours must give its matrix."""
    _assert_same_counts([A.full, B.full, C.full, "", " ", "a", "ab", "abc", "abcd", "x  y\t\nz", "ÄÖÜ Straße ß",
                         "日本語のテキスト", "🙂 emoji", "Ünïcödé\u00a0nbsp\u2009thin", "ǅ title-case İstanbul"])
    _assert_same_counts(["repeated words words words"] * 3)  # the word cache across calls changes nothing


try:
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60), min_size=1, max_size=4))
    def test_hashed_char_counts_equal_scikit_learns_on_any_text(texts):
        _assert_same_counts(texts)
except ImportError:  # pragma: no cover
    pass


def test_shared_name_counts_equal_set_intersections():
    from samestory.features import ArticleProfile, PairText, article_profiles, shared_name_counts

    texts = [A, B, C, PairText("", "", None, None), PairText("Lena Ortiz and Port Alder", "Mayor Lena Ortiz visited Port Alder.", "en", None)]
    profiles = article_profiles(texts)
    stored = [ArticleProfile.from_bytes(p.to_bytes()) for p in profiles]  # hashes are stable across processes and storage
    for a in profiles:
        assert shared_name_counts(a, stored).tolist() == [len(a.names & b.names) for b in profiles]
