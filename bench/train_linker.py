"""Train the story linker (samestory.cluster) on the labelled story streams, and measure clustering.

The streams in ``../shared/data/stories`` (GVA: US shooting incidents; AllSides:
US politics stories) give, for every article, its gold story. A gold-forced
pass over each stream, in date order, runs the clusterer's own candidate
search (nearest story centroids plus recent stories) and records, for every
candidate story member, the linker features of (article, member) and whether
they share a gold story. Boosted trees learn P(same story) from them.

**Honest figures**: the hidden test holds the other half of the same streams'
stories, so each stream's stories are split in two halves by a hash of the
gold id. A linker trained on half A's pairs (both streams) clusters half B's
articles, one pass in date order, through the real :class:`StoryClusterer`
and a real store, and B-cubed precision/recall/F1 is measured against gold;
then the other way round. Printed per stream and half, with the number of
stories against gold, next to a plain single-pass TF-IDF clusterer (3-day
window, the issue's baseline).

**Other languages**: both streams are English. SemEval-2022 task 8 pairs
(``../shared/data/semeval2022t8``: Spanish, Turkish, German, Arabic, French,
Polish, German-English, English) stand in for a multilingual feed: each pair
is scored as two articles of one day (the pairs carry no dates), its
annotators' ``overall`` saying same story (at most 1.5) or not (at least
2.5). The linker's trees for pairs not both English (:attr:`Linker.other`)
are trained on the streams' pairs plus the non-English SemEval pairs;
measured leave-one-fold-out (the pairs' ``fold``), pair by pair and by
clustering each fold's articles of one language pair on one day.

The shipped linker is then trained on all pairs and written to
``samestory/models/linker/linker.{npz,json}``.

    .venv/bin/python bench/train_linker.py            # train, measure, write the model
    .venv/bin/python bench/train_linker.py --no-write
    .venv/bin/python bench/train_linker.py --no-write --gaussian 0,3,7,14,30,60   # learned vs hand-set time profiles
    .venv/bin/python bench/train_linker.py --no-write --embedder minilm   # the clusterer on another embedder
    .venv/bin/python bench/train_linker.py --embedder use         # the shipped linker for the clusterer on USE
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn import __version__ as sklearn_version
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from samestory.article import Article  # noqa: E402
from samestory.clean import clean_article  # noqa: E402
from samestory.cluster import (ClusterConfig, Linker, StoryClusterer, article_day, iso_day, link_feature_names,  # noqa: E402
                               linker_path)
from samestory.embed import EmbeddingCache  # noqa: E402
from samestory.scorer import MODEL_EMBEDDERS, Trees  # noqa: E402
from samestory.store import Store  # noqa: E402

STREAMS = REPO.parent / "shared" / "data" / "stories"
NAMES = ("gva", "allsides")
TREE_PARAMS = dict(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0)
SCORER_MODEL = "fast"
#: Article vectors, shared by every pass over the streams (each pass would embed the same articles again).
VECTORS = EmbeddingCache()


def load_stream(name: str) -> tuple[list[Article], dict[str, str]]:
    rows = [json.loads(line) for line in open(STREAMS / name / "articles.jsonl", encoding="utf-8") if line.strip()]
    arts, gold = [], {}
    for r in rows:
        a = clean_article(Article(id=r["id"], title=r.get("title"), text=r.get("text") or "", date=r.get("date"),
                                  source=r.get("source"), url=r.get("url"), lang=r.get("lang")), detect_lang=False)
        arts.append(a)
        gold[a.id] = r["gold_story"]
    return arts, gold


def half_of(story: str) -> int:
    return int(hashlib.blake2b(story.encode(), digest_size=4).hexdigest(), 16) % 2


class _GoldLinker(Linker):
    """Placeholder: the gold-forced pass scores nothing. It lists every feature, so that the pass computes them
    all; the scorer's estimate only when the scorer model is made of this embedder's features."""

    def __init__(self, embedder: str):
        scorer_fits = MODEL_EMBEDDERS[SCORER_MODEL] == (embedder,)
        super().__init__([f for f in link_feature_names(embedder) if scorer_fits or f != "scorer_overall"],
                         None, SCORER_MODEL, {})


class GoldForcedClusterer(StoryClusterer):
    """Runs the real candidate search, records linker features, and follows the gold stories.

    With ``foreign`` articles (another stream: another topic), each article is also paired with
    ``negatives`` of them, moved to its day: unrelated news of the same day,
    which every general feed is full of but a one-topic stream's candidates never are.
    """

    def __init__(self, store, gold: dict[str, str], foreign: list[Article] = (), negatives: int = 2, seed: int = 0,
                 config: ClusterConfig = ClusterConfig()):
        super().__init__(store, config, linker=_GoldLinker(config.embedder))
        self.embeddings = VECTORS
        self.gold = gold
        self.sid_of_gold: dict[str, int] = {}
        self.rows: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.foreign = [art for art in self._prepare([(-1 - i, a, 1, False) for i, a in enumerate(foreign)])] if foreign else []
        self.negatives = negatives
        self.rng = np.random.default_rng(seed)

    def _choose(self, art):
        mine = self.gold[art.id]
        _, members = self.candidate_members(art, self.candidates(art))
        if members:
            self.rows.append(self.link_features(art, members))
            self.labels.append(np.array([self.gold[m.id] == mine for m in members], dtype=np.int8))
        if self.foreign:
            self.rows.append(self._unrelated_rows(art))
            self.labels.append(np.zeros(self.negatives, dtype=np.int8))
        sid = self.sid_of_gold.get(mine)
        if sid is None or sid not in self._stories:
            sid = self.sid_of_gold[mine] = self._new_story(art)
        return sid

    def _unrelated_rows(self, art) -> np.ndarray:
        picks = [self.foreign[i] for i in self.rng.choice(len(self.foreign), self.negatives, replace=False)]
        same_day = [replace(f, day=art.day, profile=replace(f.profile, date=iso_day(art.day))) for f in picks]
        return self.link_features(art, same_day)


def gold_pairs(arts: list[Article], gold: dict[str, str], foreign: list[Article] = (), seed: int = 0,
               config: ClusterConfig = ClusterConfig()) -> tuple[np.ndarray, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s") as store:
        c = GoldForcedClusterer(store, gold, foreign, seed=seed, config=config)
        c.add(arts)
        return np.vstack(c.rows), np.concatenate(c.labels)


#: SemEval pairs: same story when the annotators' overall is at most this, a different one from SEMEVAL_DIFFERENT
#: (between the two: neither, left out of training).
SEMEVAL_SAME, SEMEVAL_DIFFERENT = 1.5, 2.5
#: The figures count a pair as a different story from this overall on (clearer than the training bar).
SEMEVAL_REPORTED_DIFFERENT = 3.0
#: Weight of a SemEval pair in training the trees for other languages (1,451 pairs next to ~36,000 from the streams).
SEMEVAL_WEIGHT = 3.0


@dataclass
class SemevalPairs:
    """The SemEval pairs as the linker sees them: features, annotators' overall, fold, languages ("es-es",
    "de-en"), whether the copy rule joins them, and each side's article."""

    X: np.ndarray
    overall: np.ndarray
    fold: np.ndarray
    langs: np.ndarray
    copy: np.ndarray
    sides: list[tuple[Article, Article]]

    @property
    def foreign(self) -> np.ndarray:
        """Pairs the linker's other-language trees score (languages known, not both English)."""
        return self.langs != "en-en"

    def labels(self) -> np.ndarray:
        """1 same story, 0 different, -1 neither."""
        return np.where(self.overall <= SEMEVAL_SAME, 1, np.where(self.overall >= SEMEVAL_DIFFERENT, 0, -1))

    @property
    def other_language_labelled(self) -> np.ndarray:
        """The pairs that train the other-language trees."""
        return self.foreign & (self.labels() >= 0)


