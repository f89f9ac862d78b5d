"""samestory on Spark: the same rows as the local dedup, cluster and score-pairs, bad rows reported
(on standard error, or in the --rejects side output), the spark-submit command line, one shared session;
story clustering in time ranges (the stitching and the merge by hand, without Spark, and one run), the
Arrow UDF's vectors, and paths with a scheme (file:// standing for hdfs://, s3a://) read and written by Spark.

Spark starts once for the module (local[2], no UI, 2 shuffle partitions) and
its JVM is stopped at the end; the one spark-submit test starts a second JVM
for a tiny job. Skipped when pyspark or Java is missing (CI installs both:
pyproject's test extra and .ci/run).
"""

from __future__ import annotations

import json
import random
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Java is not installed", allow_module_level=True)

from samestory import spark as sp  # noqa: E402
from samestory.cli import app  # noqa: E402
from samestory.output import read_rows  # noqa: E402
from samestory.spark_cli import submit_command  # noqa: E402

from conftest import DATA  # noqa: E402

VOCAB = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "pe") for b in ("da", "gro", "pe", "zu", "ti", "ma", "lek", "son")]


@pytest.fixture(scope="module")
def spark():
    session = sp.build_session("local[2]", shuffle_partitions=2)
    yield session
    sp.stop_session(session)


def _dedup_corpus(n_stories: int = 50, seed: int = 3) -> list[dict]:
    """Invented stories with planted near-copies (cut, reordered, footer, edited words, exact), dated so copies sometimes come first."""
    rng = random.Random(seed)
    out = []
    footer = "Copyright 2024 Some Outlet. All rights reserved. This material may not be published, broadcast or redistributed."
    for s in range(n_stories):
        paras = [" ".join(rng.choice(VOCAB) for _ in range(rng.randint(14, 30))) + "." for _ in range(rng.randint(3, 8))]
        out.append({"id": f"s{s}", "text": "\n\n".join(paras), "date": f"2024-03-{rng.randint(1, 20):02d}"})
        for c in range(rng.randint(0, 3)):
            kind = rng.choice(["cut", "reorder", "footer", "words", "exact"])
            if kind == "cut":
                cp = [p for p in paras if rng.random() < 0.5] or paras[:1]
            elif kind == "reorder":
                cp = rng.sample(paras, len(paras))
            elif kind == "footer":
                cp = paras + [footer]
            elif kind == "words":
                cp = [" ".join(w if rng.random() > 0.04 else rng.choice(VOCAB) for w in p.split()) for p in paras]
            else:
                cp = paras
            rec = {"id": f"s{s}c{c}", "text": "\n\n".join(cp)}
            if rng.random() < 0.8:
                rec["date"] = f"2024-03-{rng.randint(1, 20):02d}"
            out.append(rec)
    out.append({"id": "footer-only", "text": footer})
    return out


