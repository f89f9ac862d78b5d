"""Every bad input of ``tests/data/bad`` (README there), and a 100 MB single line made here, through
every command that reads articles and the HTTP API.

For each: the exit status of ``shared/design/interface.md`` (1 when some input failed, 2 only for
bad usage), every failure on standard error naming the file, the row and what is wrong, the good
rows of the same run written, no traceback, no byte of a local file the input points at, and the
articles of an existing store still there afterwards. Then the per-document time limit
(``--doc-timeout``), memory on the 100 MB line, and property tests of the decoders and the JSONL
reader. Commands run in-process (typer's CliRunner, FastAPI's TestClient) with the fast scorer.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from samestory.article import Article
from samestory.cli import app
from samestory.errors import InputError
from samestory.ingest import Limits, read_articles, read_bytes
from samestory.ingest.source import decode_mixed, decode_text
from samestory.output import read_rows
from samestory.serve import create_app
from samestory.timeout import TimeLimitExceeded, run_with_time_limit

from conftest import DATA

BAD = DATA / "bad"
GOOD_JSONL = DATA / "articles.jsonl"
runner = CliRunner()
#: What /etc/passwd (and /etc/hostname, /proc/self/environ) would bring in if a reader ever opened them.
LEAKS = ("root:", "/bin/sh", "/usr/sbin/nologin", "PATH=")


@dataclass(frozen=True)
class Bad:
    """What reading one bad file must give: its errors and its good rows."""

    #: (location or "" for the whole file, a fragment of the reason), each on its own stderr line.
    errors: tuple[tuple[str, str], ...] = ()
    #: The good rows' ids, in order, or their number where the ids are derived from the content.
    good: tuple[str, ...] | int = 0
    #: Fragments the good rows' text (title + text) must hold: decoding done right.
    texts: tuple[str, ...] = ()

    @property
    def n_good(self) -> int:
        return self.good if isinstance(self.good, int) else len(self.good)


CASES: dict[str, Bad] = {
    "empty.txt": Bad((("", "empty file"),)),
    "random.bin": Bad((("", "binary content"),)),
    "png_named.txt": Bad((("", "binary content: looks like a PNG image"),)),
    "nul_bytes.txt": Bad(good=1, texts=("Divers replaced 40 metres",)),
    "nul_bytes.jsonl": Bad((("line 2", "malformed JSON: Invalid control character (column"),),
                           ("good-choir", "good-orchard-escaped-nul", "good-ferry"), ("frost in April",)),
    "nul_bytes.csv": Bad(good=("good-choir", "good-tram", "good-ferry"), texts=("Night trams will run",)),
    "mixed_encoding.txt": Bad(good=1, texts=("Tollen\u2019s quay", "\u201cquiet hours\u201d", "Ren\u00e9e Brenner", "Caf\u00e9 M\u00f6we", "rule \u2014 and")),
    "mixed_encoding.jsonl": Bad(good=("good-quay", "good-museum-cp1252", "good-ferry"),
                                texts=("\u201cAhead of time,\u201d", "curator Ren\u00e9e Brenner", "gallery\u2019s")),
    "mixed_encoding.csv": Bad(good=("good-choir", "good-museum"), texts=("\u201cWonderful,\u201d said Ren\u00e9e.",)),
    "cp1252.csv": Bad(good=2, texts=("Caf\u00e9 am Hafen schlie\u00dft nach 40 Jahren", "Fahrr\u00e4der f\u00fcr")),
    "lying_charset.html": Bad(good=1, texts=("Caf\u00e9 on the quay wins \u201cbest terrace\u201d prize",)),
    "lying_latin1.html": Bad(good=1, texts=("Stra\u00dfenbahn f\u00e4hrt wieder nachts", "drei\u00dfig Minuten")),
    "bogus_charset.html": Bad(good=1, texts=("Skerra ferry gets a second boat",)),
    "surrogates.jsonl": Bad((("line 6", "malformed JSON: Invalid \\uXXXX escape"), ("line 7", "malformed JSON: Invalid \\uXXXX escape")),
                            ("good-choir", "good-tram-lone-surrogate", "museum-?", "good-ferry", "good-orchard-invalid-utf8", "good-quay"),
                            ("\U0001F6A2",)),
    "malformed.jsonl": Bad((("line 2", "malformed JSON: Expecting ',' delimiter"), ("line 4", "expected an object with article fields, got a list"),
                            ("line 5", "record has no 'text' or 'html'"), ("line 6", "field 'title' should be a string, got int"),
                            ("line 7", "field 'date' is not a date")), ("pac-0701", "pac-0707")),
    "malformed.json": Bad((("", "malformed JSON"),)),
    "ragged.csv": Bad((("line 3", "row has 5 fields but the header has 4"), ("line 4", "row has 2 fields but the header has 4"),
                       ("line 9", "row has 3 fields but the header has 4")), ("vg-901", "vg-904")),
    "missing_column.csv": Bad((("line 1", "no 'text' or 'html' column"),)),
    "truncated.parquet": Bad((("", "not a valid Parquet file"),)),
    "garbage.parquet": Bad((("", "not a valid Parquet file"),)),
    "corrupt_rowgroup.parquet": Bad((("row 3", "corrupt Parquet data in row group 3"),), ("good-quay", "good-choir")),
    "nested.html": Bad(good=1, texts=("Fresnel lens",)),
    "bomb.xml": Bad((("", "entity declarations are not allowed (possible XML bomb)"),)),
    "quadratic.xml": Bad((("", "entity declarations are not allowed (possible XML bomb)"),)),
    "xxe.xml": Bad((("", "external entities are not allowed (entity 'secret' refers to 'file:///etc/passwd'; possible XXE)"),)),
    "xxe_dtd.xml": Bad((("", "possible XXE"),)),
    "bomb.html": Bad(good=1, texts=("Cider makers",)),
    "truncated.warc.gz": Bad((("record 5", "truncated archive: the record is incomplete"),), 1, ("Alder Bay bridge",)),
    "corrupt.warc.gz": Bad((("record 5", "corrupt archive: corrupt gzip data: CRC check failed"),), 1, ("Alder Bay bridge",)),
    "local_links.rss": Bad((("entry 2", "feed entry 'Only a link to a local file' has no text"),), 1, ("Skerra ferry",)),
    "local_links.atom": Bad((("entry 1", "feed entry 'Local file as content' has no text"),), ("urn:tollen:2",), ("youth choir",)),
    "local_refs.html": Bad(good=1, texts=("Night trams",)),
    "pairs_bad.jsonl": Bad(tuple((f"line {n}", reason) for n, reason in [
        (1, "record has no 'text' or 'html'"), (2, "malformed JSON"), (3, "record has no 'text' or 'html'"),
        (4, "malformed JSON: Invalid control character"), (5, "record has no 'text' or 'html'"), (6, "record has no 'text' or 'html'")])),
}

#: score-pairs on the pair file; every other file holds no pairs and fails whole or row by row.
PAIRS_BAD = Bad((("line 2", "malformed JSON"), ("line 4", "malformed JSON: Invalid control character"),
                 ("line 5", "article 2: record has no 'text2' or 'html2'")), ("p1", "p3", "p6"))


def test_every_file_of_the_corpus_has_a_case():
    on_disk = {p.name for p in BAD.iterdir() if p.name not in ("make_bad.py", "README.md")}
    assert on_disk == set(CASES)
    readme = (BAD / "README.md").read_text("utf-8")
    assert all(f"`{name}`" in readme for name in CASES)
    assert all(p.stat().st_size < 64 * 1024 for p in BAD.iterdir())


# --- helpers --------------------------------------------------------------------------------------


def _run(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), "".join(
        __import__("traceback").format_exception(result.exception))
    assert "Traceback" not in result.output
    return result


def _check_errors(stderr: str, path: Path | str, case: Bad) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("samestory: error: ")]
    for location, reason in case.errors:
        where = f"{path}:{location}: " if location else f"{path}: "
        assert any(line.startswith(f"samestory: error: {where}") and reason in line for line in lines), (where, reason, stderr)
    assert len(lines) == len(case.errors), stderr


def _check_rows(rows: list[dict], case: Bad, text_fields=("title", "text")) -> None:
    if isinstance(case.good, int):
        assert len(rows) == case.good, rows
    else:
        assert [r["id"] for r in rows] == list(case.good)
    if "text" in text_fields and rows:
        alltext = "\n".join((r.get("title") or "") + "\n" + (r.get("text") or "") for r in rows)
        for fragment in case.texts:
            assert fragment in alltext, (fragment, alltext[:2000])
        assert "\x00" not in alltext and "\ufffd" not in alltext
    _no_leak(json.dumps(rows, ensure_ascii=False))


def _no_leak(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, leak


def _exit_for(case: Bad) -> int:
    return 1 if case.errors else 0


FILES = sorted(CASES)


# --- clean, dedup ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_clean(name, tmp_path):
    case, path, out = CASES[name], BAD / name, tmp_path / "out.jsonl"
    result = _run("clean", str(path), "-o", str(out))
    assert result.exit_code == _exit_for(case), result.output
    _check_errors(result.stderr, path, case)
    assert f"wrote {case.n_good} row" in result.stderr
    _check_rows(read_rows(out), case)


@pytest.mark.parametrize("name", FILES)
def test_dedup(name, tmp_path):
    case, path, out = CASES[name], BAD / name, tmp_path / "groups.jsonl"
    result = _run("dedup", str(path), "-o", str(out), "-q")
    assert result.exit_code == _exit_for(case), result.output
    _check_errors(result.stderr, path, case)
    _check_rows(read_rows(out), case, text_fields=())


# --- cluster into an existing store, then stories and story ----------------------------------------


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A store holding the stories of tests/data/articles.jsonl, and its `stories` rows."""
    store = tmp_path_factory.mktemp("template") / "store"
    result = _run("cluster", "--store", str(store), str(GOOD_JSONL), "-q", "-o", str(store.parent / "rows.jsonl"))
    assert result.exit_code == 0, result.output
    return store, _stories(store)


