"""The line rules of the scraped-text cleaner, on invented pages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from samestory.article import Article
from samestory.clean import clean_article, clean_title
from samestory.clean.patterns import boilerplate_reason, byline_name
from samestory.clean.scraped import is_teaser
from samestory.normalize import clean_line

PAGE = """Monday, March 2, 2026

Harbour Bridge Closed After Crane Collapse

City News

Engineers were inspecting the harbour bridge on Sunday after a construction crane fell across two lanes…

By Maria Lopez and Tom Reed | Port City | Published: March 1, 2026 18:05

Engineers were inspecting the harbour bridge on Sunday after a construction crane fell across two lanes of traffic late on Saturday, the city's transport office said.

No one was hurt in the collapse, which happened shortly after 11 p.m. when the bridge was closed to most traffic for repairs.

Also Read: Council Approves New Ferry Timetable

What happens next

The transport office said the bridge would stay closed until at least Wednesday while the crane is removed and the deck is checked for damage.

"We will not reopen it until we are sure it is safe," the office's director said.

Share this article

(Reporting by Maria Lopez; Editing by Tom Reed)

Ten Best Beaches To Visit This Summer
Stock Markets Rally As Oil Prices Fall
"""


def test_invented_page_zones():
    art = clean_article(Article(text=PAGE))
    assert art.title == "Harbour Bridge Closed After Crane Collapse"
    assert art.byline == "Maria Lopez and Tom Reed"
    assert art.date == "2026-03-01T18:05:00"
    paras = art.text.split("\n\n")
    assert paras[0].startswith("Engineers were inspecting the harbour bridge on Sunday after a construction crane fell across two lanes of traffic")
    assert "What happens next" in paras  # a real subheading stays
    assert paras[-1] == '"We will not reopen it until we are sure it is safe," the office\'s director said.'
    reasons = dict(zip(art.removed, art.removed_reasons))
    assert reasons["Monday, March 2, 2026"].startswith("date line above the headline")
    assert reasons["City News"] == "section or tag label"
    assert reasons["Also Read: Council Approves New Ferry Timetable"] == "related link"
    assert reasons["Share this article"] == "share buttons"
    assert reasons["(Reporting by Maria Lopez; Editing by Tom Reed)"] == "agency credit"
    assert reasons["Ten Best Beaches To Visit This Summer"].startswith("headline of another story")
    assert reasons["Stock Markets Rally As Oil Prices Fall"].startswith("headline of another story")
    assert art.lang == "en"


def test_known_title_is_not_searched_and_its_copy_is_dropped():
    text = "Harbour Bridge Closed\nPosted: March 1, 2026\nThe bridge was closed on Sunday after a crane fell across two of its lanes, officials said."
    art = clean_article(Article(title="Harbour Bridge Closed", text=text))
    assert art.title == "Harbour Bridge Closed"
    assert art.text == "The bridge was closed on Sunday after a crane fell across two of its lanes, officials said."
    assert art.date == "2026-03-01"
    assert art.removed_reasons == ["title repeated", "date line"]


def test_title_with_dates_on_the_same_line():
    text = "Child hurt in shooting Posted: Monday, August 11, 2014 9:34 AM EDT Updated: Monday, August 25, 2014\nPolice said a child was hurt in an accidental shooting on Sunday night at a house in the county."
    art = clean_article(Article(title="Child hurt in shooting", text=text))
    assert art.date == "2014-08-11T09:34:00"
    assert art.text.startswith("Police said")


def test_input_fields_win_over_text():
    art = clean_article(Article(title="T one two", text="By Jane Roe\nSome story text that runs long enough to count as a paragraph here.", date="2020-01-01", byline="Given Byline", lang="de"))
    assert (art.date, art.byline, art.lang) == ("2020-01-01", "Given Byline", "de")


def test_story_without_header_keeps_first_line():
    text = "The council voted on Tuesday to close the old library, ending a year of debate.\n\nThe building will be sold."
    art = clean_article(Article(text=text))
    assert art.title is None
    assert art.text == text
    assert art.removed == []


def test_trailing_line_without_full_stop_is_kept_when_not_a_headline():
    text = "Headline Of The Story Here\n\nThe mayor said the repairs would take a month and cost more than planned.\n\nhe said the city would pay for it"
    art = clean_article(Article(text=text))
    assert art.text.endswith("he said the city would pay for it")


def test_short_story_paragraph_starting_like_boilerplate_is_kept():
    line = "Read the full statement, the minister told reporters on Monday, because it explains why the talks failed and what comes next for both sides."
    assert boilerplate_reason(line) is None
    assert boilerplate_reason("Read | Ministers meet again") == "related link"
    assert boilerplate_reason("READ MORE: Ministers meet again") == "related link"
    assert boilerplate_reason("Copyright 2014 WSMV (Meredith Corporation). All rights reserved.") == "copyright"
    assert boilerplate_reason("Please follow and like us:") == "social prompt"
    assert boilerplate_reason("ADVERTISEMENT") == "advertisement"
    assert boilerplate_reason("Tags: , , , ,") == "tags"
    assert boilerplate_reason("https://example.com/a/b") == "link"


def test_byline_names():
    assert byline_name("By Sumita Ray , in World , at November 15, 2019 Tags: , , , ,") == "Sumita Ray"
    assert byline_name("Written By Ruchit Rastogi | Mumbai | Updated On:") == "Ruchit Rastogi"
    assert byline_name("Author: Anne-Marie O'Neil") == "Anne-Marie O'Neil"
    assert byline_name("By Thursday, the army had withdrawn from all three towns in the north of the region.") is None
    assert byline_name("By 2030, 40% Indians will not have access to drinking water") is None
    assert byline_name("Byron Bay council voted") is None


def test_teaser_detection():
    para = "The city council voted on Tuesday to close the old library, ending a year of debate. The building will be sold."
    assert is_teaser("The city council voted on Tuesday to close the old…", para)
    assert is_teaser("City council votes to close the old library after a year of debate", para)
    assert not is_teaser("Residents plan a protest march against the decision next month", para)


def test_clean_title_strips_site_name():
    assert clean_title("Police: Ohioan shot himself - WBNS-10TV Columbus, Ohio", "http://www.10tv.com/article/x", None) == "Police: Ohioan shot himself"
    assert clean_title("Child killed in accidental shooting - WSMV Channel 4", "http://www.wsmv.com/story/1") == "Child killed in accidental shooting"
    assert clean_title("Police: Ohioan shot himself - WBNS-10TV Columbus, Ohio | Columbus News, Weather & Sports", "http://www.10tv.com/a") == "Police: Ohioan shot himself"
    assert clean_title("Brexit - what happens next", None, None) == "Brexit - what happens next"
    assert clean_title("Stocks fall | Reuters", "https://www.reuters.com/markets/x", "Reuters") == "Stocks fall"


_lines = st.lists(
    st.one_of(
        st.text(min_size=0, max_size=120),
        st.sampled_from(["Read | Other story", "By Jane Doe", "Tags: a, b", "Monday, March 2, 2026", "(With inputs from agencies)", "Short Head Line", "A sentence that ends with a full stop and has enough words."]),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(_lines, st.one_of(st.none(), st.text(max_size=40)))
def test_every_line_is_kept_or_accounted_for(lines, title):
    """Conservation: each non-empty input line is kept or listed in removed, none invented."""
    text = "\n".join(lines)
    art = clean_article(Article(text=text, title=title), detect_lang=False)
    assert len(art.removed) == len(art.removed_reasons)
    from samestory.normalize import nfc

    source = [clean_line(line) for line in nfc(text).split("\n")]
    source = [line for line in source if line]
    kept = art.text.split("\n\n") if art.text else []
    assert sorted(kept + art.removed) == sorted(source)
    # kept lines stay in input order
    pos = -1
    for line in kept:
        pos = source.index(line, pos + 1)


# Pages a scraper got instead of a story (invented wording in the style of real sites).
NOT_ARTICLES = [
    "Close Get email notifications on Pat Example daily!\n\nYour notification has been saved.\n\n"
    "There was a problem saving your notification.\n\nWhenever Pat Example posts new content, you'll get an email "
    "delivered to your inbox with a link.\n\nEmail notifications are only sent once a day, and only if there are new matching items.",
    "Just One More Thing...\n\nWe have sent you a verification email. Please check your email and click on the link to "
    "activate your Example.com profile.\n\nIf you do not receive the verification message within a few minutes of "
    "signing up, please check your Spam or Junk folder.\n\nClose",
    "Thank You For Reading!\n\nPlease log in, or sign up for a new account and purchase a subscription to continue "
    "reading.\n\nHave an online subscription? Login Now\n\nAlready a Print Subscriber?",
    "We hope you've enjoyed your preview of Example.com.\n\nYou've now read the maximum number of stories available "
    "without a subscription.\n\nSubscribe now for complete and uninterrupted access to local news.\n\nAlready have an account?",
    "2:53 Police discuss school threats, arrest Pause\n\n0:27 Father talks about the sentences\n\n1:47 Raw video: neighbours heard shots",
]


def test_non_article_pages_clean_to_nothing():
    for page in NOT_ARTICLES:
        cleaned = clean_article(Article(id="x", text=page), detect_lang=False)
        assert cleaned.text == "", (page[:40], cleaned.text)
        assert "site notice" in cleaned.removed_reasons or "video playlist" in cleaned.removed_reasons


def test_story_lines_that_look_like_notices_are_kept():
    for line in (
        "At 5:30 p.m. officers arrived at the house on Elm Street and found the door open.",
        "10:15 a.m. was when the first call came in, the dispatcher said in a statement.",
        "The paper said it had sent the mayor a verification request about the figures last week.",
    ):
        assert boilerplate_reason(line) is None, line
