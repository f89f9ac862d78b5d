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
