"""Unicode normalisation: kept text stays faithful, matching form folds typography."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from samestory.normalize import clean_line, for_matching, nfc, words


def test_nfc_keeps_smart_quotes_and_composes():
    raw = "“Caf\u0065\u0301” \u2014 it\u2019s\r\nnew\u200b"
    assert nfc(raw) == "“Café” — it’s\nnew"


def test_matching_form_folds_quotes_dashes_case():
    assert for_matching("“Café” — It’s  NEW") == '"café" - it\'s new'
    assert words("It’s the U.S. deal") == ["it's", "the", "u", "s", "deal"]


def test_clean_line_folds_spaces():
    assert clean_line("  a\u00a0\u00a0b\t c ") == "a b c"


@given(st.text())
def test_nfc_is_idempotent_and_encodable(text):
    once = nfc(text)
    assert nfc(once) == once
    once.encode("utf-8")
    assert unicodedata.is_normalized("NFC", once)


@given(st.text())
@example("\u00af\uff40\u00f9\u00bbh")  # NFKC makes the fullwidth grave a backtick, which the quote table maps
def test_matching_is_idempotent(text):
    assert for_matching(for_matching(text)) == for_matching(text)
