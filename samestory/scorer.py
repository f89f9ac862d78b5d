"""The same-story scorer: do two articles report the same event, however worded?

A pair of articles becomes a row of features (:func:`samestory.features.pair_features`:
embedding cosines of title, lead, body chunks and whole article under one or
more shipped embedders, character n-gram TF-IDF cosine, shared names and
numbers, shingle overlap, lengths, languages). Gradient-boosted trees turn
the row into an estimate on the SemEval-2022 task 8 scale (1 = same story,
4 = unrelated); a linear blend of that estimate with the model's strongest
cosines, one for pairs of English articles and one for all others (see
:class:`Blend`), gives ``overall``; and an isotonic map turns ``overall``
into ``probability``:
the calibrated chance that annotators would put the pair on the "same story"
side of the scale (their mean Overall below :data:`SAME_STORY_BELOW`).

Models are trained by ``bench/train_scorer.py`` on the labelled pairs in
``../shared/data/semeval2022t8`` and shipped in ``samestory/models/scorer``
as plain numpy arrays plus a JSON card (features, training data, measured
figures): no pickle, nothing downloaded, no scikit-learn needed to score.

Three models trade accuracy for speed (figures in the README):

``"accurate"`` (default)
    USE multilingual + MiniLM + static embeddings + lexical features.
``"balanced"``
    USE multilingual + static + lexical: about 3x faster cold, a little
    weaker in English.
``"fast"``
    static embeddings + lexical: hundreds of pairs a second, English-centred.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import SamestoryError
from .features import PairText, feature_names, pair_features

MODEL_DIR = Path(__file__).resolve().parent / "models" / "scorer"
#: Shipped models, best first; the first is the default.
MODEL_NAMES = ("accurate", "balanced", "fast")
DEFAULT_MODEL = MODEL_NAMES[0]
#: Embedders each shipped model reads (what it costs to score cold).
MODEL_EMBEDDERS = {"accurate": ("use", "minilm", "static"), "balanced": ("use", "static"), "fast": ("static",)}
#: The annotators' mean Overall below which a pair counts as the same story
#: (the midpoint of the 1-4 scale: nearer "very similar" than "very dissimilar").
SAME_STORY_BELOW = 2.5
#: The cosines each model's :class:`Blend` weighs with the trees' estimate, per group of pairs: where
#: both articles are English, the English MiniLM's whole-article cosine is the best single signal, which
#: the trees (splitting it into steps, shared with the other languages) do not fully use; elsewhere the
#: multilingual USE cosine (character n-grams for ``fast``, which has no multilingual embedder).
BLEND_SIGNALS: dict[str, dict[str, tuple[str, ...]]] = {
    "accurate": {"english": ("minilm_doc", "use_doc"), "other": ("use_doc",)},
    "balanced": {"english": ("use_doc", "static_doc"), "other": ("use_doc",)},
    "fast": {"english": ("static_doc",), "other": ("char_cos",)},
}
#: Groups of pairs a :class:`Blend` weighs separately: both articles English (the ``english`` feature is
#: 1), and every other pair (other languages, mixed or unknown).
BLEND_GROUPS = ("english", "other")
FORMAT_VERSION = 1


class ScorerError(SamestoryError):
    """A pair that cannot be scored (e.g. an article with no words), or a broken model file."""


@dataclass(frozen=True)
class PairScore:
    """The scorer's verdict on one pair."""

    probability: float
    overall: float

    @property
    def same_story(self) -> bool:
        return self.probability >= 0.5

    def as_dict(self) -> dict:
        return {"same_story": self.same_story, "probability": round(self.probability, 4), "overall": round(self.overall, 3)}


# --------------------------------------------------------------------------- trees


_LARGEST = np.finfo(np.float64).max


