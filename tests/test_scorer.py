"""The same-story scorer: shipped models, symmetry, self-similarity, calibration range, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import block_network
from hypothesis import given, settings
from hypothesis import strategies as st

from samestory.features import PairText, feature_names
from samestory.scorer import (
    BLEND_SIGNALS, MODEL_EMBEDDERS, MODEL_NAMES, PairScore, Scorer, ScorerError, ScorerModel, Trees,
    expected_calibration_error, load_model, unscorable,
)

BRIDGE = PairText(
    "Alder Bay bridge reopens to traffic after six months of repairs",
    "The Alder Bay bridge reopened to cars and buses on Thursday morning, six months after engineers closed it "
    "when a routine inspection found corrosion in two of its steel support cables.\n\n"
    "The regional transport authority said the repairs, which included replacing both cables and resurfacing "
    "the deck, cost 18.2 million dollars, slightly under the original estimate.\n\n"
    "\u201cThe bridge is now in better shape than at any point in the last twenty years,\u201d said Marta Ilves, "
    "the authority's chief engineer.",
    "en",
)
BRIDGE_REWORDED = PairText(
    "Cars back on Alder Bay crossing as cable repairs finish",
    "Traffic is flowing again over the Alder Bay bridge. Crews lifted the barriers early on Thursday, half a "
    "year after corroded support cables forced engineers to shut the crossing.\n\n"
    "Replacing the two cables and laying a new road surface cost 18.2 million dollars, according to the "
    "transport authority, a little less than it had budgeted.\n\n"
    "Chief engineer Marta Ilves said the structure was in its best condition for two decades.",
    "en",
)
LIBRARY = PairText(
    "Library network to open on Sundays from next month",
    "All twelve branches of the city library network will open on Sundays from next month, the council "
    "announced, after a survey found that weekend hours were readers' most requested change.\n\n"
    "The branches will open from 11 a.m. to 4 p.m., funded by a grant from the regional culture fund.",
    "en",
)


@pytest.fixture(scope="module")
def fast() -> Scorer:
    return Scorer("fast")


@pytest.fixture(scope="module")
def accurate() -> Scorer:
    return Scorer("accurate")


def test_every_shipped_model_loads_and_scores_without_network(monkeypatch):
    block_network(monkeypatch)
    for name in MODEL_NAMES:
        model = load_model(name)
        assert model.embedders == MODEL_EMBEDDERS[name]
        assert set(model.features) <= set(feature_names(model.embedders))
        assert model.card["figures_leave_one_fold_out"]["pearson_overall_cv"]["all"] > 0.7
        score = Scorer(name).score(BRIDGE, BRIDGE_REWORDED)
        assert 1.0 <= score.overall <= 4.0 and 0.0 <= score.probability <= 1.0


def test_reworded_same_story_and_unrelated_story(accurate):
    same = accurate.score(BRIDGE, BRIDGE_REWORDED)
    other = accurate.score(BRIDGE, LIBRARY)
    assert same.same_story and same.overall < 2.0
    assert not other.same_story and other.overall > 3.0
    assert same.probability > other.probability


def test_an_article_with_itself_is_the_top_of_the_scale(accurate, fast):
    for scorer in (accurate, fast):
        assert scorer.score(BRIDGE, BRIDGE) == PairScore(1.0, 1.0)
    # an exact copy whose layout differs (spaces, line breaks) is still itself
    spaced = PairText(BRIDGE.title, BRIDGE.text.replace("\n\n", "\n").replace(" ", "  "), "en")
    assert accurate.score(BRIDGE, spaced).overall == 1.0


def test_symmetric_on_the_accurate_model(accurate):
    for a, b in ((BRIDGE, BRIDGE_REWORDED), (BRIDGE, LIBRARY), (LIBRARY, BRIDGE_REWORDED)):
        assert accurate.score(a, b) == accurate.score(b, a)


_words = st.lists(st.sampled_from("the bridge cables mayor council river police said on Thursday 18 million "
                                  "Ilves Alder library opened closed fire school new".split()), min_size=1, max_size=60)
_texts = _words.map(" ".join)
_sides = st.builds(PairText, st.one_of(st.just(""), _texts), _texts, st.sampled_from([None, "en", "de"]))


@settings(max_examples=40, deadline=None)
@given(_sides, _sides)
def test_scores_are_symmetric_and_in_range(fast, a, b):
    ab, ba = fast.score_many([(a, b), (b, a)])
    assert ab == ba
    assert 1.0 <= ab.overall <= 4.0 and 0.0 <= ab.probability <= 1.0
    assert ab.same_story == (ab.probability >= 0.5)


def test_probability_falls_as_overall_rises():
    for name in MODEL_NAMES:
        model = load_model(name)
        grid = np.linspace(1, 4, 61)
        p = model.probability(grid)
        assert np.all(np.diff(p) <= 1e-12) and p[0] > 0.8 and p[-1] < 0.1


def test_empty_article_is_a_clear_error_and_one_word_articles_score(fast):
    empty = PairText("", "   ")
    assert unscorable(BRIDGE, empty) == "the second article has no title and no text: nothing to compare"
    with pytest.raises(ScorerError, match="pair 1: the first article has no title"):
        fast.score_many([(BRIDGE, LIBRARY), (empty, BRIDGE)])
    one = fast.score(PairText("", "Bridge"), PairText("", "Library"))
    assert 1.0 <= one.overall <= 4.0


def test_unknown_language_mixed_scripts_and_a_1_mb_article(fast):
    thai = PairText("", "ข่าวสะพานเปิดใหม่หลังซ่อมแซมหกเดือน " * 20, None)
    mixed = PairText("Мост открыт", "The bridge reopened. Мост снова открыт после ремонта. 橋が再開した。", None)
    huge = PairText(BRIDGE.title, (BRIDGE.text + "\n\n") * 2100, "en")  # over 1 MB
    assert len(huge.text.encode()) > 1_000_000
    for a, b in ((thai, mixed), (huge, BRIDGE_REWORDED), (huge, thai)):
        s = fast.score(a, b)
        assert 1.0 <= s.overall <= 4.0


def test_trees_reproduce_scikit_learn_including_missing_values():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    X[rng.random(X.shape) < 0.15] = np.nan
    y = np.nan_to_num(X[:, 0]) * 2 - np.nan_to_num(X[:, 3]) + rng.normal(scale=0.1, size=400) + np.isnan(X[:, 1])
    model = HistGradientBoostingRegressor(max_iter=40, max_leaf_nodes=7, random_state=0).fit(X, y)
    trees = Trees.from_sklearn(model)
    test = rng.normal(size=(200, 5))
    test[rng.random(test.shape) < 0.2] = np.nan
    np.testing.assert_allclose(trees.predict(test), model.predict(test), atol=1e-9)


def test_model_round_trips_through_its_files(tmp_path):
    model = load_model("fast")
    npz, meta = model.save(tmp_path)
    again = ScorerModel.load(meta)
    X = np.random.default_rng(1).random((50, len(model.features)))
    np.testing.assert_array_equal(again.overall(X), model.overall(X))
    assert json.loads(meta.read_text())["features"] == model.features
    card = json.loads(meta.read_text())
    card["format"] = 99
    meta.write_text(json.dumps(card))
    with pytest.raises(ScorerError, match="model format 99"):
        ScorerModel.load(meta)
    with pytest.raises(ScorerError, match="no scorer model 'nope'"):
        ScorerModel.load("nope")


def test_english_pairs_get_the_english_blend_and_others_the_other(accurate):
    model = accurate.model
    assert model.blend is not None
    for name in MODEL_NAMES:  # every shipped model blends both groups with the signals it was trained to
        assert load_model(name).blend.signals == BLEND_SIGNALS[name]
    english_col = model.features.index("english")

    def by_hand(X: np.ndarray, group: str) -> np.ndarray:
        cols = [model.features.index(n) for n in model.blend.signals[group]]
        w = np.asarray(model.blend.weights[group])
        raw = model.trees.predict(X)
        return np.clip(model.blend.intercept[group] + w[0] * raw + np.nan_to_num(X[:, cols]) @ w[1:], 1, 4)

    # a real English pair (the English MiniLM cosine weighs in), then the same pair marked German
    X = accurate.features([(BRIDGE, BRIDGE_REWORDED), (BRIDGE, LIBRARY)])
    assert np.all(X[:, english_col] == 1.0)
    np.testing.assert_allclose(model.overall(X), by_hand(X, "english"))
    assert model.blend.weights["english"][model.blend.signals["english"].index("minilm_doc") + 1] < 0
    german = X.copy()
    german[:, english_col] = 0.0
    np.testing.assert_allclose(model.overall(german), by_hand(german, "other"))
    assert not np.allclose(model.overall(X), model.overall(german))
    # mixed groups in one matrix, and an unknown language (NaN) counts as "other"
    unknown = X.copy()
    unknown[:, english_col] = np.nan
    both = np.vstack([X, german, unknown])
    np.testing.assert_allclose(model.overall(both), np.concatenate([by_hand(X, "english"), by_hand(german, "other"),
                                                                    by_hand(unknown, "other")]))
    # without the blend, the trees' estimate as it was
    from dataclasses import replace

    bare = replace(model, blend=None)
    np.testing.assert_allclose(bare.overall(X), np.clip(model.trees.predict(X), 1, 4))


def test_a_broken_blend_is_a_clear_error(tmp_path):
    model = load_model("accurate")
    _, meta = model.save(tmp_path)
    card = json.loads(meta.read_text())
    assert set(card["blend"]) == {"english", "other"}
    card["blend"]["english"]["signals"] = ["nope_doc", "use_doc"]
    meta.write_text(json.dumps(card))
    with pytest.raises(ScorerError, match=r"blend signals \['nope_doc'\] are not among"):
        ScorerModel.load(meta)
    card["blend"]["english"]["signals"] = ["use_doc"]
    meta.write_text(json.dumps(card))
    with pytest.raises(ScorerError, match="3 weights for 1 signals"):
        ScorerModel.load(meta)
    card["blend"] = {"welsh": card["blend"]["other"]}
    meta.write_text(json.dumps(card))
    with pytest.raises(ScorerError, match="blend groups"):
        ScorerModel.load(meta)
    del card["blend"]  # a model without a blend (as before) still loads and scores with its trees alone
    meta.write_text(json.dumps(card))
    assert ScorerModel.load(meta).blend is None


def test_expected_calibration_error():
    assert expected_calibration_error(np.array([0.05, 0.05, 0.95, 0.95]), np.array([0, 0, 1, 1])) == pytest.approx(0.05)
    # always saying 0.9 where the event happens half the time is off by 0.4
    assert expected_calibration_error(np.full(10, 0.9), np.array([0, 1] * 5)) == pytest.approx(0.4)
