"""Build ``pages.warc.gz`` and ``bad/truncated.warc.gz`` (run from any directory).

A small crawl of invented news sites, written with warcio the way crawlers
write them (one gzip member a record), holding what real archives hold
besides articles so the reader's skipping is tested too:

1. warcinfo
2. request    GET bridge article
3. response   bridge article: HTML, gzip Content-Encoding, page states its date
4. metadata   outlinks of the bridge article
5. response   library article: ISO-8859-1 (HTTP charset), no date on the page
6. response   a PNG image                                   (skipped)
7. response   404 page, HTML                                 (skipped)
8. response   301 redirect                                   (skipped)
9. resource   hailstorm article: charset only in a meta tag (windows-1252)
10. revisit   the bridge article again                       (skipped)

Record ids and dates are fixed so the output is the same on every run.
``bad/truncated.warc.gz`` is the same archive cut off in the middle of
record 5, so records 1-4 are whole.
"""

import gzip
import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).parent

BRIDGE_URL = "https://www.portaldercourier.example/news/2024/03/14/alder-bay-bridge-reopens"
LIBRARY_URL = "https://veldengazette.example/local/library-sunday-hours"
HAIL_URL = "https://veldengazette.example/region/hailstorm-orchards"

BRIDGE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Alder Bay bridge reopens to traffic after six months of repairs | Port Alder Courier</title>
<meta property="og:title" content="Alder Bay bridge reopens to traffic after six months of repairs">
<meta property="og:site_name" content="Port Alder Courier">
<meta property="article:published_time" content="2024-03-14T08:30:00+00:00">
<meta name="author" content="Jonas Vik">
</head>
<body>
<header><nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/sport">Sport</a> | <a href="/subscribe">Subscribe</a></nav></header>
<main>
<article>
<h1>Alder Bay bridge reopens to traffic after six months of repairs</h1>
<p class="byline">By Jonas Vik</p>
<p>The Alder Bay bridge reopened to cars and buses on Thursday morning, six months after engineers closed it when a routine inspection found corrosion in two of its steel support cables.</p>
<p>About 40 vehicles were waiting at the eastern approach when crews removed the last barriers shortly after 6 a.m. The regional transport authority said the repairs, which included replacing both cables and resurfacing the deck, cost 18.2 million dollars, slightly under the original estimate.</p>
<p>\u201cWe asked a lot of commuters to be patient, and they were,\u201d said Marta Ilves, the authority\u2019s chief engineer. \u201cThe bridge is now in better shape than at any point in the last twenty years.\u201d</p>
<p>Weight limits for heavy goods vehicles will stay in place until the end of April while sensors installed during the work gather data on how the new cables behave under load.</p>
</article>
<aside><h2>Most read</h2><ul><li><a href="/news/ferry">Ferry fares frozen for summer</a></li><li><a href="/news/market">Fish market moves to Pier 4</a></li></ul></aside>
</main>
<footer><p>\u00a9 2024 Port Alder Courier. All rights reserved.</p><p><a href="/privacy">Privacy</a> <a href="/contact">Contact us</a></p></footer>
</body>
</html>
"""

LIBRARY_HTML = """<html>
<head>
<title>Library network to open on Sundays from next month - Velden Gazette</title>
</head>
<body>
<div id="top"><a href="/">Velden Gazette</a> <a href="/local">Local</a> <a href="/region">Region</a></div>
<div id="story">
<h1>Library network to open on Sundays from next month</h1>
<p>All eleven branches of the Velden public library network will open on Sundays from April, the county council announced on Friday, ending a closure that has lasted since budget cuts in 2012.</p>
<p>The branches will open from 11 a.m. to 4 p.m. The extra hours will be staffed by fourteen new part-time librarians and paid for by a three-year grant from a regional education fund.</p>
<p>Head librarian Ren\u00e9e Brenner said visitor surveys had asked for Sunday opening more than for any other change, ahead of a longer-opening caf\u00e9 in the main branch. Study rooms were the second most requested improvement, and the council said it would look at them next.</p>
</div>
<div id="bottom">Velden Gazette, Market Square 3, Velden</div>
</body>
</html>
"""

HAIL_HTML = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>Hailstorm damages apple orchards across the Velden valley</title>
</head>
<body>
<article>
<h1>Hailstorm damages apple orchards across the Velden valley</h1>
<p>A hailstorm that swept through the Velden valley on Wednesday afternoon damaged fruit in roughly a third of the region\u2019s apple orchards, growers\u2019 associations said on Thursday.</p>
<p>Hailstones the size of marbles fell for about twenty minutes around the villages of Lindholm and Eskerud, stripping blossom and bruising young fruit just weeks after the trees had flowered.</p>
<p>\u201cIt came out of nowhere,\u201d said orchard owner Ingrid Salo, whose family has grown apples near Lindholm for four generations. \u201cBy the time we had the nets half out, it was already over.\u201d</p>
<p>The regional agriculture office said it would send assessors to affected farms next week and that growers with hail insurance should photograph the damage before pruning.</p>
</article>
</body>
</html>
"""