@dataclass(frozen=True)
class Trees:
    """A boosted regression tree ensemble as flat arrays (exported from scikit-learn).

    Node ``k`` of the concatenated arrays either is a leaf holding ``value``,
    or sends a row to ``left`` when ``x[feature] <= threshold`` (NaN goes
    left when ``missing_left``) and to ``right`` otherwise; child indices
    are absolute. ``roots`` lists each tree's first node. The prediction is
    ``baseline`` plus the leaf values of all trees, as in scikit-learn's
    ``HistGradientBoostingRegressor`` (checked by the tests).
    """

    baseline: float
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray

    ARRAYS = ("roots", "feature", "threshold", "missing_left", "left", "right", "leaf", "value")

    @classmethod
    def from_sklearn(cls, model) -> "Trees":
        """Export a fitted ``HistGradientBoostingRegressor`` (numeric features only)."""
        parts, roots, offset = [], [], 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            roots.append(offset)
            leaf = nodes["is_leaf"].astype(bool)
            parts.append((nodes["feature_idx"], nodes["num_threshold"], nodes["missing_go_to_left"],
                          np.where(leaf, 0, nodes["left"] + offset), np.where(leaf, 0, nodes["right"] + offset),
                          leaf, nodes["value"]))
            offset += len(nodes)
        cols = list(zip(*parts))
        return cls(
            baseline=float(np.ravel(model._baseline_prediction)[0]),
            roots=np.asarray(roots, dtype=np.int32),
            feature=np.concatenate(cols[0]).astype(np.int16),
            threshold=np.concatenate(cols[1]).astype(np.float64),
            missing_left=np.concatenate(cols[2]).astype(bool),
            left=np.concatenate(cols[3]).astype(np.int32),
            right=np.concatenate(cols[4]).astype(np.int32),
            leaf=np.concatenate(cols[5]).astype(bool),
            value=np.concatenate(cols[6]).astype(np.float64),
        )

    @cached_property
    def _walk(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int], int]:
        """The trees recast for a branch-free walk: (column key, threshold, children, roots deepest tree
        first, their order, trees still walking at each step, row width).

        A leaf points to itself (threshold +inf), so the walks of all trees
        can take steps together with no bookkeeping of which are done. A
        missing value is read as -inf at nodes that send it left and as +inf
        at the others: the column key picks which copy of the row (NaN ->
        -inf, or NaN -> +inf) the node reads. Trees are walked deepest first,
        so the trees still walking at a step are a prefix (a tree of depth 6
        stops after 6 steps instead of walking the deepest tree's 12: a third
        fewer steps on the shipped models).
        """
        n_nodes = len(self.feature)
        ids = np.arange(n_nodes, dtype=np.int64)
        # a split may test only "missing or not" (threshold +inf): the largest float keeps +inf (missing) above it
        threshold = np.where(self.leaf, np.inf, np.minimum(self.threshold, _LARGEST))
        children = np.empty(2 * n_nodes, dtype=np.int64)
        children[0::2] = np.where(self.leaf, ids, self.left)
        children[1::2] = np.where(self.leaf, ids, self.right)
        width = int(self.feature.max()) + 1 if n_nodes else 1
        key = self.feature.astype(np.int64) + np.where(self.leaf | self.missing_left, 0, width)
        depths = np.zeros(len(self.roots), dtype=np.int64)  # steps until every walk of the tree is at a leaf
        frontier, tree, step = self.roots.astype(np.int64), np.arange(len(self.roots)), 0
        while (inner := ~self.leaf[frontier]).any():
            frontier, tree, step = frontier[inner], tree[inner], step + 1
            depths[tree] = step
            frontier, tree = np.concatenate([self.left[frontier], self.right[frontier]]), np.concatenate([tree, tree])
        order = np.argsort(-depths, kind="stable")
        walking = [int((depths > step).sum()) for step in range(int(depths.max()) if len(depths) else 0)]
        return key, threshold, children, self.roots.astype(np.int64)[order], order, walking, width

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Sum of all trees for each row of ``X`` (n, n_features), vectorised over rows and trees."""
        X = np.asarray(X, dtype=np.float64)
        n, n_trees = X.shape[0], len(self.roots)
        key, threshold, children, roots, order, walking, width = self._walk
        values = np.clip(X[:, :width], -_LARGEST, _LARGEST)  # an infinite value compares as it did; infinities mean missing
        missing = np.isnan(values)
        both = np.empty((n, 2 * width), dtype=np.float64)
        both[:, :width] = np.where(missing, -np.inf, values)
        both[:, width:] = np.where(missing, np.inf, values)
        flat = both.ravel()
        base = np.tile(np.arange(n, dtype=np.int64) * (2 * width), n_trees)
        node = np.repeat(roots, n)  # walk k is tree order[k // n] on row k % n: a step's walks are a prefix
        for m in walking:
            at, cols = node[:m * n], base[:m * n]
            node[:m * n] = children[2 * at + (flat[cols + key[at]] > threshold[at])]
        leaves = np.empty((n_trees, n), dtype=np.float64)
        leaves[order] = self.value[node].reshape(n_trees, n)
        return self.baseline + np.ascontiguousarray(leaves.T).sum(axis=1)  # summed in tree order, as always


# --------------------------------------------------------------------------- blend


@dataclass(frozen=True)
class Blend:
    """A linear correction of the trees' estimate, one per group of pairs (:data:`BLEND_GROUPS`).

    For a pair in group ``g``: ``intercept[g] + weights[g][0] * trees + sum(weights[g][1:] * signals)``,
    the signals being the named features (cosines; a missing one reads 0). Fitted by
    ``bench/train_scorer.py`` on the trees' out-of-fold estimates, so the weights say how far the
    trees' estimate is to be trusted next to the raw cosine. A group not listed keeps the trees' estimate.
    """

    signals: dict[str, tuple[str, ...]]
    weights: dict[str, tuple[float, ...]]
    intercept: dict[str, float]

    def apply(self, raw: np.ndarray, X: np.ndarray, features: Sequence[str]) -> np.ndarray:
        """Blended estimates for trees' estimates ``raw`` of the rows of ``X`` (columns ``features``)."""
        out = np.array(raw, dtype=np.float64, copy=True)
        if not len(out):
            return out
        masks = self.group_masks(X, features)
        for group, names in self.signals.items():
            mask = masks[group]
            if not mask.any():
                continue
            S = np.nan_to_num(np.asarray(X, dtype=np.float64)[mask][:, [features.index(n) for n in names]])
            w = np.asarray(self.weights[group], dtype=np.float64)
            out[mask] = self.intercept[group] + w[0] * out[mask] + S @ w[1:]
        return out

    @staticmethod
    def group_masks(X: np.ndarray, features: Sequence[str]) -> dict[str, np.ndarray]:
        """Which rows of ``X`` fall in each of :data:`BLEND_GROUPS`."""
        n = np.asarray(X).shape[0]
        english = (np.asarray(X, dtype=np.float64)[:, features.index("english")] == 1.0) if "english" in features \
            else np.zeros(n, dtype=bool)
        return {"english": english, "other": ~english}

    def to_json(self) -> dict:
        return {g: {"signals": list(self.signals[g]), "weights": [float(w) for w in self.weights[g]],
                    "intercept": float(self.intercept[g])} for g in self.signals}

    @classmethod
    def from_json(cls, data: dict) -> "Blend":
        unknown = set(data) - set(BLEND_GROUPS)
        if unknown:
            raise ValueError(f"blend groups {sorted(unknown)} unknown (known: {', '.join(BLEND_GROUPS)})")
        signals = {g: tuple(d["signals"]) for g, d in data.items()}
        weights = {g: tuple(float(w) for w in d["weights"]) for g, d in data.items()}
        for g in data:
            if len(weights[g]) != len(signals[g]) + 1:
                raise ValueError(f"blend group {g!r}: {len(weights[g])} weights for {len(signals[g])} signals and the trees")
        return cls(signals, weights, {g: float(d["intercept"]) for g, d in data.items()})


