"""Near-copy engine: verification, batch groups, the store-backed index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samestory.article import Article
from samestory import dedup as dedup_module
from samestory.dedup import (
    DedupConfig,
    NearCopyIndex,
    UnionFind,
    dedup_batch,
    may_be_near,
    verify,
)
from samestory.errors import SamestoryError
from samestory.fingerprint import fingerprint, fingerprint_many
from samestory.store import Store

STORY = [
    "Port Alder's harbour bridge reopened on Thursday after three weeks of repairs to its lifting deck, the city's transport office said.",
    "Engineers replaced two corroded hinges and tested the deck under load on Wednesday night before clearing it for traffic at dawn.",
    "Ferry operators, who carried extra passengers while the bridge was closed, said they would return to their normal timetable on Monday.",
    "The repairs cost 4.2 million dollars, about a third more than planned, because steel for the hinges had to be made to order abroad.",
    "Mayor Lena Ortiz thanked residents for their patience and said a full inspection of the city's other two bridges would begin in May.",
]
OTHER = [
    "Velden's orchard growers counted the damage on Friday after a hailstorm flattened young fruit across the valley in less than ten minutes.",
    "The growers' association said about a fifth of the apple crop was lost and asked the regional government for emergency help.",
    "Insurance claims are expected to pass one million euros, the association's chair said, the highest since the storms of 2011.",
    "Forecasters warned that more storms could follow over the weekend as warm air moves north from the coast.",
]


def art(id_, paras, date=None):
    return Article(id=id_, text="\n\n".join(paras), date=date)


def test_verify_exact_and_near_and_unrelated():
    a = fingerprint("\n\n".join(STORY))
    assert verify(a, fingerprint("\n\n".join(STORY).upper())) == verify(a, a)
    assert verify(a, a).near and verify(a, a).jaccard == 1.0
    edited = STORY[:2] + ["An inserted sentence about something else entirely here."] + STORY[2:]
    v = verify(a, fingerprint("\n\n".join(edited)))
    assert v.near and 0.7 < v.jaccard < 1.0
    cut = fingerprint("\n\n".join(STORY[1:3]))
    v = verify(a, cut)
    assert v.near and v.jaccard < 0.5 and v.containment == 1.0
    v = verify(a, fingerprint("\n\n".join(OTHER)))
    assert not v.near and v.jaccard == 0.0


def test_short_texts_are_not_contained_in_everything():
    a = fingerprint("\n\n".join(STORY))
    tiny = fingerprint("the city's transport office said")
    v = verify(a, tiny)
    assert v.containment == 1.0 and not v.near


def test_batch_groups_and_earliest_is_duplicate_of():
    rows = dedup_batch([
        art("late-original", STORY, "2024-03-15"),
        art("other", OTHER, "2024-03-10"),
        art("early-copy", STORY[::-1], "2024-03-14"),  # reordered paragraphs, earlier date
        art("undated-copy", STORY[:4]),
    ])
    by = {r.id: r for r in rows}
    assert [r.id for r in rows] == ["late-original", "other", "early-copy", "undated-copy"]
    assert by["early-copy"].duplicate_of is None and by["early-copy"].group == "early-copy"
    assert by["late-original"].duplicate_of == "early-copy"
    assert by["undated-copy"].duplicate_of == "early-copy"
    assert by["other"].group == "other" and by["other"].duplicate_of is None
    # shingles stay inside paragraphs: reordering them changes nothing, the reorder is a full copy
    assert by["late-original"].similarity == 1.0 and by["late-original"].group == "early-copy"


def test_batch_rejects_duplicate_ids():
    with pytest.raises(SamestoryError, match="duplicate article id 'x'"):
        dedup_batch([art("x", STORY), art("x", OTHER)])


def test_empty_texts_stay_alone():
    rows = dedup_batch([Article(id="e1", text=""), Article(id="e2", text=""), art("s", STORY)])
    assert [r.group for r in rows] == ["e1", "e2", "s"]


def test_union_find():
    uf = UnionFind(5)
    uf.union(0, 1)
    uf.union(3, 4)
    uf.union(1, 4)
    assert len({uf.find(i) for i in range(5)}) == 2
    assert uf.find(2) == 2


def test_store_index_matches_batch_and_is_incremental(tmp_path):
    batch1 = [art("a", STORY, "2024-03-15"), art("b", OTHER, "2024-03-15")]
    batch2 = [art("c", STORY[1:], "2024-03-16"), art("d", OTHER[::-1], "2024-03-09"), art("a", STORY, "2024-03-15")]
    with Store(tmp_path / "s") as store:
        index = NearCopyIndex(store)
        first = list(index.add(batch1))
        assert [(a.id, new) for a, _, new in first] == [("a", True), ("b", True)]
    with Store(tmp_path / "s") as store:  # reopened: checked against what is stored
        index = NearCopyIndex(store)
        second = list(index.add(batch2))
        assert [(a.id, new) for a, _, new in second] == [("c", True), ("d", True), ("a", False)]
        rows = {r.id: r for r in index.rows()}
        assert store.count() == 4
        assert store.integrity_check() == []
    assert rows["c"].duplicate_of == "a"
    assert rows["b"].duplicate_of == "d" and rows["d"].duplicate_of is None  # d is dated earlier
    want = {r.id: r for r in dedup_batch(batch1 + batch2[:2])}
    assert {k: (v.group, v.duplicate_of) for k, v in rows.items()} == {k: (v.group, v.duplicate_of) for k, v in want.items()}


def test_store_remove_reforms_the_group(tmp_path):
    with Store(tmp_path / "s") as store:
        index = NearCopyIndex(store)
        # b and c are both cut-down copies of a, but share too little with each other
        list(index.add([art("a", STORY), art("b", STORY[:2]), art("c", STORY[3:])]))
        assert {r.id: r.group for r in index.rows()} == {"a": "a", "b": "a", "c": "a"}
        assert index.remove("a")
        assert not index.remove("a")
        assert {r.id: r.group for r in index.rows()} == {"b": "b", "c": "c"}
        assert store.db.execute("SELECT COUNT(*) FROM lsh_buckets").fetchone()[0] == 2 * (DedupConfig().fingerprint.bands + DedupConfig().fingerprint.paragraph_bands)
        assert store.integrity_check() == []


def test_articles_another_stage_stored_are_indexed_when_first_seen_here(tmp_path):
    """A store shared with clustering: articles it stored first get fingerprints when dedup first sees them."""
    with Store(tmp_path / "s") as store:
        with store.transaction():
            store.add_article(art("a", STORY, "2024-03-15"))  # as `cluster --store` stores it: no fingerprint
        index = NearCopyIndex(store)
        added = list(index.add([art("a", STORY, "2024-03-15"), art("c", STORY[1:], "2024-03-16")]))
        assert [(a.id, new) for a, _, new in added] == [("a", True), ("c", True)]
        assert {r.id: r.duplicate_of for r in index.rows()} == {"a": None, "c": "a"}
        assert [(a.id, new) for a, _, new in index.add([art("a", STORY, "2024-03-15")])] == [("a", False)]


def test_an_index_for_a_store_takes_the_fingerprint_settings_it_was_made_with(tmp_path):
    from samestory.fingerprint import FingerprintConfig

    other = DedupConfig(fingerprint=FingerprintConfig(shingle_words=4))
    with Store(tmp_path / "s") as store:
        list(NearCopyIndex(store, other).add([art("a", STORY), art("b", STORY[:2])]))
        with pytest.raises(SamestoryError):
            NearCopyIndex(store)
        index = NearCopyIndex.for_store(store)
        assert index.config.fingerprint == other.fingerprint and index.remove("b") and store.count() == 1


def test_store_refuses_other_fingerprint_settings(tmp_path):
    from samestory.fingerprint import FingerprintConfig

    with Store(tmp_path / "s") as store:
        NearCopyIndex(store)
        with pytest.raises(SamestoryError, match="cannot be compared"):
            NearCopyIndex(store, DedupConfig(fingerprint=FingerprintConfig(shingle_words=3)))


def test_store_refuses_fingerprints_of_an_older_scheme(tmp_path):
    old = '{"bands": 64, "num_perm": 128, "rows": 2, "seed": 1, "shingle_words": 5}'  # as stores before schemes recorded it
    with Store(tmp_path / "s") as store:
        with store.transaction() as db:
            db.execute("INSERT INTO meta(key, value) VALUES ('fingerprint_config', ?)", (old,))
        with pytest.raises(SamestoryError, match="fingerprint scheme 1.*scheme 3"):
            NearCopyIndex(store)
        assert store.db.execute("SELECT value FROM meta WHERE key = 'fingerprint_config'").fetchone()[0] == old  # left untouched


# A longer story in many paragraphs, for cut-down copies.
LONG = [f"{s} {o}" for s, o in zip(STORY * 2, (OTHER * 3)[::-1])]


def test_cut_down_copies_join_through_the_full_story():
    """Two cut-downs keeping different paragraphs share little; each is wholly inside the full story.

    The earliest article is one cut-down (a copy may be dated before its
    source); the other cut-down joins the group through the full story.
    """
    a = art("cut-a", [LONG[i] for i in (0, 2, 5, 7)], "2024-03-01")
    full = art("full", LONG, "2024-03-02")
    b = art("cut-b", [LONG[i] for i in (1, 3, 4, 8)], "2024-03-03")
    fa, ff, fb = fingerprint_many([a.text, full.text, b.text])
    assert not verify(fb, fa).near  # the cut-downs are not near-copies of each other
    assert verify(fb, ff).containment == verify(fa, ff).containment == 1.0 and verify(fb, ff).near and verify(fa, ff).near
    rows = {r.id: r for r in dedup_batch([a, full, b], workers=1)}
    assert rows["full"].duplicate_of == "cut-a" and rows["cut-b"].duplicate_of == "cut-a"


def test_boilerplate_copies_do_not_chain_stories():
    """Copies of two stories with the same long footer verify against each other, not against the other story."""
    footer = [
        "Sign up for our morning newsletter to get the day's top headlines delivered to your inbox every single day of the week.",
        "By signing up you agree to our terms of use and privacy policy, and you can unsubscribe at any time from any message.",
        "Follow us on Facebook and Twitter for breaking news alerts, and send your news tips to our newsroom any time, day or night.",
    ]
    s1, s2 = STORY[:2], OTHER[:2]
    items = [art("s1", s1, "2024-03-01"), art("s2", s2, "2024-03-01"), art("c1", s1 + footer, "2024-03-02"), art("c2", s2 + footer, "2024-03-02")]
    f = fingerprint_many([x.text for x in items])
    assert verify(f[2], f[3]).near  # the footer alone makes the copies near-copies of each other
    rows = {r.id: r.group for r in dedup_batch(items, workers=1)}
    assert rows["c1"] == rows["s1"] and rows["c2"] == rows["s2"] and rows["s1"] != rows["s2"]


def _corpus(n_stories: int = 60, seed: int = 5) -> list[Article]:
    """Invented stories, each with a few edited copies (exact ones too), dated so that copies sometimes come first."""
    import random

    rng = random.Random(seed)
    vocab = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi") for b in ("da", "gro", "pe", "zu", "ti", "ma", "lek")]
    out = []
    for s in range(n_stories):
        paras = [" ".join(rng.choice(vocab) for _ in range(rng.randint(12, 30))) + "." for _ in range(rng.randint(3, 9))]
        out.append(art(f"s{s}", paras, f"2024-03-{rng.randint(1, 20):02d}"))
        for c in range(rng.randint(0, 3)):
            kind = rng.choice(["cut", "reorder", "footer", "words", "exact", "one"])
            if kind == "cut":
                cp = [p for p in paras if rng.random() < 0.5] or paras[:1]
            elif kind == "exact":
                cp = paras
            elif kind == "one":
                cp = [rng.choice(paras)]
            elif kind == "reorder":
                cp = rng.sample(paras, len(paras))
            elif kind == "footer":
                cp = paras + ["Copyright 2024 Some Outlet. All rights reserved. This material may not be published or redistributed."]
            else:
                cp = [" ".join(w if rng.random() > 0.04 else rng.choice(vocab) for w in p.split()) for p in paras]
            out.append(art(f"s{s}c{c}", cp, f"2024-03-{rng.randint(1, 20):02d}"))
    return out


def test_parallel_fingerprinting_gives_the_same_rows(monkeypatch):
    articles = _corpus()
    serial = dedup_batch(articles, workers=1)
    monkeypatch.setattr(dedup_module, "PARALLEL_MIN_ARTICLES", 10)
    seen = []
    real = dedup_module._fingerprint_parallel

    def spy(*args, **kwargs):
        seen.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(dedup_module, "_fingerprint_parallel", spy)
    monkeypatch.setattr(dedup_module, "FINGERPRINT_CHUNK", 17)
    parallel = dedup_batch(articles, workers=2)
    assert seen  # the worker processes were used
    assert [r.as_dict() for r in parallel] == [r.as_dict() for r in serial]
    assert len({r.group for r in serial}) < len(articles)  # the corpus has copies to find


def test_small_input_stays_serial(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("no worker processes for a small input")

    monkeypatch.setattr(dedup_module, "_fingerprint_parallel", boom)
    assert len(dedup_batch(_corpus(5), workers=2)) > 5


def test_signature_prefilter_never_drops_a_pair_the_rule_accepts():
    """may_be_near is a conservative bound: every pair verify accepts passes it."""
    articles = _corpus(80)
    fps = fingerprint_many([a.text for a in articles])
    accepted = rejected_by_filter = 0
    for i in range(len(fps)):
        for j in range(i + 1, len(fps)):
            est = fps[i].estimate_jaccard(fps[j])
            ok = may_be_near(est, len(fps[i].shingles), len(fps[j].shingles))
            v = verify(fps[i], fps[j])
            if v.near:
                accepted += 1
                assert ok, (articles[i].id, articles[j].id, est, v)
            elif not ok:
                rejected_by_filter += 1
    assert accepted > 50 and rejected_by_filter > 1000  # it does filter, and there was something to keep
    assert not may_be_near(0.02, 400, 420) and may_be_near(0.1, 400, 420)  # 0.3 - 0.23 margin
    assert may_be_near(0.02, 25, 1000)  # a short text may be contained in a long one at any Jaccard


def test_store_agrees_with_batch_on_a_corpus_with_copies(tmp_path):
    articles = sorted(_corpus(), key=lambda a: a.date)  # the store sees them in date order
    want = {r.id: (r.group, r.duplicate_of) for r in dedup_batch(articles, workers=1)}
    with Store(tmp_path / "s") as store:
        index = NearCopyIndex(store)
        for _ in index.add(articles, chunk=37):
            pass
        got = {r.id: (r.group, r.duplicate_of) for r in index.rows()}
        assert index.skipped > 0  # the signature pre-filter saved some exact verifications
    assert got == want


def test_a_page_of_only_boilerplate_does_not_merge_the_stories_that_carry_it(tmp_path):
    """A page that is nothing but a footer is contained in every copy carrying that footer; it must not join their stories."""
    footer = [
        "Comments on this story are moderated. Please keep your comments civil and on topic, and read our guidelines first.",
        "Sign up for our morning newsletter to get the day's top headlines delivered to your inbox before you wake up.",
    ]
    items = [
        art("footer-page", footer, "2024-03-01"),  # earliest of all
        art("s1", STORY, "2024-03-02"),
        art("s2", OTHER, "2024-03-02"),
        art("c1", STORY + footer, "2024-03-03"),
        art("c2", OTHER + footer, "2024-03-03"),
    ]
    rows = {r.id: r.group for r in dedup_batch(items, workers=1)}
    assert rows["c1"] == rows["s1"] and rows["c2"] == rows["s2"] and rows["s1"] != rows["s2"]
    with Store(tmp_path / "s") as store:
        index = NearCopyIndex(store)
        list(index.add(items))
        assert {r.id: r.group for r in index.rows()} == rows


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000))
def test_store_agrees_with_batch_on_random_corpora(tmp_path_factory, seed):
    """Store and batch must always agree (input in date order): corpora with exact copies, one-paragraph cut-downs, footers."""
    articles = sorted(_corpus(25, seed), key=lambda a: a.date)
    want = {r.id: (r.group, r.duplicate_of) for r in dedup_batch(articles, workers=1)}
    with Store(tmp_path_factory.mktemp("s") / "s") as store:
        index = NearCopyIndex(store)
        list(index.add(articles, chunk=11))
        assert {r.id: (r.group, r.duplicate_of) for r in index.rows()} == want


def _words(seed: int, n: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return [rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") + rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(n)]


def test_exact_copy_joins_the_group_of_its_earliest_twin(tmp_path):
    """An exact copy joins its twin's group even when another group's earliest article is more like it; store and batch agree.

    Before, the batch gave an exact copy only its twin as candidate (LSH holds
    one of each content hash) while the store gave it every bucket mate, so
    the two could put it in different groups.
    """
    p = [" ".join(_words(s, 40)) + "." for s in (1, 2, 3)]
    items = [
        art("lead", p[:1], "2024-03-02"),  # a cut-down dated first: the earliest of the full story's group
        art("full", p, "2024-03-03"),
        art("rest", p[1:], "2024-03-03"),  # contained in the full story, shares nothing with the lead
        art("full-again", p, "2024-03-16"),  # exact copy of "full"; more like "rest" (Jaccard) than like "lead"
    ]
    rows = {r.id: r.group for r in dedup_batch(items, workers=1)}
    assert rows == {"lead": "lead", "full": "lead", "rest": "rest", "full-again": "lead"}
    with Store(tmp_path / "s") as store:
        index = NearCopyIndex(store)
        list(index.add(items))
        assert {r.id: r.group for r in index.rows()} == rows


def test_short_cut_downs_count_from_the_shingle_minimum():
    """A one-paragraph cut-down wholly inside its source is a copy from CONTAINMENT_MIN_SHINGLES shingles (14 words) up."""
    from samestory.fingerprint import CONTAINMENT_MIN_SHINGLES

    assert CONTAINMENT_MIN_SHINGLES == 10
    source = [" ".join(_words(s, 60)) + "." for s in (4, 5, 6)]
    full = fingerprint("\n\n".join(source))
    ten = fingerprint(" ".join(source[1].split()[:14]))
    nine = fingerprint(" ".join(source[1].split()[:13]))
    assert (len(ten.shingles), len(nine.shingles)) == (10, 9)
    assert verify(full, ten).near and verify(full, ten).jaccard < 0.3
    assert not verify(full, nine).near


def test_edited_cut_down_joins_through_the_story_it_copies(tmp_path):
    """The group's earliest article is an edited copy; a later cut-down, also edited, is a near-copy of the story (Jaccard)
    but not of the earliest article, nor wholly contained in the story. It shares more than ``member_overlap`` of itself
    with the earliest article, so it joins through the story. (Judged with isolated changed words forgiven it is a
    near-copy of the earliest article itself: the member path is tested with that off.)"""
    cfg = DedupConfig(edit_tolerant=False)
    words = _words(7, 200)
    edited = [w if i % 10 != 5 else "zzz" + w for i, w in enumerate(words)]
    cut = [w if i % 25 != 7 else "qqq" + w for i, w in enumerate(words[:120])]
    items = [
        art("edited", [" ".join(edited)], "2024-03-01"),
        art("story", [" ".join(words)], "2024-03-01"),
        art("cut", [" ".join(cut)], "2024-03-02"),
    ]
    f = {a.id: fingerprint(a.text) for a in items}
    assert verify(f["story"], f["edited"], cfg).near and verify(f["cut"], f["edited"]).near
    v = verify(f["cut"], f["edited"], cfg)
    assert not v.near and v.containment >= DedupConfig().member_overlap
    v = verify(f["cut"], f["story"], cfg)
    assert v.near and v.containment < DedupConfig().containment  # a near-copy by Jaccard, not a contained cut-down
    rows = {r.id: r.group for r in dedup_batch(items, cfg, workers=1)}
    assert rows == {"edited": "edited", "story": "edited", "cut": "edited"}
    with Store(tmp_path / "s") as store:
        index = NearCopyIndex(store, cfg)
        list(index.add(items))
        assert {r.id: r.group for r in index.rows()} == rows


def test_a_page_of_mostly_boilerplate_does_not_bridge_two_stories():
    """A copy of one story shares a footer with a short page that joined another story's group: it is a near-copy of that
    page and shares a passage (the footer) with the group's earliest article, yet must not join it through the page."""
    footer = [" ".join(_words(60 + s, 25)) + "." for s in range(2)]
    s1, s2 = [" ".join(_words(70, 80)) + "."], [" ".join(_words(71, 60)) + "."]
    items = [
        art("s2-copy", s2 + footer, "2024-03-01"),  # earliest of story 2's group, carrying the footer
        art("footer-page", [" ".join(_words(72, 12)) + "."] + footer, "2024-03-02"),  # mostly footer: contained in s2-copy
        art("s1-copy", s1 + footer, "2024-03-03"),  # before its story: the footer page's group is all it is a candidate of
        art("s1", s1, "2024-03-04"),
    ]
    f = {a.id: fingerprint(a.text) for a in items}
    assert verify(f["footer-page"], f["s2-copy"]).near and verify(f["s1-copy"], f["footer-page"]).near
    v = verify(f["s1-copy"], f["s2-copy"])
    assert not v.near and v.containment >= DedupConfig().member_overlap  # the footer alone: no copy, but a shared passage
    rows = {r.id: r.group for r in dedup_batch(items, workers=1)}
    assert rows == {"s2-copy": "s2-copy", "footer-page": "s2-copy", "s1-copy": "s1-copy", "s1": "s1-copy"}