def semeval_pairs(config: ClusterConfig) -> SemevalPairs:
    """Every SemEval pair's linker features, the two articles placed on one day; the names' document frequencies
    are counted over all the pairs' articles, as over a stream of them."""
    from train_scorer import load_pairs

    rows = load_pairs()
    articles: dict[tuple, Article] = {}

    def side(row: dict, i: int) -> Article:
        key = (row[f"title{i}"] or "", row[f"text{i}"] or "", row[f"lang{i}"])
        if key not in articles:
            articles[key] = clean_article(Article(id=f"semeval-{len(articles)}", title=key[0] or None, text=key[1],
                                                  lang=key[2], date="2020-01-01"), detect_lang=False)
        return articles[key]

    sides = [(side(r, 1), side(r, 2)) for r in rows]
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s") as store:
        c = StoryClusterer(store, config, linker=_GoldLinker(config.embedder))
        c.embeddings = VECTORS
        day = article_day("2020-01-01")
        arts = list(articles.values())
        prepared = {a.id: p for a, p in zip(arts, c._prepare([(i, a, day, False) for i, a in enumerate(arts)]))}
        for art in prepared.values():
            c._count_names(art.profile.names)
        c._n_clustered = len(prepared)
        pairs = [(prepared[a.id], prepared[b.id]) for a, b in sides]
        X = np.vstack([c.link_features(a, [b]) for a, b in pairs])
        copy = np.array([bool(c._copies(a, [b], X[i:i + 1])[0]) for i, (a, b) in enumerate(pairs)])
    return SemevalPairs(X, np.array([r["overall"] for r in rows], dtype=np.float64), np.array([r["fold"] for r in rows]),
                        np.array([f"{r['lang1']}-{r['lang2']}" for r in rows]), copy, sides)


