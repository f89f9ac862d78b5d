"""Hostile requests: oversized bodies, slow uploads, path traversal, tokens, markup in article text.

All traffic goes to 127.0.0.1 only: the FastAPI TestClient, or a uvicorn server on a free
localhost port in a thread (for the raw-socket slow upload).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from samestory.serve import create_app

from conftest import serve_in_thread

TOKEN = "hostile-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 100_000
XSS = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
TEXT = ("The harbour authority of Exampleton closed the north pier on Monday after a crane collapsed onto a cargo ship. "
        "No one was hurt, a spokeswoman said, and the pier should reopen within a week.")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def client(home):
    app = create_app(home / "store", token=TOKEN, max_body_bytes=LIMIT)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _count(client) -> int:
    return client.get("/api/health").json()["articles"]


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- oversized bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", "application/octet-stream"])
def test_oversized_body_with_content_length_is_refused_before_reading(client, ctype):
    before = _count(client)
    r = client.post("/api/articles", content=b"x" * (LIMIT + 1), headers={**AUTH, "Content-Type": ctype})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert _count(client) == before


def test_a_lying_or_bad_content_length_does_not_get_past_the_limit(client):
    r = client.post("/api/articles", content=b"x" * 10, headers={**AUTH, "Content-Length": "not-a-number"})
    assert r.status_code == 400 and r.json()["error"]


def test_oversized_chunked_body_without_content_length_is_cut_off(client):
    before = _count(client)
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(1000):  # up to 16 MB offered; the server stops reading past the limit
            sent += 16_000
            yield b"y" * 16_000

    r = client.post("/api/articles", content=chunks(), headers={**AUTH, "Content-Type": "text/plain"})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert _count(client) == before


def test_oversized_multipart_upload_is_refused(client):
    files = [("file", ("big.txt", b"z" * (LIMIT + 10), "text/plain"))]
    r = client.post("/api/articles", files=files, headers=AUTH)
    assert r.status_code == 413


def test_oversized_compare_body_is_refused(client):
    r = client.post("/api/compare", json={"a": {"text": "a" * LIMIT}, "b": {"text": "b"}})
    assert r.status_code == 413


# --- tokens -------------------------------------------------------------------------------------


def _writing_routes(app) -> list[str]:
    """Every route that can change the store: every non-GET API route except the read-only comparison."""
    out = []
    for route in app.routes:
        methods = getattr(route, "methods", None) or set()
        if route.path.startswith("/api/") and methods - {"GET", "HEAD"} and route.path != "/api/compare":
            out.append(route.path)
    return out


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
    {"X-Token": TOKEN},
], ids=["none", "empty", "bearer-only", "wrong", "longer", "shorter", "basic", "no-scheme", "other-header"])
def test_every_writing_endpoint_needs_the_right_token(client, headers):
    routes = _writing_routes(client.app)
    # a new writing endpoint must be added here and guarded
    assert routes == ["/api/articles", "/api/articles/{article_id:path}"]
    before = _count(client)
    for body in ({"json": {"title": "t", "text": TEXT}}, {"files": [("file", ("a.txt", TEXT.encode(), "text/plain"))]},
                 {"content": TEXT.encode(), "headers": {"Content-Type": "text/plain"}}):
        kw = dict(body)
        kw["headers"] = {**kw.get("headers", {}), **headers}
        r = client.post("/api/articles", **kw)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["error"] and r.headers.get("www-authenticate") == "Bearer"
    r = client.delete("/api/articles/any-id", headers=headers)  # refused before it is looked up
    assert r.status_code == 401 and r.headers.get("www-authenticate") == "Bearer", (headers, r.text)
    assert _count(client) == before


def test_compare_is_open_but_writes_nothing(client):
    before = _count(client)
    r = client.post("/api/compare", json={"a": {"title": "t", "text": TEXT}, "b": {"title": "u", "text": TEXT}, "model": "fast"})
    assert r.status_code == 200, r.text
    assert _count(client) == before


# --- path traversal -----------------------------------------------------------------------------


EVIL_NAMES = ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini", "../" * 20 + "tmp/owned.txt", "%2e%2e/%2e%2e/etc/passwd",
              "a\x00b.txt"]


def test_file_names_are_labels_never_paths(client, home):
    tree = _files_under(home)
    before = _count(client)
    for i, name in enumerate(EVIL_NAMES):
        body = f"Pier story {i}\n\n{TEXT} Report number {i}.".encode()
        # multipart upload with a hostile filename
        r = client.post("/api/articles", files=[("file", (name, body, "text/plain"))], headers=AUTH)
        assert r.status_code == 200, r.text
        # raw body with a hostile ?filename=
        r2 = client.post("/api/articles", params={"filename": name}, content=body + b" Again.",
                         headers={**AUTH, "Content-Type": "text/plain"})
        assert r2.status_code == 200, r2.text
        for resp in (r, r2):
            assert "root:" not in resp.text
            art = client.get(f"/api/articles/{resp.json()['articles'][0]['id']}").json()
            assert "root:" not in art["text"] and "Pier story" in (art["title"] or "") + art["text"]
    assert _count(client) == before + 2 * len(EVIL_NAMES)
    assert not Path("/tmp/owned.txt").exists()
    # nothing was written next to the store: only the store directory's own files changed
    assert {p for p in _files_under(home) - tree if not p.startswith("store")} == set()


@pytest.mark.parametrize("ident", ["../x", "..%2Fx", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..\\..\\x",
                                   "x'; DROP TABLE articles; --", "%00", "*", "%25"])
def test_hostile_story_and_article_ids_are_just_unknown_ids(client, ident):
    before = _count(client)
    for path in (f"/api/stories/{ident}", f"/api/articles/{ident}"):
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json") and r.json()["error"]
        assert "root:" not in r.text
    assert _count(client) == before


@pytest.mark.parametrize("path", ["/static/../serve.py", "/static/%2e%2e/serve.py", "/static/..%2Fserve.py", "/static/%2e%2e%2fserve.py",
                                  "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static//etc/passwd"])
def test_static_files_stay_in_the_web_directory(client, path):
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert "root:" not in r.text and "create_app" not in r.text


def test_hostile_ids_in_records_are_stored_as_plain_text(client, home):
    tree = _files_under(home)
    recs = [{"id": name, "title": f"Pier {i}", "text": f"{TEXT} Record {i}."} for i, name in enumerate(["../../etc/passwd", "/tmp/x", "a/../../b"])]
    r = client.post("/api/articles", json=recs, headers=AUTH)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["articles"]] == [rec["id"] for rec in recs]
    for rec in recs:  # fetched back through a URL-encoded id (the slash is part of the id)
        got = client.get("/api/articles/" + urllib.request.quote(rec["id"], safe=""))
        assert got.status_code in (200, 404)  # routers may not match an encoded slash; never a file
        assert "root:" not in got.text
    assert {p for p in _files_under(home) - tree if not p.startswith("store")} == set()


# --- markup in article text ---------------------------------------------------------------------


def test_markup_in_articles_comes_back_as_json_text_never_as_a_page(client):
    rec = {"id": "xss-1", "title": XSS, "text": f"{TEXT} {XSS}", "url": "javascript:window.__xss=3", "source": XSS}
    r = client.post("/api/articles", params={"clean": "false"}, json=rec, headers=AUTH)
    assert r.status_code == 200, r.text
    story = r.json()["articles"][0]["story"]
    for path in ("/api/articles/xss-1", f"/api/stories/{story}", "/api/stories?q=__xss"):
        got = client.get(path)
        assert got.status_code == 200 and got.headers["content-type"] == "application/json"
        assert XSS in got.text or json.dumps(XSS)[1:-1] in got.text  # stored as given, served as JSON data
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert page.headers["x-content-type-options"] == "nosniff"


# --- slow uploads (slowloris) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(home):
    base, srv, thread = serve_in_thread(create_app(home / "live-store", token=TOKEN, max_body_bytes=LIMIT))
    yield int(base.rsplit(":", 1)[1])
    srv.should_exit = True
    thread.join(timeout=10)


def test_slow_uploads_do_not_stop_the_service(live):
    """Slow clients (one byte of body, or of headers, at a time) while another client reads /api/health."""
    port = live
    stop = time.monotonic() + 4.0
    socks = []
    body = json.dumps({"title": "Slow pier", "text": TEXT}).encode()
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:  # slow body
            s.sendall(b"POST /api/articles HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        else:  # slow headers
            s.sendall(b"GET /api/health HTTP/1.1\r\n")
        socks.append(s)
    latencies, fed = [], 0
    try:
        while time.monotonic() < stop:
            for i, s in enumerate(socks):  # one more byte from every slow client, never the last one
                try:
                    s.sendall(body[fed:fed + 1] if i % 2 and fed < len(body) - 1 else b"X" if not i % 2 else b"")
                except OSError:
                    pass
            fed += 1
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
                assert r.status == 200 and json.load(r)["status"] == "ok"
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)
    finally:
        for s in socks:
            s.close()
    assert len(latencies) >= 20
    assert max(latencies) < 2.0, max(latencies)
    # the server is still whole: a normal write goes through afterwards
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/articles", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **AUTH})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200 and json.load(r)["added"] == 1


def test_a_slow_upload_past_the_limit_is_cut_off(live):
    port = live
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/articles HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                  + f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"w" * 20_000
        answer = b""
        try:
            for _ in range(20):  # 400 kB offered in 20 kB chunks, slowly; the limit is 100 kB
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                time.sleep(0.02)
        except OSError:
            pass  # the server answered and closed: fine
        s.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                part = s.recv(65536)
                if not part:
                    break
                answer += part
        except OSError:
            pass
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