def _write_jsonl(path, records, bad_lines=()) -> None:
    lines = [json.dumps(r) for r in records]
    for at, text in bad_lines:
        lines.insert(at, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(args):
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output, result.stderr if hasattr(result, "stderr") else ""


def test_spark_dedup_gives_the_local_rows_and_reports_bad_rows(spark, tmp_path, monkeypatch):
    records = _dedup_corpus()
    # a second file with a duplicate id, and bad rows at known lines
    (tmp_path / "in").mkdir()
    _write_jsonl(tmp_path / "in" / "a.jsonl", records[: len(records) // 2], bad_lines=[(3, "{not json"), (7, '{"id": "x1"}')])
    _write_jsonl(tmp_path / "in" / "b.jsonl", records[len(records) // 2:] + [{"id": "s0", "text": "a repeated id"}])
    # force the JSONL files to be read as several line ranges, so line numbers must be carried across tasks
    monkeypatch.setattr(sp, "SPLIT_BYTES", 12000)
    assert len(sp.plan_splits([str(tmp_path / "in" / "a.jsonl")])) >= 3

    code_local, out_local, err_local = _run(["dedup", str(tmp_path / "in"), "-o", str(tmp_path / "local.jsonl"), "-q"])
    code_spark, out_spark, err_spark = _run(["spark", "dedup", str(tmp_path / "in"), "-o", str(tmp_path / "spark.jsonl")])
    local = read_rows(tmp_path / "local.jsonl")
    got = read_rows(tmp_path / "spark.jsonl")
    assert code_local == code_spark == 1
    assert got == local
    assert len(local) == len(records) and any(r["duplicate_of"] for r in local)
    assert sum(1 for r in local if r["duplicate_of"]) >= 30  # the planted copies are there to be found
    errors = [line for line in err_spark.splitlines() if line.startswith("samestory: error:")]
    assert errors == [line for line in err_local.splitlines() if line.startswith("samestory: error:")]
    assert any("a.jsonl:line 4: malformed JSON" in e for e in errors)
    assert any("a.jsonl:line 8" in e for e in errors)
    assert any("duplicate id 's0'" in e for e in errors)


def test_spark_dedup_api_matches_dedup_batch_without_cleaning(spark, tmp_path):
    from samestory.article import Article
    from samestory.dedup import dedup_batch

    records = _dedup_corpus(30, seed=11)
    _write_jsonl(tmp_path / "in.jsonl", records)
    stats = sp.SparkStats()
    # the components found in Spark DataFrames (what a pair list too large for the driver takes), not on the driver
    rows, errors = sp.spark_dedup(spark, [str(tmp_path / "in.jsonl")], clean_first=False, stats=stats, components_on="spark")
    local = dedup_batch([Article(id=r["id"], text=r["text"], date=r.get("date")) for r in records], workers=1)
    assert errors == []
    assert [r.as_dict() for r in rows] == [r.as_dict() for r in local]
    assert stats.candidate_pairs > 0 and stats.largest_component >= 2


def test_components_in_spark_equal_the_driver_ones(spark):
    import numpy as np

    rng = random.Random(5)
    chain = [(i, i + 1) for i in range(100, 140)]  # a long path: the case that needs the most rounds
    star = [(7, k) for k in range(200, 215)]
    loose = [(rng.randrange(300, 400), rng.randrange(300, 400)) for _ in range(60)]
    pairs = np.array(chain[::-1] + star + loose + [(139, 7), (5, 5)], dtype=np.int64)
    got = {r["node"]: r["comp"] for r in sp.components_df(spark.createDataFrame(pairs.tolist(), ["a", "b"])).collect()}
    expected = sp.components(pairs[pairs[:, 0] != pairs[:, 1]])
    assert got == expected
    assert got[100] == got[214] == 7 and 5 not in got


BRIDGE = ("Alder Bay bridge reopens after six months of cable repairs",
          "The Alder Bay bridge reopened to cars and buses on Thursday, six months after engineers closed it when an inspection "
          "found corrosion in two steel support cables. The repairs cost 18.2 million dollars, the regional transport authority "
          "said. Chief engineer Marta Ilves said the bridge was in its best shape in twenty years.")
BRIDGE_B = ("Traffic back on Alder Bay bridge as cable work ends",
            "Cars and buses crossed the Alder Bay bridge again on Thursday after half a year of repairs to two corroded steel "
            "support cables. The transport authority put the cost at 18.2 million dollars. Marta Ilves, its chief engineer, said "
            "the crossing had not been in such good shape for two decades.")
LIBRARY = ("Library branches to open on Sundays",
           "All twelve branches of the Ostvik city library will open on Sundays from next month, the council said, after a "
           "readers' survey asked for weekend hours. Branch manager Tomas Reyes said staff had volunteered.")
FIRE = ("Warehouse fire in Kettle Harbour forces evacuation",
        "A fire at a paint warehouse in Kettle Harbour forced the evacuation of forty homes on Monday night. Firefighter "
        "captain Lena Ortiz said no one was hurt and the cause was under investigation.")
FIRE_B = ("Kettle Harbour paint store blaze: forty homes evacuated",
          "Forty homes in Kettle Harbour were evacuated on Monday night when a paint warehouse caught fire. Nobody was injured, "
          "fire captain Lena Ortiz said; investigators are looking into the cause.")


def test_spark_cluster_gives_the_local_rows(spark, tmp_path):
    stories = [BRIDGE, BRIDGE_B, LIBRARY, FIRE, FIRE_B]
    rng = random.Random(2)
    records = []
    for i in range(24):
        title, text = stories[i % len(stories)]
        rec = {"id": f"a{i}", "title": title, "text": text + f" Update {i}.", "lang": "en"}
        if rng.random() < 0.85:
            rec["date"] = f"2024-05-{rng.randint(1, 12):02d}"
        records.append(rec)
    _write_jsonl(tmp_path / "stream.jsonl", records, bad_lines=[(5, "[1, 2]")])
    code_local, _, err_local = _run(["cluster", str(tmp_path / "stream.jsonl"), "-o", str(tmp_path / "local.csv"), "-q"])
    code_spark, _, err_spark = _run(["spark", "cluster", str(tmp_path / "stream.jsonl"), "-o", str(tmp_path / "spark.csv"),
                                     "--rejects", str(tmp_path / "rejects.parquet")])
    assert code_local == code_spark == 1
    undated = [r["id"] for r in records if "date" not in r]
    assert undated and f"note: {len(undated)} of 24 articles were placed where they arrived" in err_spark
    assert f"({len(undated)} with no date)" in err_spark and repr(undated[0]) in err_spark
    local = read_rows(tmp_path / "local.csv")
    assert read_rows(tmp_path / "spark.csv") == local
    assert len(local) == 24 and 2 <= len({r["story"] for r in local}) < 24
    # the bad row goes to the side output, with its reason; standard error only counts it
    assert _reject_lines(tmp_path / "rejects.parquet") == _error_lines(err_local)
    assert "stream.jsonl:line 6" in _error_lines(err_local)[0]
    assert _error_lines(err_spark) == [] and f"1 input error written to {tmp_path / 'rejects.parquet'}" in err_spark


def _error_lines(stderr: str) -> list[str]:
    return [line.removeprefix("samestory: error: ") for line in stderr.splitlines() if line.startswith("samestory: error:")]


def _reject_lines(path) -> list[str]:
    """A rejects file's rows as the local command's error lines (FILE:LOCATION: REASON)."""
    rows = read_rows(path)
    assert rows and all(set(r) == {"file", "location", "reason"} and r["reason"] for r in rows)
    return [f"{r['file']}:{r['location']}: {r['reason']}" if r["location"] else f"{r['file']}: {r['reason']}" for r in rows]


def _pair_rows() -> list[dict]:
    """Pairs of the test articles: every combination, each with itself, and a few mixed-up rows."""
    articles = [json.loads(line) for line in (DATA / "articles.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for i, a in enumerate(articles):
        for j, b in enumerate(articles[i:], i):
            row = {"pair_id": f"p{i}-{j}"}
            for side, art in (("1", a), ("2", b)):  # a page with only its HTML is extracted, as an article file's
                row.update({f"{k}{side}": art[k] for k in ("title", "text", "html", "lang", "date") if k in art})
            rows.append(row)
    return rows


def test_spark_score_pairs_gives_the_local_rows_and_rejects_bad_rows(spark, tmp_path, monkeypatch):
    rows = _pair_rows()
    bad = [(2, "{not json"),
           (5, json.dumps({"pair_id": "no-text", "text1": "A sentence of text.", "title2": ""})),
           (9, json.dumps({**rows[0], "pair_id": "boilerplate", "title2": "", "text2": "Advertisement\n\nShare this article\n"})),
           (11, json.dumps({"text1": "no id", "text2": "no id either"}))]
    _write_jsonl(tmp_path / "pairs.jsonl", rows, bad_lines=bad)
    monkeypatch.setattr(sp, "SPLIT_BYTES", 8000)  # several reading tasks: line numbers and order carried across them
    assert len(sp.plan_splits([str(tmp_path / "pairs.jsonl")])) >= 3
    # batches of 4: the boilerplate pair fails when its batch is scored, after the read errors before the batch's end
    args = ["--model", "fast", "--batch", "4"]
    code_local, _, err_local = _run(["score-pairs", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path / "local.jsonl"), "-q", *args])
    code_spark, _, err_spark = _run(["spark", "score-pairs", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path / "spark.jsonl"),
                                     "--rejects", str(tmp_path / "rejects.csv"), *args])
    assert code_local == code_spark == 1
    local = read_rows(tmp_path / "local.jsonl")
    assert read_rows(tmp_path / "spark.jsonl") == local
    assert [r["pair_id"] for r in local] == [r["pair_id"] for r in rows]
    assert all(r["probability"] == 1.0 for r in local if r["pair_id"] in ("p0-0", "p3-3"))
    errors = _error_lines(err_local)
    assert len(errors) == 4 and any("line 3: malformed JSON" in e for e in errors)
    assert any("'boilerplate'" in e and "nothing to compare" in e for e in errors)
    assert _reject_lines(tmp_path / "rejects.csv") == errors
    assert "4 input errors written to" in err_spark and f"wrote {len(rows)} rows" in err_spark


def test_spark_score_pairs_refuses_what_local_refuses(tmp_path):
    (tmp_path / "p.jsonl").write_text("{}\n")
    assert _run(["spark", "score-pairs", str(tmp_path / "p.jsonl"), "--model", "huge"])[0] == 2
    assert _run(["spark", "score-pairs", str(tmp_path / "p.jsonl"), "--format", "html"])[0] == 2
    assert _run(["spark", "score-pairs", str(tmp_path / "p.jsonl"), "--rejects", "-"])[0] == 2
    assert _run(["spark", "score-pairs", str(tmp_path / "p.jsonl"), "-o", str(tmp_path / "x.csv"), "--rejects", str(tmp_path / "x.csv")])[0] == 2


def test_print_submit_builds_the_spark_submit_line(tmp_path):
    archive = tmp_path / "env.tar.gz"
    archive.write_bytes(b"")
    code, out, _ = _run(["spark", "dedup", "in dir/", "-o", "groups.parquet", "--master", "yarn", "--jaccard", "0.4", "--no-clean",
                         "--conf", "spark.executor.memory=4g", "--rejects", "bad.csv", "--env-archive", str(archive), "--print-submit"])
    assert code == 0
    argv = shlex.split(out.strip())
    assert argv[0].endswith("spark-submit")
    assert argv[argv.index("--master") + 1] == "yarn"
    assert argv[argv.index("--archives") + 1] == f"{archive}#samestory-env"
    confs = [argv[i + 1] for i, a in enumerate(argv) if a == "--conf"]
    assert "spark.executor.memory=4g" in confs and "spark.pyspark.python=./samestory-env/bin/python" in confs
    app_at = argv.index(str(Path(sp.__file__).resolve()))
    assert argv[app_at + 1:] == ["dedup", "in dir/", "-o", "groups.parquet", "--jaccard", "0.4", "--no-clean", "--rejects", "bad.csv"]
    # without an archive the executors run this Python; the default master is local[*]
    argv = submit_command("score-pairs", ["p.jsonl", "--model", "fast"])
    assert argv[argv.index("--master") + 1] == "local[*]" and f"spark.pyspark.python={sys.executable}" in argv
    assert argv[-5:] == [str(Path(sp.__file__).resolve()), "score-pairs", "p.jsonl", "--model", "fast"]


def test_submit_runs_the_job_through_spark_submit(tmp_path):
    """One tiny real run through pyspark's own spark-submit (a second JVM): samestory/spark.py as the application."""
    code_local, _, _ = _run(["dedup", str(DATA / "articles.jsonl"), "-o", str(tmp_path / "local.csv"), "-q"])
    code, _, err = _run(["spark", "dedup", str(DATA / "articles.jsonl"), "-o", str(tmp_path / "submitted.csv"), "--master", "local[1]",
                         "--submit", "-q"])
    assert code == code_local == 0, err
    assert read_rows(tmp_path / "submitted.csv") == read_rows(tmp_path / "local.csv")


def test_spark_usage_errors_exit_2(tmp_path):
    code, _, _ = _run(["spark", "dedup", "-", "-o", str(tmp_path / "x.jsonl")])
    assert code == 2
    code, _, _ = _run(["spark", "dedup", str(tmp_path), "-o", str(tmp_path / "x.txt")])
    assert code == 2
    code, _, err = _run(["spark", "cluster", "--embedder", "nope", str(tmp_path), "-o", str(tmp_path / "x.jsonl")])
    assert code == 2 and "not one of" in err


def test_vectors_cross_arrow_unchanged():
    """The Arrow UDF's columns give back the very vectors (float32, counts, the embedder's own name): the linker reads them all."""
    import dataclasses

    import numpy as np

    from samestory.embed import embed_articles, get_embedder

    given = embed_articles([BRIDGE, ("", LIBRARY[1]), ("Only a title", "")], get_embedder("static"))
    for vec in given:
        back = sp._vectors_from_row(sp._vectors_to_row(vec))
        for f in dataclasses.fields(vec):
            a, b = getattr(vec, f.name), getattr(back, f.name)
            assert (np.array_equal(a, b) and a.dtype == b.dtype and a.shape == b.shape) if isinstance(a, np.ndarray) else a == b, f.name


def test_stitch_ties_ranges_through_their_warm_up_articles():
    """The merge of time ranges, by hand: no Spark needed."""
    from samestory.spark_stories import RangeRow, owners, plan_ranges, stitch

    inf = float("inf")
    starts = plan_ranges({1: 2, 5: 1, 9: 1, 10: 1, 11: 1, 12: 1, 20: 1, inf: 1}, 3)
    assert starts == [-inf, 9, 12]
    assert owners((6, 0), starts, 2) == [0] and owners((7, 0), starts, 2) == [0, 1]
    assert owners((10, 0), starts, 2) == [1, 2]  # warms up the range starting on day 12
    assert owners((inf, 0), starts, 2) == [2]  # undated articles go last, as StoryClusterer.add places them

    def row(rng, aid, story, owner, day):
        return RangeRow(rng, aid, story, owner, (day, int(aid[1:])))

    rows = [
        # range 0: a1 alone; a2, a3 one story
        row(0, "a1", "a1", 0, 1), row(0, "a2", "a2", 0, 5), row(0, "a3", "a2", 0, 9),
        # range 1 warms up with a3, whose story b1 joins; b2, b3 a new story
        row(1, "a3", "a3", 0, 9), row(1, "b1", "a3", 1, 10), row(1, "b2", "b2", 1, 11), row(1, "b3", "b2", 1, 11),
        # range 2 warms up with b1 and b2 and puts them in one story, which c1 joins: the two range-1 stories are one
        row(2, "b1", "b1", 1, 10), row(2, "b2", "b1", 1, 11), row(2, "c1", "b1", 2, 12), row(2, "c2", "c2", 2, 20),
    ]
    got = stitch(rows)
    assert got == {"a1": "a1", "a2": "a2", "a3": "a2", "b1": "a2", "b2": "a2", "b3": "a2", "c1": "a2", "c2": "c2"}
    # without range 2's evidence, b2's story stays apart, named after its first article
    assert stitch(rows[:7])["b3"] == "b2" and stitch(rows[:7])["b1"] == "a2"


def test_relink_joins_a_range_s_new_story_to_an_older_one():
    """The merge step, by hand, without Spark: a story range 1 started is the continuation of one of range 0's
    (hand-made rows with no warm-up article between them), so its first article is linked to it; unrelated ones stay apart."""
    from samestory.article import Article
    from samestory.clean import clean_article
    from samestory.spark_stories import RangeRow, merge_articles, relink, sort_key, stitch

    given = [("a0", BRIDGE, "2024-05-01"), ("a1", LIBRARY, "2024-05-01"), ("b0", BRIDGE_B, "2024-05-02"), ("b1", FIRE, "2024-05-02"),
             ("b2", FIRE_B, "2024-05-02")]
    arts = {aid: clean_article(Article(id=aid, title=t, text=x, date=d, lang="en")) for aid, (t, x), d in given}
    rng = {"a": 0, "b": 1}
    rows = [RangeRow(rng[aid[0]], aid, "b1" if aid == "b2" else aid, rng[aid[0]], sort_key(a, i)) for i, (aid, a) in enumerate(arts.items())]
    assert merge_articles(rows) == (set(arts), {"b0", "b1"})
    labels, linked = relink(rows, arts)
    assert linked == 1
    assert labels == {**stitch(rows), "b0": "a0"} == {"a0": "a0", "a1": "a1", "b0": "a0", "b1": "b1", "b2": "b1"}


def test_spark_cluster_in_time_ranges(spark, tmp_path):
    """--partitions: each range clustered in a task, stitched on the driver; on this easy stream the stories are the one-pass ones."""
    stories = [BRIDGE, BRIDGE_B, LIBRARY, FIRE, FIRE_B]
    records = [{"id": f"a{i}", "title": stories[i % 5][0], "text": stories[i % 5][1] + f" Update {i}.", "lang": "en",
                "date": f"2024-05-{1 + i // 2:02d}"} for i in range(24)]
    records[3].pop("date")
    _write_jsonl(tmp_path / "stream.jsonl", records)
    code_local, _, _ = _run(["cluster", str(tmp_path / "stream.jsonl"), "-o", str(tmp_path / "local.csv"), "-q"])
    code, _, err = _run(["spark", "cluster", str(tmp_path / "stream.jsonl"), "-o", str(tmp_path / "spark.csv"),
                         "--partitions", "3", "--warmup-days", "3", "--merge"])
    assert code == code_local == 0, err
    assert "clustering 3 time ranges with 3 warm-up days" in err and "merge: " in err
    assert "note: 1 of 24 articles were placed where they arrived" in err and "(1 with no date)" in err
    assert read_rows(tmp_path / "spark.csv") == read_rows(tmp_path / "local.csv")


def _part_rows(directory) -> list[dict]:
    """The rows of a directory of JSON-lines part files written by Spark, in part order."""
    return [json.loads(line) for part in sorted(Path(directory).glob("part-*")) for line in part.read_text().splitlines() if line]


def test_spark_reads_and_writes_any_path_spark_reads(spark, tmp_path):
    """URIs (file:// here; hdfs://, s3a:// alike) are listed and read through Spark and written by its DataFrame writer."""
    import pyarrow.parquet as pq

    (tmp_path / "in" / "sub").mkdir(parents=True)
    records = _dedup_corpus(12, seed=4)
    _write_jsonl(tmp_path / "in" / "a.jsonl", records[:20], bad_lines=[(2, "{not json")])
    _write_jsonl(tmp_path / "in" / "sub" / "b.jsonl", records[20:])
    (tmp_path / "in" / "_SUCCESS").write_text("")  # marker and hidden files are skipped, as Spark does
    (tmp_path / "in" / ".a.jsonl.crc").write_text("x")
    code_local, _, err_local = _run(["dedup", str(tmp_path / "in"), "-o", str(tmp_path / "local.jsonl"), "-q"])
    out, rejects = (tmp_path / "out.parquet").as_uri(), (tmp_path / "rejects.jsonl").as_uri()
    args = ["spark", "dedup", (tmp_path / "in").as_uri(), (tmp_path / "nothing-here").as_uri(), "-o", out, "--rejects", rejects, "-q"]
    code, _, err = _run(args)
    assert code_local == code == 1, err
    assert pq.read_table(tmp_path / "out.parquet").to_pylist() == read_rows(tmp_path / "local.jsonl")
    malformed = next(e for e in _error_lines(err_local) if "a.jsonl:line 3" in e)  # (the local run also reads _SUCCESS)
    assert [(r["location"], r["reason"]) for r in _part_rows(tmp_path / "rejects.jsonl")] == [
        ("line 3", malformed.split(": ", 1)[1]), ("", "no such file")]
    assert _part_rows(tmp_path / "rejects.jsonl")[0]["file"].endswith("/in/a.jsonl")
    # Spark does not overwrite: the output exists, so the job fails with one line
    code, _, err = _run(args[:-3] + ["-q"])
    assert code == 1 and "out.parquet: cannot write" in err and "already exists" in err
