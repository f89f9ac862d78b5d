"""The story view of the two example articles: headline, summary, what each outlet adds, where they differ."""

from __future__ import annotations

import pytest

from samestory.clean import clean_article
from samestory.ingest import read_articles
from samestory.storyview import Member, cached_view, format_view, sentence_spans, story_view

from conftest import EXAMPLES


@pytest.fixture(scope="module")
def view():
    arts = [clean_article(a) for a in read_articles(sorted(EXAMPLES.glob("*.txt")))]
    for a in arts:
        a.extra["file"] = a.origin
    return story_view(arts)


def _adds(view, label):
    (add,) = [a for a in view["adds"] if a["source"] == label]
    return " ".join(s["text"] for s in add["sentences"])


def test_outlet_a_adds_milley_kim_yong_chol_and_the_any_time_quote(view):
    a = _adds(view, "north-korea-talks-outlet-a")
    assert "Mark Milley" in a and "full range" in a
    assert "Kim Yong Chol" in a and "Esper" in a
    assert "we are ready to meet with the U.S. at any place and any time" in a


def test_outlet_b_adds_the_state_department_on_singapore(view):
    b = _adds(view, "north-korea-talks-outlet-b")
    assert "state department" in b and "Singapore" in b and "committed" in b
    # what both outlets report is not in either's additions
    assert "defense officials were in Seoul" not in b
    assert "Kim Myong Gil, stated that his American counterpart" not in b


def test_headline_summary_timeline_names(view):
    assert view["headline"] in ("The Offer Of US Rejected By North Korea For December Talks",
                                "North Korea Declines America's Offer To Hold Fresh Round Of Dialogues")
    assert len(view["summary"]) == 3
    assert len({s["text"] for s in view["summary"]}) == 3
    assert any("rejected" in s["text"] or "declined" in s["text"] for s in view["summary"])
    assert [t["source"] for t in view["timeline"]] == ["north-korea-talks-outlet-a", "north-korea-talks-outlet-b"]
    people = {n["name"] for n in view["names"]["people"]}
    assert {"Kim Myong Gil", "Stephen Biegun"} <= people
    assert "Seoul" in {n["name"] for n in view["names"]["places"]}
    text = format_view(view)
    assert "What each source adds" in text and "Summary" in text


def test_offsets_point_into_the_text():
    text = "The U.S. envoy met Gen. Milley on Monday. “But if … the talks fail,” he said.\nA new line here."
    spans = sentence_spans(text)
    assert [s for _, _, s in spans] == ["The U.S. envoy met Gen. Milley on Monday.", "“But if … the talks fail,” he said.", "A new line here."]
    for start, end, s in spans:
        assert " ".join(text[start:end].split()) == s


def test_disagreeing_numbers_and_cache():
    a = Member(id="a", title="Storm kills 12", text="The storm killed 12 people in the port city on Monday, officials said.", source="x")
    b = Member(id="b", title="Storm kills 14", text="The storm killed 14 people in the port city on Monday, officials said.", source="y")
    v = cached_view([a, b])
    assert any(d["kind"] == "number" and d["a"]["values"] == ["12"] and d["b"]["values"] == ["14"] for d in v["disagreements"])
    assert cached_view([a, b]) is v
    single = story_view([a])
    assert single["headline"] == "Storm kills 12" and single["adds"] == [] and len(single["summary"]) == 1
    assert story_view([])["headline"] == ""