# --------------------------------------------------------------------------- model


@dataclass
class ScorerModel:
    """One shipped scorer: the feature recipe, the trees and the calibration map."""

    name: str
    embedders: tuple[str, ...]
    features: list[str]
    trees: Trees
    #: isotonic map overall -> probability, as increasing ``calib_x`` and values ``calib_y``
    calib_x: np.ndarray
    calib_y: np.ndarray
    card: dict = field(default_factory=dict)
    #: linear blend of the trees' estimate with a few cosines (None: the trees' estimate as it is)
    blend: Blend | None = None

    def overall(self, X: np.ndarray) -> np.ndarray:
        """Predicted 1-4 scores for a feature matrix in :attr:`features` order."""
        raw = self.trees.predict(X)
        if self.blend is not None:
            raw = self.blend.apply(raw, X, self.features)
        return np.clip(raw, 1.0, 4.0)

    def probability(self, overall: np.ndarray) -> np.ndarray:
        """Calibrated P(same story) for predicted ``overall`` scores."""
        return np.clip(np.interp(overall, self.calib_x, self.calib_y), 0.0, 1.0)

    def save(self, directory: Path = MODEL_DIR) -> tuple[Path, Path]:
        """Write ``NAME.npz`` (arrays) and ``NAME.json`` (the card) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self.trees, k) for k in Trees.ARRAYS}
        npz = directory / f"{self.name}.npz"
        np.savez_compressed(npz, **arrays, calib_x=self.calib_x, calib_y=self.calib_y)
        card = {"format": FORMAT_VERSION, "name": self.name, "embedders": list(self.embedders),
                "features": self.features, "baseline": self.trees.baseline,
                **({"blend": self.blend.to_json()} if self.blend is not None else {}), **self.card}
        meta = directory / f"{self.name}.json"
        meta.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return npz, meta

    @classmethod
    def load(cls, name_or_path: str | Path = DEFAULT_MODEL) -> "ScorerModel":
        """A shipped model by name, or a model saved elsewhere (path to its ``.json``)."""
        meta = Path(name_or_path) if str(name_or_path).endswith(".json") else MODEL_DIR / f"{name_or_path}.json"
        if not meta.is_file():
            known = ", ".join(MODEL_NAMES)
            raise ScorerError(f"no scorer model {name_or_path!r} (shipped: {known}; looked for {meta})")
        try:
            card = json.loads(meta.read_text(encoding="utf-8"))
            if card.get("format") != FORMAT_VERSION:
                raise ScorerError(f"{meta}: model format {card.get('format')!r}, this samestory reads {FORMAT_VERSION}")
            with np.load(meta.with_suffix(".npz"), allow_pickle=False) as data:
                arrays = {k: data[k] for k in Trees.ARRAYS}
                calib_x, calib_y = data["calib_x"], data["calib_y"]
            expected = feature_names(card["embedders"])
            if not set(card["features"]) <= set(expected):
                raise ScorerError(f"{meta}: features {sorted(set(card['features']) - set(expected))} unknown to this samestory")
            blend = Blend.from_json(card["blend"]) if card.get("blend") else None
            if blend is not None:
                missing = sorted({n for names in blend.signals.values() for n in names} - set(card["features"]))
                if missing:
                    raise ScorerError(f"{meta}: blend signals {missing} are not among the model's features")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ScorerError(f"{meta}: unreadable scorer model ({exc})") from exc
        trees = Trees(baseline=float(card["baseline"]), **arrays)
        rest = {k: v for k, v in card.items() if k not in ("format", "name", "embedders", "features", "baseline", "blend")}
        return cls(card["name"], tuple(card["embedders"]), list(card["features"]), trees, calib_x, calib_y, rest, blend)


@lru_cache(maxsize=len(MODEL_NAMES))
def load_model(name: str = DEFAULT_MODEL) -> ScorerModel:
    """A shipped model, loaded once per process."""
    return ScorerModel.load(name)


# --------------------------------------------------------------------------- scoring


def _has_words(p: PairText) -> bool:
    return bool((p.title or "").strip() or (p.text or "").strip())


def _same_content(a: PairText, b: PairText) -> bool:
    return " ".join(a.full.split()) == " ".join(b.full.split())


class Scorer:
    """Scores pairs of articles with one model, caching article embeddings.

    >>> scorer = Scorer()                                  # doctest: +SKIP
    >>> scorer.score(PairText(t1, x1), PairText(t2, x2))   # doctest: +SKIP
    PairScore(probability=0.97, overall=1.21)

    ``cache`` (an :class:`~samestory.embed.EmbeddingCache`, e.g. backed by a
    store) keeps article vectors between calls: an article met again costs
    no embedding.
    """

    def __init__(self, model: str | ScorerModel = DEFAULT_MODEL, cache=None):
        from .embed import EmbeddingCache

        self.model = load_model(model) if isinstance(model, str) else model
        self.cache = cache if cache is not None else EmbeddingCache(max_items=20_000)
        all_names = feature_names(self.model.embedders)
        self._columns = [all_names.index(f) for f in self.model.features]

    def features(self, pairs: Sequence[tuple[PairText, PairText]],
                 progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The model's feature matrix for ``pairs``."""
        return pair_features(pairs, self.model.embedders, self.cache, progress=progress)[:, self._columns]

    def score_many(self, pairs: Sequence[tuple[PairText, PairText]],
                   progress: Callable[[int], None] | None = None) -> list[PairScore]:
        """Scores for many pairs, batched (embeddings are the cost: one call per embedder).

        Raises :class:`ScorerError` naming the first pair with an article
        that has neither title nor text; check with :func:`unscorable` first
        to skip such pairs instead.
        """
        for i, (a, b) in enumerate(pairs):
            reason = unscorable(a, b)
            if reason:
                raise ScorerError(f"pair {i}: {reason}")
        if not pairs:
            return []
        overall = self.model.overall(self.features(pairs, progress))
        probability = self.model.probability(overall)
        out = []
        for (a, b), o, p in zip(pairs, overall, probability):
            if _same_content(a, b):  # an article with itself (or an exact copy): the top of the scale
                o, p = 1.0, 1.0
            out.append(PairScore(float(p), float(o)))
        return out

    def score(self, a: PairText, b: PairText) -> PairScore:
        """The score of one pair."""
        return self.score_many([(a, b)])[0]

    @property
    def embeddings_per_article(self) -> int:
        return len(self.model.embedders)


def unscorable(a: PairText, b: PairText) -> str | None:
    """Why a pair cannot be scored (an article with no title and no text), or None."""
    missing = [side for side, p in (("first", a), ("second", b)) if not _has_words(p)]
    if missing:
        return f"the {' and '.join(missing)} article has no title and no text: nothing to compare"
    return None


def expected_calibration_error(probability: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """ECE: mean |predicted - observed rate| over equal-width probability bins, weighted by bin size."""
    probability = np.asarray(probability, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    if not len(probability):
        return math.nan
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.sum() * abs(probability[m].mean() - outcome[m].mean())
    return total / len(probability)


__all__ = [
    "BLEND_GROUPS",
    "BLEND_SIGNALS",
    "Blend",
    "DEFAULT_MODEL",
    "MODEL_EMBEDDERS",
    "MODEL_NAMES",
    "PairScore",
    "SAME_STORY_BELOW",
    "Scorer",
    "ScorerError",
    "ScorerModel",
    "Trees",
    "expected_calibration_error",
    "load_model",
    "unscorable",
]