def fit_other(X: np.ndarray, y: np.ndarray, sem: SemevalPairs, cols: list[int], train: np.ndarray, seed: int
              ) -> HistGradientBoostingClassifier:
    """Trees for other languages: the streams' pairs ``X, y`` plus the labelled non-English SemEval pairs in ``train``."""
    pick = train & sem.other_language_labelled
    weight = np.r_[np.ones(len(y)), np.full(int(pick.sum()), SEMEVAL_WEIGHT)]
    return fit(np.vstack([X, sem.X[pick][:, cols]]), np.concatenate([y, sem.labels()[pick]]), seed, weight)


def semeval_figures(sem: SemevalPairs, X: np.ndarray, y: np.ndarray, cols: list[int], use: list[str], seed: int,
                    config: ClusterConfig) -> None:
    """Leave-one-fold-out: the streams' trees alone against the streams' trees plus other-language trees trained
    without the fold; pair by pair, then clustering each fold's articles of one language pair on one day."""
    english = to_linker(fit(X, y, seed), use, {})
    with_other = {}
    for f in np.unique(sem.fold):
        other = fit_other(X, y, sem, cols, sem.fold != f, seed)
        with_other[f] = Linker(english.features, english.trees, english.scorer_model, {}, Trees.from_sklearn(other))
    Xs = sem.X[:, cols]
    probs = {"streams' trees only": english.probability(Xs), "with other-language trees": np.zeros(len(Xs))}
    for f, linker in with_other.items():
        probs["with other-language trees"][sem.fold == f] = linker.probability(Xs[sem.fold == f])
    same, different = sem.overall <= SEMEVAL_SAME, sem.overall >= SEMEVAL_REPORTED_DIFFERENT
    groups = {"English (en-en)": sem.langs == "en-en",
              "one other language (es, tr, de, ar, fr, pl)": sem.foreign & (sem.langs != "de-en"),
              "German-English": sem.langs == "de-en"}
    print("\nOther languages: SemEval-2022 task 8 pairs, the two articles on one day, left-out fold "
          f"(same story: overall <= {SEMEVAL_SAME}; different: >= {SEMEVAL_REPORTED_DIFFERENT})")
    print(f"{'pairs':>44} {'linker':>27} {'same':>5} {'joined':>7} {'different':>9} {'joined':>7} {'pair AP':>8}")
    for name, sel in groups.items():
        for label, p in probs.items():
            p = np.where(sem.copy, 1.0, p)
            s, d = same & sel, different & sel
            ap = average_precision_score(np.r_[np.ones(s.sum()), np.zeros(d.sum())], np.r_[p[s], p[d]])
            print(f"{name:>44} {label:>27} {s.sum():>5} {np.mean(p[s] >= config.threshold):>7.3f} {d.sum():>9} "
                  f"{np.mean(p[d] >= config.threshold):>7.3f} {ap:>8.3f}")
    print("  clustered: each fold's articles of one language pair on one day; pairs put in one story")
    print(f"{'language pair':>14} {'articles':>8} {'linker':>27} {'stories':>8} {'same together':>13} {'different together':>18}")
    for langs in sorted(set(sem.langs), key=lambda g: -np.sum(sem.langs == g)):
        for label in probs:
            together = {True: [], False: []}
            n_articles = n_stories = 0
            for f in np.unique(sem.fold):
                sel = np.flatnonzero((sem.langs == langs) & (sem.fold == f))
                arts = list({a.id: a for i in sel for a in sem.sides[i]}.values())
                if not arts:
                    continue
                linker = english if label == "streams' trees only" else with_other[f]
                story, _ = run_clusterer(arts, linker, config)
                n_articles, n_stories = n_articles + len(arts), n_stories + len(set(story.values()))
                for i in sel:
                    if same[i] or different[i]:
                        a, b = sem.sides[i]
                        together[bool(same[i])].append(story[a.id] == story[b.id])
            print(f"{langs:>14} {n_articles:>8} {label:>27} {n_stories:>8} {np.mean(together[True]):>13.3f} "
                  f"{np.mean(together[False]):>18.3f}")


