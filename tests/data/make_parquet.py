"""Build ``articles.parquet`` from ``articles.jsonl`` (run from any directory).

The Parquet file holds the same records as the JSONL file, so the tests can
check that both readers give the same articles. Missing fields become nulls.
"""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
COLUMNS = ["id", "title", "text", "html", "date", "source", "url", "lang", "section"]


def main() -> None:
    records = [json.loads(line) for line in (HERE / "articles.jsonl").read_text("utf-8").splitlines() if line.strip()]
    table = pa.table({c: pa.array([r.get(c) for r in records], pa.string()) for c in COLUMNS})
    pq.write_table(table, HERE / "articles.parquet")


if __name__ == "__main__":
    main()