def test_cut_down_of_a_long_article_is_found_below_the_lsh_threshold():
    """A cut-down keeping the 8 short paragraphs of 20: shingle Jaccard 0.07 (the signature's bands find such a pair 27% of
    the time), paragraph Jaccard 0.4 (the 8 paragraph slots, 98%)."""
    paras = [" ".join(_words(100 + s, 15 if s % 5 in (0, 3) else 100)) + "." for s in range(20)]
    cut = [p for p in paras if len(p.split()) == 15]
    full, part = fingerprint("\n\n".join(paras)), fingerprint("\n\n".join(cut))
    assert len(cut) == 8 and full.jaccard(part) < 0.08 and verify(full, part).near
    rows = {r.id: r.group for r in dedup_batch([art("full", paras, "2024-03-01"), art("cut", cut, "2024-03-02")], workers=1)}
    assert rows["cut"] == "full"


def _changed(words: list[str], every: int, offset: int) -> list[str]:
    """Every ``every``-th word (from ``offset``) replaced: isolated changed words, as a copy editor's or a scraper's."""
    return [w if i % every != offset else "qq" + w for i, w in enumerate(words)]


def test_edited_cut_down_with_a_byline_is_a_near_copy():
    """A cut-down keeping two of five paragraphs, 5% of its words changed and a new byline on top: on shared 5-word
    shingles it fails both bars (each changed word breaks 5 of them), with isolated changed words forgiven it is contained."""
    paras = [_words(200 + s, 50) for s in range(5)]
    base = fingerprint("\n\n".join(" ".join(p) for p in paras))
    byline = "By Jane Ortega, Metro Herald | Posted March 3, 2016 8:07 PM"
    copy = fingerprint("\n\n".join([byline] + [" ".join(_changed(p, 20, 7)) for p in paras[1:3]]))
    plain = verify(base, copy, DedupConfig(edit_tolerant=False))
    assert not plain.near and plain.jaccard < 0.3 and plain.containment < 0.8
    v = verify(base, copy)
    assert v.near and (v.jaccard, v.containment) == (plain.jaccard, plain.containment)  # the reported figures stay exact
    items = [Article(id="base", text="\n\n".join(" ".join(p) for p in paras), date="2024-03-01"),
             Article(id="copy", text="\n\n".join([byline] + [" ".join(_changed(p, 20, 7)) for p in paras[1:3]]), date="2024-03-02")]
    assert {r.id: r.group for r in dedup_batch(items, workers=1)} == {"base": "base", "copy": "base"}
    assert {r.id: r.group for r in dedup_batch(items, DedupConfig(edit_tolerant=False), workers=1)} == {"base": "base", "copy": "copy"}


