"""Golden test: the two real scraped examples clean exactly as a person would.

The examples live in ../shared/examples (copyrighted news, not copied here):
this test pins the title, date, byline, every dropped line with its reason,
and that the text is every other line of the input, in order, untouched.
"""

from __future__ import annotations

from samestory.clean import clean_article
from samestory.ingest import read_articles
from samestory.normalize import clean_line, nfc

EXPECTED = {
    "north-korea-talks-outlet-a.txt": {
        "title": "The Offer Of US Rejected By North Korea For December Talks",
        "date": "2019-11-15",
        "byline": "Sumita Ray",
        "lang": "en",
        "removed": [
            ("Tuesday, January 21, 2020", "date line above the headline (the page's or scrape date, not the article's)"),
            ("The Offer Of US Rejected By North Korea For December Talks", "headline (moved to title)"),
            ("On Thursday, North Korea said that it had rejected the offer of the United States for fresh talks, claiming it…", "teaser repeating the first paragraph"),
            ("By Sumita Ray , in World , at November 15, 2019 Tags: , , , ,", "byline"),
        ],
        "paragraphs": 10,
    },
    "north-korea-talks-outlet-b.txt": {
        "title": "North Korea Declines America's Offer To Hold Fresh Round Of Dialogues",
        "date": None,  # the page gives none ("Updated On:" is empty)
        "byline": "Ruchit Rastogi",
        "lang": "en",
        "removed": [
            ("North Korea Declines America's Offer To Hold Fresh Round Of Dialogues", "headline (moved to title)"),
            ("Rest of the World News", "section or tag label"),
            ("North Korea stated that it had declined an offer by the US for a fresh round of dialogues in the month of December after the failed previous two summits", "teaser repeating the first paragraph"),
            ("Written By Ruchit Rastogi | Mumbai | Updated On:", "byline"),
            ("North Korea", "section or tag label"),
            ("Read | UN Human Rights Committee Condemns North Korean Violations Of Rights", "related link"),
            ("Read | South Korea Deports North Koreans Who Fled After Killing 16 Fishermen", "related link"),
            ("Read | North Korean Hackers Suspected Of Attempt To Breach ISRO In September", "related link"),
            ("Read | North Korea: US-S.Korea Drills Will Hamper Nuclear Negotiations", "related link"),
            ("(With inputs from agencies)", "agency credit"),
            ("By 2030, 40% Indians will not have access to drinking water", "headline of another story (after the end of this one)"),
        ],
        # three subheadings kept with the eight paragraphs
        "paragraphs": 11,
        "subheadings": ["North Korea refuses fresh talks with US", "'Trump committed to moving forward'", "US seeking monetary benefit"],
    },
}


def test_examples_clean_exactly(examples):
    articles = {a.extra["file"]: clean_article(a) for a in read_articles(examples)}
    assert set(articles) == set(EXPECTED)
    for name, want in EXPECTED.items():
        got = articles[name]
        assert got.title == want["title"], name
        assert got.date == want["date"], name
        assert got.byline == want["byline"], name
        assert got.lang == want["lang"], name
        assert list(zip(got.removed, got.removed_reasons)) == want["removed"], name
        # The text is exactly the input's other lines, in order: every story
        # sentence kept, nothing rewritten.
        source = [clean_line(line) for line in nfc((examples[0].parent / name).read_text(encoding="utf-8")).split("\n")]
        dropped = [line for line, _ in want["removed"]]
        kept = [line for line in source if line and line not in dropped]
        assert got.text.split("\n\n") == kept, name
        assert len(kept) == want["paragraphs"], name
        for heading in want.get("subheadings", []):
            assert heading in kept
        # Curly quotes are kept in the text.
        assert "“" in got.text or "'" in got.text


def test_examples_have_no_noise(examples):
    noise = ["Tags:", "Read |", "With inputs from agencies", "Rest of the World News", "Written By", "By Sumita Ray", "January 21, 2020", "drinking water"]
    for article in read_articles(examples):
        text = clean_article(article).text
        for bit in noise:
            assert bit not in text, bit