NOT_FOUND_HTML = "<html><head><title>Page not found</title></head><body><h1>Sorry, we could not find that page.</h1></body></html>"
# The smallest valid PNG: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _record_id(n: int) -> str:
    return f"<urn:uuid:5a0e1c2d-0000-4000-8000-{n:012d}>"


def _http(status: str, content_type: str | None, extra: list | None = None) -> StatusAndHeaders:
    headers = [("Server", "nginx")]
    if content_type:
        headers.append(("Content-Type", content_type))
    return StatusAndHeaders(status, headers + (extra or []), protocol="HTTP/1.1")


def build() -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    n = 0

    def write(uri, rec_type, payload, date, http=None, content_type=None, extra_headers=None):
        nonlocal n
        n += 1
        headers = {"WARC-Record-ID": _record_id(n), "WARC-Date": date, **(extra_headers or {})}
        record = writer.create_warc_record(
            uri, rec_type, payload=io.BytesIO(payload), http_headers=http,
            warc_headers_dict=headers, warc_content_type=content_type,
        )
        writer.write_record(record)

    info = b"software: samestory test fixture\r\nformat: WARC File Format 1.1\r\n"
    write(None, "warcinfo", info, "2024-03-14T09:12:40Z", content_type="application/warc-fields",
          extra_headers={"WARC-Filename": "pages.warc.gz"})
    write(BRIDGE_URL, "request", "GET /news/2024/03/14/alder-bay-bridge-reopens HTTP/1.1\r\nHost: www.portaldercourier.example\r\n\r\n".encode(),
          "2024-03-14T09:12:45Z", content_type="application/http; msgtype=request")
    body = gzip.compress(BRIDGE_HTML.encode("utf-8"), mtime=0)
    write(BRIDGE_URL, "response", body, "2024-03-14T09:12:45Z",
          http=_http("200 OK", "text/html; charset=utf-8", [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]))
    write(BRIDGE_URL, "metadata", b"outlink: https://www.portaldercourier.example/news/ferry a/@href\r\n",
          "2024-03-14T09:12:45Z", content_type="application/warc-fields")
    write(LIBRARY_URL, "response", LIBRARY_HTML.encode("iso-8859-1"), "2024-03-16T11:02:07Z",
          http=_http("200 OK", "text/html; charset=ISO-8859-1"))
    write("https://veldengazette.example/img/logo.png", "response", PNG, "2024-03-16T11:02:08Z",
          http=_http("200 OK", "image/png"))
    write("https://veldengazette.example/local/old-story", "response", NOT_FOUND_HTML.encode(), "2024-03-16T11:02:09Z",
          http=_http("404 Not Found", "text/html; charset=utf-8"))
    write("http://veldengazette.example/region/hailstorm-orchards", "response", b"", "2024-05-03T08:00:00Z",
          http=_http("301 Moved Permanently", "text/html", [("Location", HAIL_URL)]))
    write(HAIL_URL, "resource", HAIL_HTML.encode("cp1252"), "2024-05-03T08:00:01Z", content_type="text/html")
    write(BRIDGE_URL, "revisit", b"", "2024-05-03T08:00:02Z", http=_http("200 OK", "text/html; charset=utf-8"),
          extra_headers={"WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
                         "WARC-Refers-To-Target-URI": BRIDGE_URL, "WARC-Refers-To-Date": "2024-03-14T09:12:45Z"})
    return out.getvalue()


def main() -> None:
    data = build()
    (HERE / "pages.warc.gz").write_bytes(data)
    # Cut record 5 (the library page) in half: find where its gzip member starts.
    members = [i for i in range(len(data)) if data.startswith(b"\x1f\x8b\x08", i)]
    assert len(members) == 10, "expected one gzip member a record"
    start, end = members[4], members[5]
    (HERE / "bad").mkdir(exist_ok=True)
    (HERE / "bad" / "truncated.warc.gz").write_bytes(data[: (start + end) // 2])


if __name__ == "__main__":
    main()