def test_two_edited_copies_of_a_story_join_when_the_first_is_a_copy(tmp_path):
    """The group's earliest article is a copy with words changed; a later copy with other words changed, an inserted
    sentence and a footer is a near-copy of the story but larger than it, so it cannot join through it. Against the
    earliest article its shared shingles are too few (two sets of changed words), with changed words forgiven enough."""
    story = _words(300, 70)
    footer = " ".join(_words(301, 30)) + "."
    items = [
        art("first-copy", [" ".join(_changed(story, 25, 5))], "2024-03-01"),
        art("story", [" ".join(story)], "2024-03-01"),
        art("late-copy", [" ".join(_changed(story, 25, 17)), " ".join(_words(302, 15)) + ".", footer], "2024-03-02"),
    ]
    f = {a.id: fingerprint(a.text) for a in items}
    assert len(f["late-copy"].shingles) > len(f["story"].shingles) and verify(f["late-copy"], f["story"]).near
    assert not verify(f["late-copy"], f["first-copy"], DedupConfig(edit_tolerant=False)).near
    assert verify(f["late-copy"], f["first-copy"]).near
    rows = {r.id: r.group for r in dedup_batch(items, workers=1)}
    assert rows == {"first-copy": "first-copy", "story": "first-copy", "late-copy": "first-copy"}
    assert {r.id: r.group for r in dedup_batch(items, DedupConfig(edit_tolerant=False), workers=1)}["late-copy"] == "late-copy"
    with Store(tmp_path / "s") as store:
        index = NearCopyIndex(store)
        list(index.add(items))
        assert {r.id: r.group for r in index.rows()} == rows


def test_shared_quotes_transcribed_differently_stay_apart_when_little_else_is_shared():
    """Edit tolerance needs half a threshold's worth of shingles shared as they are: two reports sharing one quote with
    a few words transcribed differently, and otherwise written apart, are no near-copies."""
    quote = _words(400, 40)
    a = fingerprint("\n\n".join([" ".join(_words(401, 90)), " ".join(quote), " ".join(_words(402, 90))]))
    b = fingerprint("\n\n".join([" ".join(_words(403, 90)), " ".join(_changed(quote, 13, 6)), " ".join(_words(404, 90))]))
    assert not verify(a, b).near