def _stories(store: Path) -> list[dict]:
    result = _run("stories", "--store", str(store))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _store_copy(template_store, tmp_path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(template_store[0], store)
    return store


@pytest.mark.parametrize("name", FILES)
def test_cluster_into_a_store_keeps_what_it_held(name, tmp_path, template_store):
    case, path, out = CASES[name], BAD / name, tmp_path / "stories.jsonl"
    store = _store_copy(template_store, tmp_path)
    result = _run("cluster", "--store", str(store), str(path), "-o", str(out), "-q")
    assert result.exit_code == _exit_for(case), result.output
    _check_errors(result.stderr, path, case)
    rows = read_rows(out)
    _check_rows(rows, case, text_fields=())
    # Every story and article the store held is still there, and the good rows joined it.
    after = {s["story"]: s for s in _stories(store)}
    for story in template_store[1]:
        assert story["story"] in after and set(story["articles"]) <= set(after[story["story"]]["articles"])
    stored = {a for s in after.values() for a in s["articles"]}
    assert {r["id"] for r in rows} <= stored


def test_story_views_after_every_bad_file(tmp_path, template_store):
    """All bad files into one store (one run), then every story's view: the earlier ones intact."""
    store = _store_copy(template_store, tmp_path)
    result = _run("cluster", "--store", str(store), *(str(BAD / n) for n in FILES), "-o", str(tmp_path / "rows.csv"), "-q")
    assert result.exit_code == 1
    stories = _stories(store)
    assert {s["story"] for s in template_store[1]} <= {s["story"] for s in stories}
    result = _run("story", "--store", str(store), "--all", "--min-size", "2", "--json")
    assert result.exit_code == 0, result.output
    views = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(views) == sum(s["size"] >= 2 for s in stories) >= 1  # the bridge: the store's page and the archive's
    _no_leak(result.stdout)


# --- compare, score-pairs -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_txt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.txt"
    path.write_text("Harbour crane collapses onto cargo ship\n\nA crane collapsed onto a cargo ship in Tollen harbour on Monday. "
                    "No one was hurt, the port company said, and the quay will reopen within a week.\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", FILES)
def test_compare(name, good_txt):
    """One article a file: a verdict when the file holds exactly one (exit 1 if some record failed),
    1 when it holds none, 2 (bad usage) when it holds several."""
    case, path = CASES[name], BAD / name
    result = _run("compare", "--model", "fast", "--json", str(path), str(good_txt))
    expected = 1 if case.n_good == 0 else 2 if case.n_good > 1 else _exit_for(case)
    assert result.exit_code == expected, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("samestory: error: ")]
    assert all(str(path) in line for line in errors) and (expected == 0) == (not errors), result.stderr
    if case.n_good == 1:
        verdict = json.loads(result.stdout)
        assert 0 <= verdict["probability"] <= 1 and verdict["near_duplicate"] is False
    _no_leak(result.output)


