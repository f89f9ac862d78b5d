"""The HTTP API (FastAPI TestClient): every endpoint, bad bodies, the token, the size limit."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from samestory.serve import create_app

from conftest import EXAMPLES

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("api") / "store", token=TOKEN, max_body_bytes=200_000)
    with TestClient(app, raise_server_exceptions=False) as c:
        files = [("file", (p.name, p.read_bytes(), "text/plain")) for p in sorted(EXAMPLES.glob("*.txt"))]
        r = c.post("/api/articles", files=files, headers=AUTH)
        assert r.status_code == 200, r.text
        c.added = r.json()
        yield c


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["articles"] == 2


def test_upload_clusters_the_two_examples_into_one_story(client):
    rows = client.added["articles"]
    assert len(rows) == 2 and rows[0]["story"] == rows[1]["story"]
    # outlet b's page gives no date: the answer says it was placed where it arrived, and why
    assert [r["placed_by_arrival"] for r in rows] == [None, "no date"]


def test_post_json_records_and_idempotence(client):
    rec = {"id": "storm-1", "title": "Storm hits port", "text": "A storm hit the port city of Exampleton on Monday, killing 12 people.",
           "date": "2020-03-02", "source": "example.org", "lang": "en"}
    r = client.post("/api/articles", json=rec, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["articles"][0]["id"] == "storm-1"
    again = client.post("/api/articles", json=[rec], headers=AUTH)
    assert again.status_code == 200 and again.json()["articles"][0]["story"] == r.json()["articles"][0]["story"]
    assert client.get("/api/health").json()["articles"] == 3
    art = client.get("/api/articles/storm-1").json()
    assert art["title"] == "Storm hits port" and art["story"]


def test_delete_an_article_from_its_story(client):
    rec = {"id": "gone-1", "title": "Ferry strike ends", "text": "Ferry crews in Port Alba ended a three-day strike on "
           "Friday after the operator agreed to a 4 percent raise, the union said.", "date": "2020-05-01", "lang": "en"}
    assert client.post("/api/articles", json=rec, headers=AUTH).status_code == 200
    count = client.get("/api/health").json()["articles"]
    assert client.delete("/api/articles/gone-1").status_code == 401  # writing needs the token
    r = client.delete("/api/articles/gone-1", headers=AUTH)
    assert r.status_code == 200 and r.json() == {"removed": "gone-1"}
    assert client.get("/api/articles/gone-1").status_code == 404
    assert client.get("/api/stories/gone-1").status_code == 404  # its story had no other article
    assert client.get("/api/health").json()["articles"] == count - 1
    r = client.delete("/api/articles/gone-1", headers=AUTH)
    assert r.status_code == 404 and "gone-1" in r.json()["error"]
    again = client.post("/api/articles", json=rec, headers=AUTH)  # the service's stories in memory are still right
    assert again.status_code == 200 and again.json()["articles"][0]["story"] == "gone-1"
    assert client.delete("/api/articles/gone-1", headers=AUTH).status_code == 200  # the store as the other tests expect it
    assert client.get("/api/health").json()["articles"] == count - 1


def test_missing_and_wrong_token(client):
    r = client.post("/api/articles", json={"text": "x"})
    assert r.status_code == 401 and "token" in r.json()["error"]
    r = client.post("/api/articles", json={"text": "x"}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_malformed_and_wrong_bodies(client):
    before = client.get("/api/health").json()["articles"]
    r = client.post("/api/articles", content=b'[{"text": "unterminated', headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    r = client.post("/api/articles", content=b"42", headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 422 and "expected" in r.json()["error"]
    r = client.post("/api/articles", json=[{"title": 5}], headers=AUTH)
    assert r.status_code == 422 and r.json()["error"]
    r = client.post("/api/articles", content=b"", headers=AUTH)
    assert r.status_code == 400
    r = client.post("/api/articles", content=b"\x00\x01\x02binary junk\xff" * 10, headers={**AUTH, "Content-Type": "application/octet-stream"})
    assert r.status_code in (400, 422) and r.json()["error"]
    r = client.post("/api/articles?format=nonsense", json=[{"text": "x"}], headers=AUTH)
    assert r.status_code == 422
    assert client.get("/api/health").json()["articles"] == before


def test_oversized_body(client):
    big = json.dumps([{"text": "word " * 60_000}]).encode()
    r = client.post("/api/articles", content=big, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["error"]

    def chunks():  # no Content-Length: counted while read
        for _ in range(30):
            yield b"x" * 10_000
    r = client.post("/api/articles", content=chunks(), headers={**AUTH, "Content-Type": "text/plain"})
    assert r.status_code == 413


def test_list_stories_paged_and_filtered(client):
    r = client.get("/api/stories", params={"sort": "biggest", "per_page": 1})
    data = r.json()
    assert r.status_code == 200 and data["total"] == 2 and data["pages"] == 2 and data["stories"][0]["size"] == 2
    assert client.get("/api/stories", params={"q": "Biegun"}).json()["total"] == 1
    assert client.get("/api/stories", params={"q": "no-such-word-anywhere"}).json()["total"] == 0
    assert client.get("/api/stories", params={"source": "example.org"}).json()["total"] == 1
    assert client.get("/api/stories", params={"lang": "en"}).json()["total"] == 2
    assert client.get("/api/stories", params={"since": "2020-01-01"}).json()["total"] >= 1
    assert client.get("/api/stories", params={"until": "2000-01-01"}).json()["total"] == 0
    r = client.get("/api/stories", params={"since": "not a date"})
    assert r.status_code == 422 and "not a date" in r.json()["error"]
    r = client.get("/api/stories", params={"page": 0})
    assert r.status_code == 422 and "page" in r.json()["error"]


def test_story_with_view(client):
    sid = client.added["articles"][0]["story"]
    r = client.get(f"/api/stories/{sid}")
    assert r.status_code == 200
    body = r.json()
    assert body["size"] == 2 and len(body["view"]["summary"]) == 3
    assert any("full range" in s["text"] for a in body["view"]["adds"] for s in a["sentences"])
    r = client.get("/api/stories/no-such-story")
    assert r.status_code == 404 and "no story" in r.json()["error"]
    assert client.get("/api/articles/nope").status_code == 404


def test_compare(client):
    a_id, b_id = (x["id"] for x in client.added["articles"])
    r = client.post("/api/compare", json={"a_id": a_id, "b_id": b_id, "model": "fast"})
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["same_story"] is True and v["shared_passages"] is not None and len(v["articles"]) == 2
    r = client.post("/api/compare", json={"a": {"title": "A", "text": "One two three four five six."},
                                          "b": {"title": "B", "text": "Seven eight nine ten eleven."}, "model": "fast"})
    assert r.status_code == 200 and 0 <= r.json()["probability"] <= 1
    assert client.post("/api/compare", json={"a_id": a_id}).status_code == 422
    assert client.post("/api/compare", json={"a_id": a_id, "b_id": "nope"}).status_code == 404
    r = client.post("/api/compare", content=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]
    r = client.post("/api/compare", json={"a": {"title": 3}, "b": {"text": "x"}, "model": "fast"})
    assert r.status_code == 422


def test_docs_and_page(client):
    assert client.get("/docs").status_code == 200
    assert "/api/stories" in client.get("/openapi.json").json()["paths"]
    r = client.get("/")
    assert r.status_code == 200 and "samestory" in r.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/api/nothing-here").status_code == 404


def test_a_store_made_on_another_embedder_is_served_on_it(tmp_path):
    from samestory.article import Article
    from samestory.cluster import ClusterConfig, StoryClusterer
    from samestory.store import Store

    with Store(tmp_path / "s") as store:
        StoryClusterer(store, ClusterConfig(embedder="use")).add(
            [Article(id="a", title="Storm hits port", text="A storm hit the port city of Exampleton on Monday.", date="2020-03-02", lang="en")])
    with TestClient(create_app(tmp_path / "s")) as c:
        r = c.post("/api/articles", json={"id": "b", "title": "Storm batters Exampleton port",
                                          "text": "The port city of Exampleton was hit by a storm on Monday.", "date": "2020-03-02", "lang": "en"})
        assert r.status_code == 200, r.text