def fit(X: np.ndarray, y: np.ndarray, seed: int, weight: np.ndarray | None = None) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(random_state=seed, **TREE_PARAMS).fit(X, y, sample_weight=weight)


def bcubed(pred: list[str], gold: list[str]) -> tuple[float, float, float]:
    pc, gc, both = Counter(pred), Counter(gold), Counter(zip(pred, gold))
    p = float(np.mean([both[(a, b)] / pc[a] for a, b in zip(pred, gold)]))
    r = float(np.mean([both[(a, b)] / gc[b] for a, b in zip(pred, gold)]))
    return p, r, 2 * p * r / (p + r)


def run_clusterer(arts: list[Article], linker: Linker, config: ClusterConfig = ClusterConfig()) -> tuple[dict[str, str], float]:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s") as store:
        t0 = time.perf_counter()
        out = dict(StoryClusterer(store, config, linker=linker).add(arts))  # its own vectors: the speed is cold
        return out, time.perf_counter() - t0


def tfidf_baseline(arts: list[Article], threshold: float, window: int = 3) -> dict[str, str]:
    """Single-pass TF-IDF (word unigrams+bigrams, sublinear) clusterer: join the most similar story of the last 3 days."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from samestory.cluster import article_day

    order = sorted(range(len(arts)), key=lambda i: (article_day(arts[i].date) or 0, i))
    m = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2).fit_transform(
        [f"{a.title or ''}\n{a.text}" for a in arts]).tocsr()
    stories: list[tuple[list[int], int]] = []  # members, last day
    label: dict[str, str] = {}
    for i in order:
        day = article_day(arts[i].date) or 0
        best, best_sim = None, threshold
        for s, (members, last) in enumerate(stories):
            if day - last > window:
                continue
            centroid = np.asarray(m[members].mean(axis=0)).ravel()
            sim = float((m[i] @ centroid)[0])
            if sim >= best_sim:
                best, best_sim = s, sim
        if best is None:
            stories.append(([i], day))
            label[arts[i].id] = arts[i].id
        else:
            stories[best][0].append(i)
            stories[best] = (stories[best][0], day)
            label[arts[i].id] = arts[stories[best][0][0]].id
    return label


def gaussian_profiles(data: dict, streams: dict, use: list[str], sigmas: list[float], seed: int,
                      config: ClusterConfig = ClusterConfig()) -> None:
    """Held-out B-cubed F1 with a hand-set time profile: half linkers trained without ``day_gap``, each
    member's probability times a Gaussian of the days between it and the article (the learned profile is the
    table above)."""
    keep = [i for i, n in enumerate(use) if n != "day_gap"]
    names = [use[i] for i in keep]
    linkers = {}
    for h in (0, 1):
        train = [data[(n, 1 - h)] for n in NAMES]
        linkers[h] = to_linker(fit(np.vstack([d[1][:, keep] for d in train]), np.concatenate([d[2] for d in train]), seed), names, {})
    print("\ntime profile: the linker without the day gap, times a Gaussian of the days (sigma; 0: none), held-out mean of the halves")
    for sigma in sigmas:
        cells = []
        for name in NAMES:
            scores = []
            for h in (0, 1):
                part = data[(name, h)][0]
                gold = streams[name][1]
                labels, _ = run_clusterer(part, linkers[h], replace(config, recency_sigma_days=sigma or None))
                scores.append(bcubed([labels[a.id] for a in part], [gold[a.id] for a in part]))
            p, r, f = np.mean(scores, axis=0)
            cells.append(f"{name} P {p:.4f} R {r:.4f} F1 {f:.4f}")
        print(f"  sigma {sigma:>5g} days: " + "; ".join(cells))


def to_linker(model: HistGradientBoostingClassifier, names: list[str], card: dict) -> Linker:
    return Linker(names, Trees.from_sklearn(model), SCORER_MODEL, card)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--out", type=Path, default=None,
                    help="write the linker here (and its .npz beside it) instead of the shipped one")
    ap.add_argument("--baseline", action="store_true", help="also run the TF-IDF baseline (slow on GVA)")
    ap.add_argument("--embedder", default=ClusterConfig.embedder, choices=("static", "minilm", "use"),
                    help="article embedder of the clusterer (its centroids and the linker's similarity features); "
                         "the linker is written where the clusterer on that embedder loads it (samestory.cluster.linker_path)")
    ap.add_argument("--late-positives", default="", metavar="DAYS,K",
                    help="weigh the pairs of one gold story more than DAYS apart K times in training (follow-ups "
                         "weeks later: an experiment, off by default)")
    ap.add_argument("--drop", default="", help="comma-separated linker features to leave out (ablations)")
    ap.add_argument("--gaussian", default="", metavar="SIGMAS",
                    help="also compare the learned time profile with hand-set Gaussian ones (Miranda et al. 2018): a "
                         "linker without the day gap, its probabilities times a Gaussian of the days, these widths "
                         "(comma-separated days; 0: no time profile at all)")
    args = ap.parse_args(argv)
    config = ClusterConfig(embedder=args.embedder)
    names = link_feature_names(args.embedder)
    # date_gap_days: the same as day_gap here; scorer_overall: the shipped linker does without the scorer's
    # estimate (one tree ensemble less per article, and no worse held out), so a plain run reproduces it
    drop = {"date_gap_days", "scorer_overall"} | {d for d in args.drop.split(",") if d}
    use = [n for n in names if n not in drop]
    cols = [names.index(n) for n in use]

    def weights(X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        if not args.late_positives:
            return None
        days, k = (float(v) for v in args.late_positives.split(","))
        return np.where((y == 1) & (X[:, use.index("day_gap")] > days), k, 1.0)

    streams = {n: load_stream(n) for n in NAMES}
    print(f"story linker training (bench/train_linker.py): seed {args.seed}, embedder {args.embedder}, "
          f"scikit-learn {sklearn_version}")
    data = {}
    for name, (arts, gold) in streams.items():
        for h in (0, 1):
            part = [a for a in arts if half_of(gold[a.id]) == h]
            # unrelated-news negatives from the same half of the other stream (never from a held-out half)
            other = [a for n, (o_arts, o_gold) in streams.items() if n != name for a in o_arts if half_of(o_gold[a.id]) == h]
            t0 = time.perf_counter()
            X, y = gold_pairs(part, gold, other, args.seed, config)
            data[(name, h)] = (part, X[:, cols], y)
            print(f"  {name} half {h}: {len(part)} articles, {len(set(gold[a.id] for a in part))} stories, "
                  f"{len(y)} candidate pairs ({y.mean():.1%} same story), {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    print("\nB-cubed on each held-out half (linker trained on the other half of both streams), one pass in date order")
    print(f"{'stream':>9} {'half':>4} {'articles':>8} {'P':>7} {'R':>7} {'F1':>7} {'stories':>8} {'gold':>6} {'pair AP':>8} {'art/s':>6}")
    figures: dict = {}
    for h in (0, 1):
        train = [data[(n, 1 - h)] for n in NAMES]
        X_train, y_train = np.vstack([d[1] for d in train]), np.concatenate([d[2] for d in train])
        model = fit(X_train, y_train, args.seed, weights(X_train, y_train))
        linker = to_linker(model, use, {})
        for name in NAMES:
            part, X, y = data[(name, h)]
            gold = streams[name][1]
            ap_pairs = average_precision_score(y, model.predict_proba(X)[:, 1])
            labels, secs = run_clusterer(part, linker, config)
            p, r, f = bcubed([labels[a.id] for a in part], [gold[a.id] for a in part])
            figures.setdefault(name, []).append({"half": h, "P": p, "R": r, "F1": f, "stories": len(set(labels.values())),
                                                  "gold": len(set(gold[a.id] for a in part))})
            print(f"{name:>9} {h:>4} {len(part):>8} {p:7.4f} {r:7.4f} {f:7.4f} {len(set(labels.values())):>8} "
                  f"{len(set(gold[a.id] for a in part)):>6} {ap_pairs:8.4f} {len(part) / secs:6.0f}")
    for name in NAMES:
        f = figures[name]
        print(f"{name:>9} mean P {np.mean([x['P'] for x in f]):.4f} R {np.mean([x['R'] for x in f]):.4f} "
              f"F1 {np.mean([x['F1'] for x in f]):.4f}")

    if args.gaussian:
        gaussian_profiles(data, streams, use, [float(x) for x in args.gaussian.split(",")], args.seed, config)

    if args.baseline:
        print("\nbaseline: single-pass TF-IDF, 3-day window (threshold picked on the other half)")
        for name in NAMES:
            arts, gold = streams[name]
            for h in (0, 1):
                tune = [a for a in arts if half_of(gold[a.id]) != h]
                test = [a for a in arts if half_of(gold[a.id]) == h]
                best = max((bcubed([lab[a.id] for a in tune], [gold[a.id] for a in tune])[2], t)
                           for t in (0.1, 0.15, 0.2, 0.3, 0.4, 0.5) for lab in [tfidf_baseline(tune, t)])
                lab = tfidf_baseline(test, best[1])
                p, r, f = bcubed([lab[a.id] for a in test], [gold[a.id] for a in test])
                print(f"{name:>9} {h:>4} threshold {best[1]}: P {p:.4f} R {r:.4f} F1 {f:.4f}")

    X = np.vstack([d[1] for d in data.values()])
    y = np.concatenate([d[2] for d in data.values()])
    t0 = time.perf_counter()
    sem = semeval_pairs(config)
    print(f"  SemEval: {len(sem.overall)} pairs, {int(sem.other_language_labelled.sum())} labelled in other "
          f"languages, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    semeval_figures(sem, X, y, cols, use, args.seed, config)

    if not args.no_write:
        model = fit(X, y, args.seed, weights(X, y))
        other = fit_other(X, y, sem, cols, np.ones(len(sem.overall), dtype=bool), args.seed)
        card = {"trained_by": "bench/train_linker.py", "seed": args.seed, "pairs": int(len(y)),
                "streams": list(NAMES), "trees": f"scikit-learn {sklearn_version} HistGradientBoostingClassifier",
                "figures_held_out_half": figures, "embedder": args.embedder,
                "other_languages": f"streams plus {int(sem.other_language_labelled.sum())} SemEval-2022 task 8 "
                                   f"pairs (same story: overall <= {SEMEVAL_SAME}, different: >= {SEMEVAL_DIFFERENT}; "
                                   f"weight {SEMEVAL_WEIGHT})",
                **({"late_positives": args.late_positives} if args.late_positives else {})}
        out = args.out or linker_path(args.embedder)
        linker = to_linker(model, use, card)
        linker.other = Trees.from_sklearn(other)
        linker.save(out)
        print(f"\nwrote {out} and {out.with_suffix('.npz')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
