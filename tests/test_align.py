"""Shared passages: offsets into the original texts, robust to light edits and typography."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from samestory.align import Passage, shared_passages, tokens
from samestory.normalize import words

# Invented wire copy; paragraphs long enough to seed on their own.
P1 = ("Heavy rain flooded the lower town of Marlow on Sunday night, forcing about 300 "
      "residents to leave their homes before dawn, the regional fire service said.")
P2 = ("Rescue crews used boats to reach families trapped on upper floors near the river "
      "bridge, and two elderly people were taken to hospital with mild hypothermia.")
P3 = ("The mayor, Ellen Brook, said the town council would open the sports hall as a "
      "shelter and asked drivers to avoid the valley road until the water recedes.")
P4 = ("Forecasters expect more rain on Tuesday, with river levels likely to peak late in "
      "the afternoon before falling slowly through the rest of the week.")
STORY = "\n\n".join([P1, P2, P3, P4])


def _span_a(text: str, part: str) -> tuple[int, int]:
    """Offsets of ``part`` in ``text`` without its final full stop (not a word)."""
    start = text.index(part)
    return start, start + len(part.rstrip("."))


def _assert_valid(a: str, b: str, passages: list[Passage], min_words: int = 8) -> None:
    """What every result must satisfy, whatever the texts."""
    for p in passages:
        assert 0 <= p.a_start < p.a_end <= len(a)
        assert 0 <= p.b_start < p.b_end <= len(b)
        assert a[p.a_start:p.a_end] == p.text
        assert p.words >= min_words
        shared = Counter(words(a[p.a_start:p.a_end])) & Counter(words(b[p.b_start:p.b_end]))
        assert sum(shared.values()) >= min_words
    assert [p.a_start for p in passages] == sorted(p.a_start for p in passages)
    for xs in ([(p.a_start, p.a_end) for p in passages], sorted((p.b_start, p.b_end) for p in passages)):
        for (_, end), (start, _) in zip(xs, xs[1:]):
            assert end <= start, "passages overlap"


def test_identical_texts_give_one_passage_covering_all():
    [p] = shared_passages(STORY, STORY)
    assert (p.a_start, p.b_start) == (0, 0)
    assert p.a_end == p.b_end == len(STORY) - 1  # up to the last word, not the full stop
    assert p.words == len(tokens(STORY))


def test_changed_byline_aligns_the_body_exactly():
    a = "By Anna Keller, Reuters\n\n" + STORY
    b = "Tom Riley | Marlow Gazette | 12 March\n" + STORY
    [p] = shared_passages(a, b)
    assert (p.a_start, p.a_end) == (a.index("Heavy"), len(a) - 1)
    assert (p.b_start, p.b_end) == (b.index("Heavy"), len(b) - 1)
    assert p.text == STORY[:-1]
    _assert_valid(a, b, [p])


def test_one_replaced_word_stays_inside_one_passage():
    b = STORY.replace("about 300", "nearly 300")
    [p] = shared_passages(STORY, b)
    assert (p.a_start, p.a_end, p.b_start, p.b_end) == (0, len(STORY) - 1, 0, len(b) - 1)
    assert p.words == len(tokens(STORY)) - 1


def test_inserted_word_stays_inside_one_passage():
    b = STORY.replace("two elderly people", "two very elderly people")
    [p] = shared_passages(STORY, b)
    assert p.words == len(tokens(STORY))
    assert (p.b_start, p.b_end) == (0, len(b) - 1)


def test_inserted_sentence_splits_into_two_exact_passages():
    extra = "Local schools will stay closed on Monday, the education office confirmed. "
    b = STORY.replace("The mayor,", extra + "The mayor,")
    first, second = shared_passages(STORY, b)
    assert (first.a_start, first.b_start) == (0, 0)
    assert first.text == STORY[:STORY.index(P3) - 3]  # through "hypothermia"
    assert first.b_end == b.index(extra) - 3
    assert second.a_start == STORY.index(P3) and second.b_start == b.index(P3)
    assert (second.a_end, second.b_end) == (len(STORY) - 1, len(b) - 1)
    _assert_valid(STORY, b, [first, second])


def test_reordered_paragraphs_map_across():
    b = "\n\n".join([P4, P1, P2, P3])
    passages = shared_passages(STORY, b)
    _assert_valid(STORY, b, passages)
    assert len(passages) == 2
    front, back = passages  # sorted by position in a
    assert (front.a_start, front.b_start) == (0, b.index(P1))
    assert front.a_end == _span_a(STORY, P3)[1] and front.b_end == len(b) - 1
    assert (back.a_start, back.a_end) == _span_a(STORY, P4)
    assert (back.b_start, back.b_end) == _span_a(b, P4)


def test_cut_down_copy_is_contained():
    short = P1 + "\n\n" + P3.split(" and asked")[0] + "."
    passages = shared_passages(STORY, short)
    _assert_valid(STORY, short, passages)
    assert [(p.b_start, p.b_end) for p in passages] == [_span_a(short, P1), (short.index("The mayor"), len(short) - 1)]
    assert sum(p.words for p in passages) == len(tokens(short))
    assert passages[1].text == "The mayor, Ellen Brook, said the town council would open the sports hall as a shelter"


def test_unrelated_texts_share_nothing():
    other = ("The central bank left interest rates unchanged on Thursday and said inflation "
             "should ease next year as energy prices fall, according to a statement.")
    assert shared_passages(STORY, other) == []
    assert shared_passages(STORY, "") == []
    assert shared_passages("", "") == []


def test_typographic_variants_still_match():
    a = "“We have never seen the river this high,” said Ellen Brook — the town’s mayor — on Monday."
    b = '"We have never seen the river this high," said ELLEN BROOK - the town\'s mayor - on Monday.'
    [p] = shared_passages(a, b)
    assert (p.a_start, p.a_end) == (1, len(a) - 1)
    assert (p.b_start, p.b_end) == (1, len(b) - 1)
    assert p.words == 16


def test_compatibility_forms_fold_but_accents_do_not():
    a = "The ﬁrst ﬂood warning reached the café owners near the old bridge at noon on Friday."
    b = "The first flood warning reached the café owners near the old bridge at noon on Friday."
    [p] = shared_passages(a, b)
    assert p.words == len(tokens(a))
    [q] = shared_passages(a, b.replace("café", "cafe"), max_gap=0)  # accents are kept: no match
    assert q.text == "owners near the old bridge at noon on Friday"


def test_scripts_with_combining_marks_and_without_spaces():
    hindi = "मुंबई में भारी बारिश के कारण कई इलाकों में पानी भर गया और यातायात रुक गया"
    assert [w for w, _, _ in tokens("भारी बारिश")] == ["भारी", "बारिश"]
    [p] = shared_passages("संवाददाता द्वारा\n" + hindi, hindi + "\nऔर पढ़ें")
    assert p.text == hindi
    japanese = "東京で大雨が降り、多くの電車が運転を見合わせた。"
    [q] = shared_passages("速報 " + japanese, japanese)
    assert q.text == japanese[:-1]


def test_short_shared_phrase_below_min_words_is_dropped():
    a = "Officials said the river bridge will stay closed. Shops reopened in the square."
    b = "Police confirmed the river bridge will stay closed. Nobody was hurt overnight."
    assert shared_passages(a, b) == []
    [p] = shared_passages(a, b, min_words=5)
    assert p.text == "the river bridge will stay closed"


def test_repeated_boilerplate_does_not_seed_but_story_aligns():
    boiler = "Read more: subscribe to our newsletter for the latest updates today.\n"
    a = boiler * 8 + STORY
    b = STORY + "\n" + boiler * 7
    passages = shared_passages(a, b)
    _assert_valid(a, b, passages)
    assert [p.text for p in passages] == [STORY[:-1]]


def test_as_dict_holds_the_interface_fields():
    [p] = shared_passages(STORY, STORY)
    assert p.as_dict() == {"a_start": 0, "a_end": len(STORY) - 1, "b_start": 0,
                           "b_end": len(STORY) - 1, "text": STORY[:-1]}


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        shared_passages(STORY, STORY, seed_words=0)
    with pytest.raises(ValueError):
        shared_passages(STORY, STORY, max_gap=-1)


# --- properties on invented texts and edited copies ---

VOCAB = ("flood river town mayor council rain police bridge school road water homes residents "
         "rescue boats hospital shelter forecast storm said on in the a of to and by for "
         "with was were will Monday Tuesday Marlow Brook officials families crews levels "
         "night morning north south east west week hundreds two three").split()
PUNCT = ["", "", "", ",", ".", " —", ":", ";"]


def _render(ws: list[str], rng: random.Random, curly: bool) -> str:
    out = []
    for w in ws:
        if rng.random() < 0.05:
            w = w.upper()
        if rng.random() < 0.04:
            w = ("“" + w + "”") if curly else ('"' + w + '"')
        out.append(w + rng.choice(PUNCT))
    text = " ".join(out)
    return text if curly else text.replace("—", "-")


def _edited(ws: list[str], rng: random.Random) -> list[str]:
    """A copy with light edits: replaced, inserted and deleted words, cut and moved chunks."""
    out = list(ws)
    for _ in range(rng.randint(0, 4)):
        if not out:
            break
        op, k = rng.random(), rng.randrange(len(out))
        if op < 0.3:
            out[k] = rng.choice(VOCAB)
        elif op < 0.5:
            out.insert(k, rng.choice(VOCAB))
        elif op < 0.7:
            del out[k:k + rng.randint(1, 12)]
        else:
            chunk = out[k:k + rng.randint(5, 40)]
            del out[k:k + len(chunk)]
            j = rng.randint(0, len(out))
            out[j:j] = chunk
    return out


texts = st.lists(st.sampled_from(VOCAB), min_size=0, max_size=250)


@settings(max_examples=150, deadline=None)
@given(texts, st.randoms(use_true_random=False), st.integers(3, 6), st.integers(4, 12), st.integers(0, 3))
def test_passages_are_valid_for_edited_copies(ws, rng, seed_words, min_words, max_gap):
    a = _render(ws, rng, curly=True)
    b = _render(_edited(ws, rng), rng, curly=False)
    for x, y in ((a, b), (b, a)):
        passages = shared_passages(x, y, seed_words=seed_words, min_words=min_words, max_gap=max_gap)
        _assert_valid(x, y, passages, min_words)


@settings(max_examples=150, deadline=None)
@given(texts, st.randoms(use_true_random=False))
def test_alignment_is_nearly_symmetric(ws, rng):
    a = _render(ws, rng, curly=True)
    b = _render(_edited(ws, rng), rng, curly=False)
    ab = sum(p.words for p in shared_passages(a, b))
    ba = sum(p.words for p in shared_passages(b, a))
    assert abs(ab - ba) <= max(3, 0.05 * max(ab, ba))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), min_size=8, max_size=250))
def test_a_text_aligns_fully_with_itself(ws):
    text = " ".join(ws)
    assume(max(Counter(zip(*(ws[k:] for k in range(5)))).values()) <= 5)  # else nothing seeds
    [p] = shared_passages(text, text)
    assert (p.a_start, p.a_end, p.b_start, p.b_end) == (0, len(text), 0, len(text))
    assert p.words == len(ws)
