"""Near-copy engine: verification, batch groups, the store-backed index."""

from __future__ import annotations

import pytest

from samestory.article import Article
from samestory.dedup import DedupConfig, NearCopyIndex, UnionFind, dedup_batch, verify
from samestory.errors import SamestoryError
from samestory.fingerprint import fingerprint
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
    assert by["late-original"].similarity < 1.0  # reordering breaks the shingles at paragraph joins


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
        assert store.db.execute("SELECT COUNT(*) FROM lsh_buckets").fetchone()[0] == 2 * DedupConfig().fingerprint.bands
        assert store.integrity_check() == []


def test_store_refuses_other_fingerprint_settings(tmp_path):
    from samestory.fingerprint import FingerprintConfig

    with Store(tmp_path / "s") as store:
        NearCopyIndex(store)
        with pytest.raises(SamestoryError, match="cannot be compared"):
            NearCopyIndex(store, DedupConfig(fingerprint=FingerprintConfig(shingle_words=3)))
