"""samestory on Spark: the same rows as the local dedup and cluster, bad rows reported, one shared session.

Spark starts once for the module (local[2], no UI, 2 shuffle partitions) and
its JVM is stopped at the end. Skipped when pyspark or Java is missing
(CI installs both: pyproject's test extra and .ci/run).
"""

from __future__ import annotations

import json
import random
import shutil

import pytest
from typer.testing import CliRunner

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Java is not installed", allow_module_level=True)

from samestory import spark as sp  # noqa: E402
from samestory.cli import app  # noqa: E402
from samestory.output import read_rows  # noqa: E402

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
    rows, errors = sp.spark_dedup(spark, [str(tmp_path / "in.jsonl")], clean_first=False, stats=stats)
    local = dedup_batch([Article(id=r["id"], text=r["text"], date=r.get("date")) for r in records], workers=1)
    assert errors == []
    assert [r.as_dict() for r in rows] == [r.as_dict() for r in local]
    assert stats.candidate_pairs > 0 and stats.largest_component >= 2


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
    code_spark, _, err_spark = _run(["spark", "cluster", str(tmp_path / "stream.jsonl"), "-o", str(tmp_path / "spark.csv"), "-q"])
    assert code_local == code_spark == 1
    local = read_rows(tmp_path / "local.csv")
    assert read_rows(tmp_path / "spark.csv") == local
    assert len(local) == 24 and 2 <= len({r["story"] for r in local}) < 24
    assert "stream.jsonl:line 6" in err_spark and "stream.jsonl:line 6" in err_local


def test_spark_usage_errors_exit_2(tmp_path):
    code, _, _ = _run(["spark", "dedup", "-", "-o", str(tmp_path / "x.jsonl")])
    assert code == 2
    code, _, _ = _run(["spark", "dedup", str(tmp_path), "-o", str(tmp_path / "x.txt")])
    assert code == 2
