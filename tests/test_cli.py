"""The samestory command line: exit codes, error lines, outputs, help."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from samestory.cli import app
from samestory.output import read_rows

runner = CliRunner()


def test_clean_examples_to_each_format(examples, tmp_path):
    for ext in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"out.{ext}"
        result = runner.invoke(app, ["clean", *map(str, examples), "-o", str(out), "-q"])
        assert result.exit_code == 0, result.output
        rows = read_rows(out)
        assert [r["date"] for r in rows] in (["2019-11-15", None], ["2019-11-15", ""])
        assert rows[0]["title"] == "The Offer Of US Rejected By North Korea For December Talks"
        assert {"id", "title", "text", "date", "source", "url", "lang", "byline", "removed", "removed_reasons"} <= set(rows[0])


def test_bad_input_reports_and_keeps_good_rows(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("A Headline For It\n\nThe story itself, told in a sentence that is long enough.", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["clean", str(empty), str(good), str(tmp_path / "missing.txt"), "-o", str(out)])
    assert result.exit_code == 1
    assert f"samestory: error: {empty}: empty file" in result.output
    assert f"samestory: error: {tmp_path / 'missing.txt'}: no such file" in result.output
    assert "wrote 1 row" in result.output
    (row,) = read_rows(out)
    assert row["title"] == "A Headline For It"


def test_usage_errors_exit_2(tmp_path):
    good = tmp_path / "a.txt"
    good.write_text("text", encoding="utf-8")
    assert runner.invoke(app, ["clean", str(good), "--format", "pdf"]).exit_code == 2
    result = runner.invoke(app, ["clean", str(good), "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 2
    assert "end the name in .jsonl, .csv or .parquet" in result.output
    assert runner.invoke(app, ["clean"]).exit_code == 2


def test_stdout_jsonl_and_stdin(tmp_path):
    result = runner.invoke(app, ["clean", "-", "-q"], input='{"title": "T", "text": "Body of the story goes here, long enough to be prose."}\n')
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.splitlines()[0])
    assert row["title"] == "T" and row["text"].startswith("Body")


def test_help_teaches_with_an_example():
    result = runner.invoke(app, ["clean", "--help"])
    assert result.exit_code == 0
    assert "samestory clean ../shared/examples/*.txt -o cleaned.jsonl" in result.output


def test_installed_script_runs():
    proc = subprocess.run([sys.executable, "-m", "samestory.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("samestory ")


def test_100_mb_inputs_are_refused_by_name_and_the_rest_is_read(tmp_path):
    """A 100 MB one-article file and a 100 MB JSONL line: one error each, memory bounded."""
    big_text = tmp_path / "huge.txt"
    with open(big_text, "wb") as f:
        f.write(b"word " * 20_000_000)
    big_line = tmp_path / "huge.jsonl"
    with open(big_line, "wb") as f:
        f.write(b'{"text": "The first story is fine and long enough to keep."}\n{"text": "')
        f.write(b"x" * 100_000_000)
        f.write(b'"}\n{"text": "The last story is fine too, and it is read after the huge one."}\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["clean", str(big_text), str(big_line), "-o", str(out)])
    assert result.exit_code == 1
    assert f"{big_text}: too large: over 20.0 MiB for one document" in result.output
    assert f"{big_line}:line 2: line too long (95.4 MiB, limit 20.0 MiB); skipped" in result.output
    assert [r["text"][:14] for r in read_rows(out)] == ["The first stor", "The last story"]


def _story_files(tmp_path):
    from test_dedup import OTHER, STORY

    rows = [
        {"id": "orig", "title": "Bridge reopens", "text": "\n\n".join(STORY), "date": "2024-03-15"},
        {"id": "copy", "title": "Bridge reopens after repairs", "text": "\n\n".join(STORY[1:]), "date": "2024-03-16"},
        {"id": "hail", "title": "Hail hits orchards", "text": "\n\n".join(OTHER), "date": "2024-03-15"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, rows


def test_dedup_batch_and_store(tmp_path):
    path, rows = _story_files(tmp_path)
    out = tmp_path / "groups.csv"
    result = runner.invoke(app, ["dedup", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    got = {r["id"]: r for r in read_rows(out)}
    assert got["copy"]["duplicate_of"] == "orig" and got["copy"]["group"] == "orig"
    assert got["orig"]["duplicate_of"] == "" and got["hail"]["group"] == "hail"
    # incremental: the second run checks new articles against the stored ones
    store = tmp_path / "store"
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps(rows[1]) + "\n" + json.dumps(rows[2]) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["dedup", "--store", str(store), str(first), "-q", "-o", str(tmp_path / "o1.jsonl")]).exit_code == 0
    result = runner.invoke(app, ["dedup", "--store", str(store), str(second), "-q", "-o", str(tmp_path / "o2.jsonl")])
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["duplicate_of"]) for r in read_rows(tmp_path / "o2.jsonl")] == [("copy", "orig"), ("hail", None)]


def test_dedup_reports_a_damaged_store(tmp_path):
    path, _ = _story_files(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    (store / "samestory.sqlite").write_bytes(b"garbage" * 100)
    result = runner.invoke(app, ["dedup", "--store", str(store), str(path), "-q"])
    assert result.exit_code == 1
    assert "the store file is damaged" in result.output


def test_compare_json_and_text(tmp_path):
    from test_dedup import STORY

    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("Bridge Reopens After Repairs\n\n" + "\n\n".join(STORY), encoding="utf-8")
    b.write_text("Harbour Bridge Open Again\n\nBy Ann Lee\n\n" + "\n\n".join(STORY[:3]), encoding="utf-8")
    result = runner.invoke(app, ["compare", str(a), str(b), "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["near_duplicate"] is True and verdict["containment"] == 1.0
    (passage,) = verdict["shared_passages"]
    assert passage["text"].startswith("Port Alder's harbour bridge reopened") and passage["b_start"] == 0
    text = runner.invoke(app, ["compare", str(a), str(b)]).stdout
    assert "near-duplicate: yes" in text and "shared passages: 1" in text


def test_compare_examples_are_not_near_copies(examples):
    result = runner.invoke(app, ["compare", *map(str, examples), "--json"])
    verdict = json.loads(result.stdout)
    assert verdict["near_duplicate"] is False and verdict["jaccard"] < 0.05


def test_compare_needs_one_article_a_file(tmp_path):
    path, _ = _story_files(tmp_path)
    result = runner.invoke(app, ["compare", str(path), str(path)])
    assert result.exit_code == 2
    assert "holds 3 articles; compare takes one article a file" in result.output


def test_compare_examples_same_story_but_not_near_copies(examples):
    """The smallest case the product must get right: heavy rewording, one story."""
    result = runner.invoke(app, ["compare", *map(str, examples), "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["same_story"] is True and verdict["overall"] <= 1.5 and verdict["probability"] > 0.8
    assert verdict["near_duplicate"] is False
    text = runner.invoke(app, ["compare", *map(str, examples)]).stdout
    assert "same story: yes" in text


def test_compare_refuses_an_unknown_model_and_an_empty_article(examples, tmp_path):
    result = runner.invoke(app, ["compare", *map(str, examples), "--model", "huge"])
    assert result.exit_code == 2 and "'huge' is not a scorer model" in result.output
    boilerplate = tmp_path / "boilerplate.txt"  # nothing left once cleaned
    boilerplate.write_text("Advertisement\n\nShare this article\n", encoding="utf-8")
    result = runner.invoke(app, ["compare", str(examples[0]), str(boilerplate)])
    assert result.exit_code == 1
    assert f"with {boilerplate}: the second article has no title and no text: nothing to compare" in result.output


def test_score_pairs_writes_scores_and_reports_bad_rows(tmp_path):
    from test_scorer import BRIDGE, BRIDGE_REWORDED, LIBRARY

    def row(pid, a, b):
        return {"pair_id": pid, "title1": a.title, "text1": a.text, "title2": b.title, "text2": b.text, "lang1": "en"}

    pairs = tmp_path / "pairs.jsonl"
    lines = [json.dumps(row("same", BRIDGE, BRIDGE_REWORDED)), "{broken", json.dumps(row("other", BRIDGE, LIBRARY)),
             json.dumps({**row("empty", BRIDGE, LIBRARY), "text2": "", "title2": ""})]
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for ext in ("csv", "parquet", "jsonl"):
        out = tmp_path / f"scores.{ext}"
        result = runner.invoke(app, ["score-pairs", str(pairs), "-o", str(out), "--model", "fast", "--batch", "1"])
        assert result.exit_code == 1, result.output
        assert f"{pairs}:line 2: malformed JSON" in result.output
        assert f"{pairs}:line 4: article 2: record has no 'text2'" in result.output
        rows = read_rows(out)
        assert [r["pair_id"] for r in rows] == ["same", "other"]
        same, other = rows
        assert float(same["overall"]) < float(other["overall"]) and {"probability", "overall", "same_story"} <= set(same)
    result = runner.invoke(app, ["score-pairs", str(pairs), "--format", "html"])
    assert result.exit_code == 2 and "not a pair format" in result.output


def test_cluster_batch_and_store_then_stories(examples, tmp_path):
    result = runner.invoke(app, ["cluster", *map(str, examples), "-q"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2 and rows[0]["story"] == rows[1]["story"]

    store = tmp_path / "news.store"
    first = runner.invoke(app, ["cluster", "--store", str(store), str(examples[0]), "-q"])
    second = runner.invoke(app, ["cluster", "--store", str(store), str(examples[1]), "-o", str(tmp_path / "b.csv"), "-q"])
    assert first.exit_code == second.exit_code == 0
    (b,) = read_rows(tmp_path / "b.csv")
    assert b["story"] == json.loads(first.stdout)["story"]
    out = tmp_path / "stories.jsonl"
    result = runner.invoke(app, ["stories", "--store", str(store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    (story,) = read_rows(out)
    assert story["size"] == 2 and story["first_seen"] == "2019-11-15"
    assert story["headline"] == "The Offer Of US Rejected By North Korea For December Talks"
    assert set(story) == {"story", "headline", "summary", "first_seen", "last_seen", "sources", "articles", "size"}


def test_remove_takes_articles_out_of_the_store_and_its_stories(examples, tmp_path):
    store = tmp_path / "news.store"
    result = runner.invoke(app, ["cluster", "--store", str(store), *map(str, examples), "-q"])
    assert result.exit_code == 0, result.output
    a, b = (json.loads(line)["id"] for line in result.stdout.splitlines())
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{a}\n\nno-such-id\n", encoding="utf-8")
    result = runner.invoke(app, ["remove", "--store", str(store), "--ids", str(ids)])
    assert result.exit_code == 1 and "no-such-id" in result.output and "removed 1 article " in result.output
    out = tmp_path / "stories.jsonl"
    assert runner.invoke(app, ["stories", "--store", str(store), "-o", str(out)]).exit_code == 0
    (story,) = read_rows(out)
    assert story["articles"] == [b] and story["size"] == 1
    result = runner.invoke(app, ["remove", "--store", str(store), b])
    assert result.exit_code == 0 and "removed 1 article " in result.output
    assert runner.invoke(app, ["stories", "--store", str(store)]).stdout.strip() == ""
    assert runner.invoke(app, ["remove", "--store", str(store)]).exit_code == 2  # no ids
    long_id = "x" * 5000
    result = runner.invoke(app, ["remove", "--store", str(store), long_id])
    assert result.exit_code == 1 and "5,000 characters" in result.output and long_id not in result.output
    latin1 = tmp_path / "ids-latin1.txt"
    latin1.write_bytes("caf\xe9\n".encode("latin-1"))
    result = runner.invoke(app, ["remove", "--store", str(store), "--ids", str(latin1)])
    assert result.exit_code == 2 and "cannot read it" in result.output
    missing = runner.invoke(app, ["remove", "--store", str(tmp_path / "nowhere"), a])
    assert missing.exit_code == 1 and "no samestory store here" in missing.output


def test_cluster_on_the_multilingual_embedder_and_a_store_keeps_it(examples, tmp_path):
    store = tmp_path / "world.store"
    result = runner.invoke(app, ["cluster", "--embedder", "use", "--store", str(store), str(examples[0]), "-q"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    result = runner.invoke(app, ["cluster", "--store", str(store), str(examples[1]), "-q"])  # the store's embedder
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["story"] == first["story"]
    result = runner.invoke(app, ["cluster", "--embedder", "static", "--store", str(store), str(examples[1]), "-q"])
    assert result.exit_code == 1 and "use-multilingual-v3" in result.output
    assert runner.invoke(app, ["cluster", "--embedder", "nope", str(examples[0]), "-q"]).exit_code == 2
    result = runner.invoke(app, ["cluster", "--embedder", "minilm", str(examples[0]), "-q"])
    assert result.exit_code == 1 and "no story linker ships for the minilm embedder" in result.output
    assert runner.invoke(app, ["remove", "--store", str(store), first["id"]]).exit_code == 0  # on the store's embedder too


def test_cluster_suggests_the_multilingual_vectors_for_a_feed_mostly_not_in_english(tmp_path):
    from test_cluster import SPANISH

    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"{k}-{i}", "title": t, "text": x, "date": f"2024-03-1{i}", "lang": "es"}) + "\n"
                            for i in range(2) for k, (t, x) in SPANISH.items()), encoding="utf-8")
    result = runner.invoke(app, ["cluster", str(feed), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert "12 of 12 articles are not in English" in result.output and "--embedder use" in result.output
    quiet = runner.invoke(app, ["cluster", str(feed), "-o", str(tmp_path / "out.jsonl"), "-q"])
    assert quiet.exit_code == 0 and "--embedder use" not in quiet.output


def test_cluster_says_which_articles_it_placed_by_arrival(examples, tmp_path):
    """Outlet b's page has no date: cluster places it where it arrives and says so (not with -q)."""
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["cluster", *map(str, examples), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 of 2 articles were placed where they arrived" in result.output and "1 with no date" in result.output
    a_id, b_id = (json.loads(line)["id"] for line in out.read_text().splitlines())  # input order: outlet a, then b
    assert b_id in result.output and a_id not in result.output
    quiet = runner.invoke(app, ["cluster", *map(str, examples), "-o", str(out), "-q"])
    assert quiet.exit_code == 0 and "placed where they arrived" not in quiet.output


def test_stories_needs_an_existing_store(tmp_path):
    result = runner.invoke(app, ["stories", "--store", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "no samestory store here" in result.output


def test_story_prints_the_view_of_a_stored_story(examples, tmp_path):
    store = tmp_path / "news.store"
    assert runner.invoke(app, ["cluster", "--store", str(store), *map(str, examples), "-q"]).exit_code == 0
    result = runner.invoke(app, ["story", "--store", str(store), "--all", "--json"])
    assert result.exit_code == 0, result.output
    (view,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    text = json.dumps(view)
    assert "full range" in text and "Singapore" in text
    missing = runner.invoke(app, ["story", "no-such-story", "--store", str(store)])
    assert missing.exit_code != 0 and "no-such-story" in missing.output


def test_serve_command_answers_on_localhost(tmp_path):
    import time
    import urllib.request

    from conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "samestory.cli", "serve", "--store", str(tmp_path / "s"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.3)
        assert health["status"] == "ok" and health["articles"] == 0, health
    finally:
        proc.terminate()
        proc.wait(timeout=30)