@pytest.mark.parametrize("name", FILES)
def test_score_pairs(name, tmp_path):
    path, out = BAD / name, tmp_path / "scores.jsonl"
    result = _run("score-pairs", "--model", "fast", str(path), "-o", str(out), "-q")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("samestory: error: ")]
    assert errors and all(line.startswith(f"samestory: error: {path}") for line in errors), result.stderr
    rows = read_rows(out)
    if name == "pairs_bad.jsonl":
        _check_errors(result.stderr, path, PAIRS_BAD)
        assert [r["pair_id"] for r in rows] == list(PAIRS_BAD.good)
        assert all(0 <= r["probability"] <= 1 for r in rows)
    else:
        assert rows == []


# --- the HTTP API ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app_ = create_app(tmp_path_factory.mktemp("api") / "store")
    with TestClient(app_, raise_server_exceptions=False) as c:
        r = c.post("/api/articles", files=[("file", ("articles.jsonl", GOOD_JSONL.read_bytes(), "application/x-ndjson"))])
        assert r.status_code == 200, r.text
        c.earlier = [a["id"] for a in r.json()["articles"]]
        yield c


@pytest.mark.parametrize("how", ["multipart", "raw"])
@pytest.mark.parametrize("name", FILES)
def test_http_upload(name, how, client):
    case, data = CASES[name], (BAD / name).read_bytes()
    if how == "multipart":
        r = client.post("/api/articles", files=[("file", (name, data, "application/octet-stream"))])
    else:
        r = client.post("/api/articles", params={"filename": name}, content=data, headers={"Content-Type": "application/octet-stream"})
    assert r.headers["content-type"] == "application/json"
    _no_leak(r.text)
    if how == "raw" and not data.strip():
        assert r.status_code == 400 and "empty body" in r.json()["error"]
    elif case.n_good == 0:
        assert r.status_code == 422, r.text
        message = r.json()["error"]
        assert message.startswith("no article could be read: ")
        for location, reason in case.errors:
            assert (f"{name}:{location}: " if location else f"{name}: ") in message and reason in message, message
    else:
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["errors"]) == len(case.errors), body["errors"]
        for (location, reason), error in zip(case.errors, body["errors"]):
            assert error.startswith(f"{name}:{location}: " if location else f"{name}: ") and reason in error, error
        ids = [a["id"] for a in body["articles"]]
        assert len(ids) == case.n_good and (isinstance(case.good, int) or ids == list(case.good))
        for aid in ids:  # ids may hold '/' (a feed guid) or '?': URL-encoded, they still name the article
            stored = client.get("/api/articles/" + quote(aid, safe=""))
            assert stored.status_code == 200 and stored.json()["id"] == aid and stored.json()["story"]
    for aid in client.earlier:  # what the store held is still there
        assert client.get(f"/api/articles/{aid}").status_code == 200


