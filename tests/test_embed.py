"""The embed stage: shipped models load offline, vectors behave, articles are chunked, the cache round-trips."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import block_network

from samestory import embed as E

GUITAR = ["A man is playing a guitar.", "Someone plays a guitar on stage.", "The central bank raised interest rates by half a point."]
EN_DE = ("The government has announced new measures against the rising cost of energy.",
         "Die Regierung hat neue Maßnahmen gegen die steigenden Energiekosten angekündigt.",
         "Der Fußballverein gewann am Samstag das Pokalfinale im Elfmeterschießen.")




@pytest.fixture(scope="module", params=["minilm", "use", "static"])
def embedder(request):
    """Each shipped model, loaded (fresh, not from get_embedder's cache) and first used with the network blocked."""
    with pytest.MonkeyPatch.context() as mp:
        block_network(mp)
        model = {"minilm": E.MiniLMEmbedder, "use": E.USEEmbedder, "static": E.StaticEmbedder}[request.param]()
        model.embed(GUITAR)
    return model


def test_loads_and_embeds_without_network(embedder):
    with pytest.MonkeyPatch.context() as mp:
        block_network(mp)
        vecs = embedder.embed(GUITAR + [""])
    assert vecs.shape == (4, embedder.dim) and vecs.dtype == np.float32
    assert isinstance(embedder, E.Embedder) and embedder.name


def test_rows_are_unit_length_and_empty_text_is_zero(embedder):
    vecs = embedder.embed(GUITAR + ["", "   \n"])
    np.testing.assert_allclose(np.linalg.norm(vecs[:3], axis=1), 1.0, atol=1e-5)
    assert not vecs[3:].any()
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_deterministic_and_independent_of_batch(embedder):
    a = embedder.embed(GUITAR)
    assert np.array_equal(a, embedder.embed(GUITAR))
    alone = embedder.embed([GUITAR[2]])[0]
    mixed = embedder.embed(["short", GUITAR[2], " ".join(GUITAR * 20)])[1]
    np.testing.assert_allclose(alone, a[2], atol=1e-5)
    np.testing.assert_allclose(mixed, a[2], atol=1e-5)


def test_similar_sentences_closer_than_unrelated(embedder):
    v = embedder.embed(GUITAR)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert v[0] @ v[1] > v[1] @ v[2] + 0.3


def test_use_is_cross_lingual():
    use = E.get_embedder("use")
    en, de, other = use.embed(EN_DE)
    assert en @ de > 0.7
    assert en @ de > en @ other + 0.4


def test_long_text_is_not_truncated(embedder):
    head = " ".join(["The city council met on Monday to discuss the new budget for schools and roads."] * 200)  # 3,000 words
    tail_a = head + " The storm destroyed hundreds of homes along the coast." * 40
    tail_b = head + " The team won the championship after a dramatic final." * 40
    va, vb = embedder.embed([tail_a, tail_b])
    assert abs(np.linalg.norm(va) - 1) < 1e-5
    assert va @ vb < 0.999  # a truncating model would give the same vector twice (cosine 1)


def test_minilm_windows():
    minilm = E.get_embedder("minilm")
    assert minilm.windows("") == 0 and minilm.windows("hello") == 1
    assert minilm.windows("word " * 300) == 2  # 300 pieces -> two windows of 150


def test_chunks_cover_all_text_and_grow_with_length():
    sentence = "Officials said the bridge would reopen next week after repairs to its deck. "
    counts = []
    for n in (5, 40, 120, 400):
        text = sentence * n
        chunks = E.chunk_text(text)
        assert " ".join(chunks).split() == text.split()  # nothing dropped, order kept
        assert all(len(c.split()) <= E.CHUNK_WORDS * 1.2 for c in chunks)
        counts.append(len(chunks))
    assert counts == sorted(counts) and counts[0] == 1 and counts[-1] > counts[1] > 1


def test_long_sentence_and_unspaced_text_are_cut():
    words = " ".join(f"w{i}" for i in range(1000))  # one 1,000-word "sentence"
    chunks = E.chunk_text(words)
    assert len(chunks) == 5 and " ".join(chunks) == words
    assert len(E.chunk_text("字" * 6000)) > 1


def test_article_chunk_count_and_cap():
    static = E.get_embedder("static")
    para = "Rescue teams searched the collapsed building through the night. Two survivors were found. "
    short, long = E.embed_articles([("Quake", para * 10), ("Quake", para * 200)], static)
    assert 1 <= len(short.chunks) < len(long.chunks) and not long.sampled
    huge = E.embed_article("Quake", para * 15_000, static)  # ~1.4 MB, ~200,000 words
    assert len(huge.chunks) == E.MAX_CHUNKS and huge.chunks_total > E.MAX_CHUNKS and huge.sampled
    assert huge.n_words > 190_000


def test_article_vectors_parts_and_doc():
    static = E.get_embedder("static")
    av = E.embed_article("Central bank raises rates", "The central bank raised its key interest rate on Thursday. " * 5, static)
    for v in (av.title, av.lead, av.doc, av.body):
        assert abs(np.linalg.norm(v) - 1) < 1e-5
    assert av.chunks.shape == (1, static.dim) and not av.empty
    assert av.doc @ av.title > 0.5 and av.doc @ av.body > 0.5
    other = E.embed_article("Storm hits coast", "A powerful storm destroyed homes along the coast. " * 5, static)
    sims = E.pair_similarities(av, other)
    assert set(sims) == {"doc", "title", "lead", "body", "chunk_max", "chunk_match"}
    assert E.pair_similarities(av, av)["doc"] == pytest.approx(1.0, abs=1e-5)


def test_empty_article_gives_zero_vectors():
    static = E.get_embedder("static")
    nothing, title_only, text_only = E.embed_articles([("", ""), ("Storm hits coast", None), (None, "A storm hit the coast.")], static)
    assert nothing.empty and not nothing.doc.any() and len(nothing.chunks) == 0
    assert E.cosine(nothing.doc, title_only.doc) == 0.0
    np.testing.assert_allclose(title_only.doc, title_only.title, atol=1e-6)
    assert not title_only.lead.any() and len(title_only.chunks) == 0
    assert not text_only.title.any() and len(text_only.chunks) == 1


class CountingEmbedder:
    """Deterministic fake vectors from a hash of the text; counts calls and texts."""

    name = "fake-v1"
    dim = 16

    def __init__(self):
        self.calls = 0
        self.texts = 0

    def embed(self, texts):
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            if t.strip():
                seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
                out[i] = np.random.default_rng(seed).normal(size=self.dim)
        return E._unit_rows(out)


def test_many_articles_one_embed_call_and_cache_hits():
    fake = CountingEmbedder()
    store: dict = {}
    cache = E.EmbeddingCache(load=store.get, save=store.__setitem__)
    arts = [(f"Title {i}", f"Body of article {i}. It has two sentences.") for i in range(50)]
    first = E.embed_articles(arts + arts[:10], fake, cache=cache)  # repeats within the call are embedded once
    assert fake.calls == 1 and fake.texts == 50 * 3
    assert first[50] is first[0] and len(store) == 50
    again = E.embed_articles(arts, fake, cache=cache)
    assert fake.calls == 1 and cache.hits >= 50
    assert all(a is b for a, b in zip(first, again))
    # a fresh in-memory cache reads the persisted bytes back
    cold = E.EmbeddingCache(load=store.get)
    back = E.embed_articles(arts[:3], fake, cache=cold)
    assert fake.calls == 1
    np.testing.assert_allclose(back[0].doc, first[0].doc, atol=2e-3)


def test_cache_key_and_lru():
    fake = CountingEmbedder()
    k1 = E.EmbeddingCache.key(fake, "T", "body")
    assert k1 == ("fake-v1", E.content_hash("T", "body"))
    assert k1 != E.EmbeddingCache.key(fake, "T", "body.") != E.EmbeddingCache.key("other", "T", "body")
    cache = E.EmbeddingCache(max_items=2)
    avs = E.embed_articles([("a", "x."), ("b", "y."), ("c", "z.")], fake)
    for i, av in enumerate(avs):
        cache.put(("fake-v1", str(i)), av)
    assert len(cache) == 2 and ("fake-v1", "0") not in cache and cache.get(("fake-v1", "2")) is avs[2]


def test_bytes_round_trip_is_compact():
    minilm = E.get_embedder("minilm")
    av = E.embed_article("Bridge reopens", "Officials said the bridge would reopen next week. " * 60, minilm)
    data = av.to_bytes()
    n = 2 + len(av.chunks)  # title, lead, chunks; doc is recombined on reading
    assert len(data) < n * minilm.dim * 2 + 64  # float16
    back = E.ArticleVectors.from_bytes(data)
    assert back.embedder == av.embedder and back.n_words == av.n_words and back.chunks_total == av.chunks_total
    for a, b in ((av.title, back.title), (av.lead, back.lead), (av.doc, back.doc), (av.chunks, back.chunks)):
        np.testing.assert_allclose(a, b, atol=2e-3)
    empty = E.ArticleVectors.from_bytes(E.embed_article("", "", minilm).to_bytes())
    assert empty.empty and empty.chunks.shape == (0, minilm.dim)
    with pytest.raises(ValueError):
        E.ArticleVectors.from_bytes(b"XXXX" + data[4:])
    with pytest.raises(ValueError):
        E.ArticleVectors.from_bytes(data[:-2])


def test_get_embedder_names_and_missing_model(tmp_path):
    assert E.get_embedder("static") is E.get_embedder("static")
    with pytest.raises(ValueError, match="unknown embedder"):
        E.get_embedder("bert-large")
    with pytest.raises(E.ModelMissingError, match="no MiniLM ONNX model shipped at .*reinstall samestory"):
        E.MiniLMEmbedder(model_path=tmp_path / "missing.onnx")
    with pytest.raises(E.ModelMissingError, match="tokenizer shipped at"):
        E.MiniLMEmbedder(tokenizer_path=tmp_path / "tokenizer.json")


def test_sentences_and_lead():
    text = "First sentence here. Second one! Third? Fourth.\n\nA new paragraph without end"
    assert E.sentences(text) == ["First sentence here.", "Second one!", "Third?", "Fourth.", "A new paragraph without end"]
    assert E.lead_text(text) == "First sentence here. Second one! Third?"
    long_first = " ".join(["word"] * 300) + ". Next."
    assert len(E.lead_text(long_first).split()) == E.LEAD_WORDS * 3 // 2
    assert E.sentences("") == [] and E.lead_text("") == "" and E.chunk_text("  ") == []


def test_pair_similarities_many_matches_pair_similarities():
    from samestory.embed import embed_articles, pair_similarities, pair_similarities_many

    texts = [("Bridge reopens", "The bridge reopened on Thursday. " * 60), ("", "Cars cross the bridge again after repairs."),
             ("Library hours", ""), ("Fire in the harbour", "A warehouse burned. Nobody was hurt. " * 30)]
    vecs = embed_articles(texts, "static")
    parts = ("doc", "title", "lead", "body", "chunk_max", "chunk_match")
    for a in vecs:
        many = pair_similarities_many(a, vecs)
        for i, b in enumerate(vecs):
            one = pair_similarities(a, b)
            assert np.allclose(many[i], [one[p] for p in parts], atol=1e-5)
