"""The embedded store: one directory, one SQLite database, no server.

``DIR/samestory.sqlite`` holds the articles and what the engines know about
them (fingerprints, LSH buckets, near-copy pairs and groups). SQLite runs in
WAL mode and every ingest is one transaction, so a process killed at any
moment leaves a store that opens, passes ``PRAGMA integrity_check`` and holds
only whole articles.

The schema is versioned (``PRAGMA user_version``) and upgraded by the
:data:`MIGRATIONS` below, in order, each in its own transaction. A store
written by a newer samestory is refused, never downgraded or recreated.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .article import Article
from .errors import SamestoryError

DB_NAME = "samestory.sqlite"
#: SQLite page cache of each connection (KiB; allocated as pages are read, up to this).
PAGE_CACHE_KIB = 65536
#: WAL pages after which a commit checkpoints them into the database (~40 MiB of WAL at most, between checkpoints).
WAL_CHECKPOINT_PAGES = 10_000

#: Schema migrations: MIGRATIONS[i] takes a store from version i to i + 1.
MIGRATIONS: list[str] = [
    # 0 -> 1: articles and the near-copy index.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE articles (
        seq        INTEGER PRIMARY KEY,          -- arrival order
        id         TEXT NOT NULL UNIQUE,
        title      TEXT,
        text       TEXT NOT NULL,
        date       TEXT,
        source     TEXT,
        url        TEXT,
        lang       TEXT,
        byline     TEXT,
        extra      TEXT,                         -- JSON of the input's other fields
        added_at   TEXT NOT NULL
    );
    CREATE INDEX articles_date ON articles(date);
    CREATE TABLE fingerprints (
        seq          INTEGER PRIMARY KEY REFERENCES articles(seq) ON DELETE CASCADE,
        content_hash TEXT NOT NULL,
        n_shingles   INTEGER NOT NULL,
        signature    BLOB NOT NULL
    );
    CREATE INDEX fingerprints_hash ON fingerprints(content_hash);
    -- No foreign key: a cascade would need a second index on seq (a third
    -- of the table's size); removal deletes an article's keys by value.
    CREATE TABLE lsh_buckets (
        band_key INTEGER NOT NULL,
        seq      INTEGER NOT NULL,
        PRIMARY KEY (band_key, seq)
    ) WITHOUT ROWID;
    CREATE TABLE near_pairs (
        a           INTEGER NOT NULL REFERENCES articles(seq) ON DELETE CASCADE,
        b           INTEGER NOT NULL REFERENCES articles(seq) ON DELETE CASCADE,
        jaccard     REAL NOT NULL,
        containment REAL NOT NULL,
        PRIMARY KEY (a, b),
        CHECK (a < b)
    ) WITHOUT ROWID;
    CREATE INDEX near_pairs_b ON near_pairs(b);
    CREATE TABLE near_groups (
        seq   INTEGER PRIMARY KEY REFERENCES articles(seq) ON DELETE CASCADE,
        grp   INTEGER NOT NULL
    );
    CREATE INDEX near_groups_grp ON near_groups(grp);
    """,
    # 1 -> 2: stories (samestory.cluster). The vector index of story centroids
    # (DIR/stories.usearch) is derived from these rows and rebuilt from them
    # whenever it is missing or older than the database.
    """
    CREATE TABLE stories (
        story       INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,        -- the id of the story's first article
        first_day   INTEGER NOT NULL,            -- proleptic Gregorian ordinals
        last_day    INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        vec_sum     BLOB NOT NULL,               -- float32 sum of the members' vectors
        merged_into INTEGER REFERENCES stories(story)
    );
    CREATE INDEX stories_last_day ON stories(last_day) WHERE merged_into IS NULL;
    CREATE TABLE story_members (
        seq          INTEGER PRIMARY KEY REFERENCES articles(seq) ON DELETE CASCADE,
        story        INTEGER NOT NULL REFERENCES stories(story),
        day          INTEGER NOT NULL,
        date_assumed INTEGER NOT NULL DEFAULT 0  -- 1: no usable date, placed by arrival
    );
    CREATE INDEX story_members_story ON story_members(story, day);
    -- How many clustered articles name each person, place or organisation:
    -- a name few articles share (a victim, a street) links stories more
    -- than one every article has (a city, "Police").
    CREATE TABLE name_df (name TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
    -- Which clustered articles carry each name: candidates by rare shared names.
    CREATE TABLE article_names (
        name TEXT NOT NULL,
        seq  INTEGER NOT NULL,
        PRIMARY KEY (name, seq)
    ) WITHOUT ROWID;
    """,
    # 2 -> 3: what the story linker computed of each recent story member (its lexical profile and vectors,
    # samestory.cluster.encode_analysis), so a new run reads it back instead of analysing the text again.
    # Kept only for the latest members of each story (the ones new articles are compared with).
    """
    CREATE TABLE link_profiles (
        seq  INTEGER PRIMARY KEY REFERENCES articles(seq) ON DELETE CASCADE,
        data BLOB NOT NULL
    );
    """,
    # 3 -> 4: new rows of article_names wait here, appended in arrival order (a batch writes a few pages,
    # where inserting into article_names, ordered by name, dirties a page per row), and move into
    # article_names in one sorted pass at the end of each clustering run (samestory.cluster).
    """
    CREATE TABLE name_log (
        name TEXT NOT NULL,
        seq  INTEGER NOT NULL REFERENCES articles(seq) ON DELETE CASCADE
    );
    """,
    # 4 -> 5: deleting an article cascades to its name_log rows; without an index on seq each delete read the
    # whole log (up to samestory.cluster.NAME_LOG_ROWS rows). Appends stay cheap: seq only grows.
    """
    CREATE INDEX name_log_seq ON name_log(seq);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

ARTICLE_COLUMNS = ("seq", "id", "title", "text", "date", "source", "url", "lang", "byline", "extra")


class StoreError(SamestoryError):
    """The store cannot be used: missing, corrupt, locked, or from a newer version."""


class Store:
    """An open store directory. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0):
        self.path = Path(path)
        self.db_path = self.path / DB_NAME
        self._depth = 0  # transactions open inside the outer one (savepoints)
        if not self.db_path.exists():
            if not create:
                raise StoreError(f"{self.path}: no samestory store here (no {DB_NAME})")
            if self.path.exists() and not self.path.is_dir():
                raise StoreError(f"{self.path}: exists and is not a directory")
            if self.path.is_dir() and any(p.name != ".lock" for p in self.path.iterdir()):
                raise StoreError(f"{self.path}: directory is not empty and holds no samestory store; refusing to create one there")
            self.path.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.db_path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA foreign_keys = ON")
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self.db.execute("PRAGMA synchronous = NORMAL")
            # A batch of clustered articles writes a few thousand pages; checkpointing the WAL into the database
            # after every such commit (SQLite's default, at 1,000 pages) wrote the pages two batches share twice.
            self.db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            # Tables written and read at random keys (LSH buckets, names, memberships): with SQLite's default
            # 2 MiB page cache every insert misses once a table outgrows it, and ingest slows as the store grows.
            self.db.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
            if mode.lower() != "wal":
                raise StoreError(f"{self.db_path}: cannot switch to WAL mode (got {mode!r}); is the file system read-only?")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise StoreError(_describe(self.db_path, exc)) from None

    # --- life cycle -----------------------------------------------------------

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.db_path}: written by a newer samestory (store schema {version}; this version reads up to "
                f"{SCHEMA_VERSION}). Upgrade samestory to use it; the store was not changed."
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in _statements(MIGRATIONS[target - 1]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {target}")
                self.db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?), ('migrated_at', ?)",
                    (str(target), _now()),
                )

    def close(self) -> None:
        self._close_quietly()

    def _close_quietly(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass
            self.db = None  # type: ignore[assignment]

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: a second writer waits, then fails clearly).

        Inside another transaction it is a savepoint: an error undoes its own
        changes only, and the rest is committed (or not) with the outer one,
        so a step that is a transaction of its own can also be part of a larger one.
        """
        if self.db.in_transaction:
            name = f"nested_{self._depth}"
            self._depth += 1
            self.db.execute(f"SAVEPOINT {name}")
            try:
                yield self.db
            except BaseException:
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
                raise
            else:
                self.db.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"{self.db_path}: store is busy: another process is writing to it (waited {self._timeout():.0f} s)") from None
            raise StoreError(_describe(self.db_path, exc)) from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            try:
                self.db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self.db.execute("ROLLBACK")
                raise StoreError(_describe(self.db_path, exc)) from None

    def _timeout(self) -> float:
        return self.db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000

    def integrity_check(self) -> list[str]:
        """Problems SQLite finds in the file and in foreign keys; [] when sound."""
        problems = [row[0] for row in self.db.execute("PRAGMA integrity_check") if row[0] != "ok"]
        problems += [f"dangling reference in {row[0]} (row {row[1]})" for row in self.db.execute("PRAGMA foreign_key_check")]
        return problems

    # --- articles -------------------------------------------------------------

    def add_article(self, article: Article) -> tuple[int, bool]:
        """Store a cleaned article; return ``(seq, is_new)``. Call inside :meth:`transaction`.

        An article whose id is already stored is not changed (ingest is
        idempotent): the stored one's seq comes back with ``is_new=False``.
        """
        article.ensure_id()
        row = self.db.execute("SELECT seq FROM articles WHERE id = ?", (article.id,)).fetchone()
        if row:
            return row[0], False
        cur = self.db.execute(
            "INSERT INTO articles(id, title, text, date, source, url, lang, byline, extra, added_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                article.id, article.title, article.text, article.date, article.source, article.url,
                article.lang, article.byline, json.dumps(article.extra, ensure_ascii=False, default=str) if article.extra else None,
                _now(),
            ),
        )
        return int(cur.lastrowid), True

    def article_seq(self, article_id: str) -> int | None:
        row = self.db.execute("SELECT seq FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def articles(self, seqs: Sequence[int] | None = None) -> list[Article]:
        """Stored articles by seq (in the order given), or all in arrival order."""
        if seqs is None:
            rows = self.db.execute(f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles ORDER BY seq").fetchall()
            return [_article(r) for r in rows]
        found: dict[int, Article] = {}
        for r in self.rows_in(f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles WHERE seq IN ({{}})", seqs):
            found[r[0]] = _article(r)
        return [found[s] for s in seqs if s in found]

    def seq_ids(self, seqs: Iterable[int]) -> dict[int, str]:
        return dict(self.rows_in("SELECT seq, id FROM articles WHERE seq IN ({})", seqs))

    def rows_in(self, sql: str, values: Iterable[Any], chunk: int = 500) -> Iterator[tuple]:
        """Rows of ``sql`` whose ``IN ({})`` is filled with ``values``, a chunk at a time (SQLite's variable limit)."""
        values = list(values)
        for part in _chunks(values, chunk):
            yield from self.db.execute(sql.format(",".join("?" * len(part))), part)

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def delete_article(self, seq: int) -> None:
        """Remove an article and everything derived from it (cascades). Inside a transaction."""
        self.db.execute("DELETE FROM articles WHERE seq = ?", (seq,))

    def size_bytes(self) -> int:
        """Bytes on disk: the database and its WAL."""
        return sum(p.stat().st_size for p in self.path.glob(DB_NAME + "*") if p.is_file())


def _article(row: Sequence[Any]) -> Article:
    seq, id_, title, text, date, source, url, lang, byline, extra = row
    return Article(
        id=id_, title=title, text=text, date=date, source=source, url=url, lang=lang, byline=byline,
        extra=json.loads(extra) if extra else {}, origin=f"store:{seq}",
    )


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our DDL)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _describe(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"{path}: the store file is damaged or not a samestory store ({text}); it was left as it is"
    if "locked" in text or "busy" in text:
        return f"{path}: store is busy: another process is writing to it"
    if "readonly" in text or "read-only" in text:
        return f"{path}: store is read-only ({text})"
    return f"{path}: store error: {text}"