def test_http_jsonl_sent_as_json_keeps_its_good_lines(client):
    r = client.post("/api/articles", content=(BAD / "malformed.jsonl").read_bytes(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["articles"]] == ["pac-0701", "pac-0707"]
    assert r.json()["errors"][0].startswith("body:line 2: malformed JSON")
    r = client.post("/api/articles", content=(BAD / "surrogates.jsonl").read_bytes(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and len(r.json()["articles"]) == 6, r.text


def test_http_json_body_with_surrogates_and_bad_bytes(client):
    body = '[{"id": "s-1", "title": "Lone \\ud800 surrogate", "text": "Night trams will run again on the Velden line from Friday, \\udfff ending a pause.", '
    body += '"tag\\ud800": ["x\\udc80", {"k\\ud800": "v\\ud800"}]}]'
    r = client.post("/api/articles", content=body.encode() + b"\xff", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]  # the 0xFF is outside the JSON
    r = client.post("/api/articles", content=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert client.get("/api/articles/s-1").json()["title"] == "Lone ? surrogate"


# --- 100 MB on one line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> tuple[Path, Path]:
    """A JSONL file whose second line is one 100 MB record, and a 100 MB text file without a line
    break; written in 1 MB pieces so the test never holds them."""
    home = tmp_path_factory.mktemp("huge")
    jsonl, text = home / "huge.jsonl", home / "huge.txt"
    piece = b"x" * (1 << 20)
    with open(jsonl, "wb") as f:
        f.write(json.dumps({"id": "before", "text": GOOD_TEXT}).encode() + b"\n" + b'{"id": "huge", "text": "')
        for _ in range(100):
            f.write(piece)
        f.write(b'"}\n' + json.dumps({"id": "after", "text": GOOD_TEXT + " Read after the huge line."}).encode() + b"\n")
    with open(text, "wb") as f:
        for _ in range(100):
            f.write(b"word " * (1 << 18) + b"")
    return jsonl, text


GOOD_TEXT = ("The Skerra ferry will run with two boats from June to August, the county said on Wednesday, "
             "after queues of up to three hours last summer.")


@pytest.mark.parametrize("command", ["clean", "dedup", "cluster"])
def test_100_mb_single_line_is_refused_by_name_in_bounded_memory(command, huge, tmp_path):
    jsonl, text = huge
    out = tmp_path / "out.jsonl"
    args = [command, str(jsonl), str(text), "-o", str(out), "-q"]
    if command == "cluster":
        args[1:1] = ["--store", str(tmp_path / "store")]
    tracemalloc.start()
    try:
        result = _run(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1, result.output
    assert f"samestory: error: {jsonl}:line 2: line too long (100.0 MiB, limit 20.0 MiB); skipped" in result.stderr
    assert f"samestory: error: {text}: too large: over 20.0 MiB for one document" in result.stderr
    assert [r["id"] for r in read_rows(out)] == ["before", "after"]
    # Python never held either file: memory is bounded by the record limit (20 MiB: a line is read up to
    # it, then skipped in 1 MiB reads), not by the line; the text file is refused by its size unread.
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_100_mb_body_is_cut_off_by_the_service(client):
    before = client.get("/api/health").json()["articles"]
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(100):
            sent += 1 << 20
            yield b"y" * (1 << 20)

    r = client.post("/api/articles", content=chunks(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert client.get("/api/health").json()["articles"] == before


# --- the per-document time limit ------------------------------------------------------------------

SLOW = "PATHOLOGICAL-PAGE"


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.fixture
def slow_extraction(monkeypatch):
    """Extraction of any page holding SLOW spins (up to 20 s, so a broken limit fails rather than hangs)."""
    import samestory.ingest.html as html_module

    real = html_module.extract_html

    def extract(html, url=None):
        if SLOW in html:
            _spin(20)
        return real(html, url)

    monkeypatch.setattr(html_module, "extract_html", extract)


def _page(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1><p>{body}</p></article></body></html>"


def test_doc_timeout_skips_the_slow_page_and_record_and_keeps_the_rest(tmp_path, slow_extraction):
    slow_page = tmp_path / "slow.html"
    slow_page.write_text(_page("Slow", f"{SLOW} {GOOD_TEXT}"), encoding="utf-8")
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in [
        {"id": "r1", "text": GOOD_TEXT},
        {"id": "r2", "html": _page("Slow record", f"{SLOW} {GOOD_TEXT}")},
        {"id": "r3", "html": _page("Fast record", GOOD_TEXT + " A second sentence of the story.")},
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    t0 = time.monotonic()
    result = _run("clean", str(slow_page), str(records), "--doc-timeout", "0.5", "-o", str(out))
    elapsed = time.monotonic() - t0
    assert result.exit_code == 1, result.output
    assert f"samestory: error: {slow_page}: extraction took longer than 0.5 s; skipped" in result.stderr
    assert f"samestory: error: {records}:line 2: extraction took longer than 0.5 s; skipped" in result.stderr
    assert [r["id"] for r in read_rows(out)] == ["r1", "r3"]
    assert elapsed < 10, elapsed


def test_doc_timeout_bounds_cleaning_too(tmp_path, monkeypatch):
    import samestory.clean as clean_module

    real = clean_module.split_scraped

    def split(text, title=None):
        if SLOW in text:
            _spin(20)
        return real(text, title)

    monkeypatch.setattr(clean_module, "split_scraped", split)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "slow", "text": f"{SLOW} {GOOD_TEXT}"}) + "\n" + json.dumps({"id": "ok", "text": GOOD_TEXT}) + "\n")
    for command in ("clean", "dedup", "cluster"):
        out = tmp_path / f"{command}.jsonl"
        result = _run(command, str(src), "--doc-timeout", "0.3", "-o", str(out), "-q")
        assert result.exit_code == 1, result.output
        assert f"samestory: error: {src}:line 1: cleaning took longer than 0.3 s; skipped" in result.stderr
        assert [r["id"] for r in read_rows(out)] == ["ok"]


def test_doc_timeout_on_a_real_pathological_page(tmp_path):
    """No stand-in: a 4 MB page of 40,000 paragraphs takes trafilatura seconds; 0.2 s stops it."""
    big = tmp_path / "big.html"
    big.write_text(_page("Big", "</p><p>".join(f"Paragraph {i} of a page that never ends, with words." for i in range(40_000))), encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text(f"Ferry\n\n{GOOD_TEXT}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    t0 = time.monotonic()
    result = _run("clean", str(big), str(good), "--doc-timeout", "0.2", "-o", str(out))
    assert result.exit_code == 1 and f"{big}: extraction took longer than 0.2 s" in result.stderr, result.output
    assert len(read_rows(out)) == 1 and time.monotonic() - t0 < 30


def test_doc_timeout_option_usage():
    assert _run("clean", str(BAD / "nested.html"), "--doc-timeout", "-1").exit_code == 2
    result = _run("clean", str(BAD / "nested.html"), "--doc-timeout", "0", "-q")  # 0: no limit
    assert result.exit_code == 0
    for command in ("clean", "dedup", "cluster", "compare", "score-pairs", "serve"):
        assert "--doc-timeout" in _run(command, "--help").output


def test_http_doc_timeout_reports_the_record_and_the_service_keeps_answering(tmp_path, slow_extraction):
    app_ = create_app(tmp_path / "store", doc_timeout=2.0)
    recs = [{"id": "h1", "text": GOOD_TEXT}, {"id": "h2", "html": _page("Slow", f"{SLOW} {GOOD_TEXT}")}]
    with TestClient(app_, raise_server_exceptions=False) as c:
        answer = {}
        slow = threading.Thread(target=lambda: answer.update(r=c.post("/api/articles", json=recs)))
        t0 = time.monotonic()
        slow.start()
        time.sleep(0.3)
        latencies = []
        while slow.is_alive() and time.monotonic() - t0 < 1.5:  # the upload is being extracted: reads still answer
            t1 = time.monotonic()
            assert c.get("/api/health").status_code == 200
            latencies.append(time.monotonic() - t1)
        slow.join(30)
        r = answer["r"]
        assert r.status_code == 200, r.text
        assert [a["id"] for a in r.json()["articles"]] == ["h1"]
        assert r.json()["errors"] == ["body:record 2: extraction took longer than 2 s; skipped (raise the limit with --doc-timeout)"]
        assert latencies and max(latencies) < 1.0, latencies
        # the same through an upload, and cleaning through /api/compare
        page = _page("Slow upload", f"{SLOW} {GOOD_TEXT}").encode()
        r = c.post("/api/articles", files=[("file", ("slow.html", page, "text/html"))])
        assert r.status_code == 422 and "slow.html: extraction took longer than 2 s" in r.json()["error"]


def test_time_limit_in_the_main_thread_and_in_a_worker_thread():
    assert run_with_time_limit(1.0, sum, [1, 2]) == 3
    assert run_with_time_limit(None, _spin, 0.01) is None
    t0 = time.monotonic()
    with pytest.raises(TimeLimitExceeded, match="regex took longer than 0.2 s"):  # a runaway regex, stopped by SIGALRM
        run_with_time_limit(0.2, re.match, r"(a+)+$", "a" * 40 + "b", what="regex")
    assert time.monotonic() - t0 < 5
    outcome = {}

    def worker():
        t1 = time.monotonic()
        try:
            run_with_time_limit(0.2, _spin, 20)
        except TimeLimitExceeded as exc:
            outcome["exc"] = exc
        outcome["seconds"] = time.monotonic() - t1
        outcome["after"] = run_with_time_limit(0.2, sum, [2, 2])  # the thread is fine afterwards

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert isinstance(outcome["exc"], TimeLimitExceeded) and outcome["seconds"] < 5 and outcome["after"] == 4


def test_a_tiny_time_limit_is_reported_never_escapes():
    """A limit shorter than the set-up itself fires inside it (or inside the cleanup): still a clean error."""
    for _ in range(200):
        try:
            run_with_time_limit(0.00001, _spin, 0.001)
        except TimeLimitExceeded:
            pass
    assert run_with_time_limit(1.0, sum, [1, 2]) == 3  # and no timer is left running
    time.sleep(0.05)


def test_time_limit_through_the_python_api(tmp_path, slow_extraction):
    from samestory import clean_article

    page = tmp_path / "slow.html"
    page.write_text(_page("Slow", f"{SLOW} {GOOD_TEXT}"), encoding="utf-8")
    errors: list[InputError] = []
    assert list(read_articles([page], limits=Limits(max_seconds=0.3), on_error=errors.append)) == []
    assert [e.message for e in errors] == ["extraction took longer than 0.3 s; skipped (raise the limit with --doc-timeout)"]
    with pytest.raises(TimeLimitExceeded):
        import samestory.clean as clean_module

        real = clean_module.split_scraped
        clean_module.split_scraped = lambda text, title=None: _spin(20) or real(text, title)
        try:
            clean_article(Article(text=GOOD_TEXT), max_seconds=0.3)
        finally:
            clean_module.split_scraped = real


# --- property tests: decoders and the JSONL reader ----------------------------------------------

CHARSETS = [None, "utf-8", "iso-8859-1", "cp1252", "utf-16", "utf-32", "shift_jis", "x-no-such-charset", "utf-7", "koi8-r", ""]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600), declared=st.sampled_from(CHARSETS))
def test_decoders_never_fail_and_always_give_writable_text(data, declared):
    text, _ = decode_text(data, declared)
    text.encode("utf-8")  # no lone surrogates: every writer and the store can take it
    decode_mixed(data).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(utf8=st.text(max_size=80), cp=st.text(alphabet="abc \u00e9\u00fc\u00df\u201c\u201d\u2019\u20ac", max_size=80))
def test_mixed_decoding_keeps_utf8_and_reads_cp1252(utf8, cp):
    assert decode_mixed(utf8.encode("utf-8")) == utf8
    # A cp1252 part after a UTF-8 part: the UTF-8 part always comes back; the cp1252 one
    # too unless its bytes happen to form UTF-8 (never for these letters next to ASCII).
    mixed = decode_mixed(utf8.encode("utf-8") + b"\n" + cp.encode("cp1252"))
    assert mixed.startswith(utf8 + "\n")


JUNK = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" ")),
    st.sampled_from([b'{"id": "x", "text": ', b"[1, 2]", b'{"text": "\\ud800"', b"\x00\x00", b"\xff\xfe\xfd", b'{"title": 5, "text": "t"}', b"null"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(st.integers(0, 9), JUNK), min_size=1, max_size=12))
def test_jsonl_good_lines_survive_any_junk_lines_around_them(lines):
    body, good = b"", []
    for i, line in enumerate(lines):
        if isinstance(line, int):
            good.append(f"good-{i}")
            body += json.dumps({"id": f"good-{i}", "text": f"Story number {line} told in a sentence of words."}).encode() + b"\n"
        else:
            body += line + b"\n"
    items = list(read_bytes(body, "fuzz.jsonl", "jsonl"))
    assert all(isinstance(i, (Article, InputError)) for i in items)
    ids = [i.id for i in items if isinstance(i, Article)]
    it = iter(ids)
    assert all(g in it for g in good), (good, ids)  # every good record, in order
    for item in items:
        if isinstance(item, Article):
            json.dumps(item.to_row(), ensure_ascii=False).encode("utf-8")
        else:
            assert item.source == "fuzz.jsonl" and item.location.startswith("line ")
