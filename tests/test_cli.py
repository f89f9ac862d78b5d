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
