"""The embedded store: creation, migrations, refusal of bad or newer stores, locking."""

from __future__ import annotations

import sqlite3

import pytest

from samestory.article import Article
from samestory.store import DB_NAME, SCHEMA_VERSION, Store, StoreError


def test_create_add_reopen(tmp_path):
    path = tmp_path / "news"
    with Store(path) as store:
        with store.transaction():
            seq, new = store.add_article(Article(id="x1", title="T", text="Body", extra={"gold": 3}))
            assert (seq, new) == (1, True)
            assert store.add_article(Article(id="x1", text="Other body")) == (1, False)  # idempotent by id
    with Store(path, create=False) as store:
        (art,) = store.articles()
        assert (art.id, art.title, art.text, art.extra) == ("x1", "T", "Body", {"gold": 3})
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.integrity_check() == []


def test_failed_transaction_leaves_nothing(tmp_path):
    with Store(tmp_path / "s") as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.add_article(Article(id="a", text="x"))
                raise RuntimeError("crash mid-batch")
        assert store.count() == 0


def test_a_transaction_inside_another_is_a_savepoint(tmp_path):
    """A failing inner step undoes its own rows only; a failing outer one undoes both."""
    with Store(tmp_path / "s") as store:
        with store.transaction():
            store.add_article(Article(id="outer", text="x"))
            with pytest.raises(RuntimeError):
                with store.transaction():
                    store.add_article(Article(id="inner", text="y"))
                    raise RuntimeError("inner step fails")
            with store.transaction():
                store.add_article(Article(id="inner-2", text="z"))
        assert sorted(a.id for a in store.articles()) == ["inner-2", "outer"]
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.add_article(Article(id="lost", text="x"))
                with store.transaction():
                    store.add_article(Article(id="lost-inner", text="y"))
                raise RuntimeError("outer fails after the inner step was released")
        assert store.count() == 2 and not store.db.in_transaction


def test_missing_store_not_created_on_request(tmp_path):
    with pytest.raises(StoreError, match="no samestory store here"):
        Store(tmp_path / "nope", create=False)


def test_refuses_a_non_empty_foreign_directory(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not empty and holds no samestory store"):
        Store(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_corrupt_file_is_named_and_left_alone(tmp_path):
    path = tmp_path / "s"
    path.mkdir()
    junk = b"this is not sqlite" * 100
    (path / DB_NAME).write_bytes(junk)
    with pytest.raises(StoreError, match=r"samestory.sqlite: the store file is damaged or not a samestory store"):
        Store(path)
    assert (path / DB_NAME).read_bytes() == junk


def test_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "s"
    Store(path).close()
    db = sqlite3.connect(path / DB_NAME)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=rf"written by a newer samestory \(store schema {SCHEMA_VERSION + 1}"):
        Store(path)


def test_migrations_run_from_an_older_version(tmp_path, monkeypatch):
    import samestory.store as store_module

    path = tmp_path / "s"
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    with store_module.Store(path) as store:
        with store.transaction():
            store.add_article(Article(id="old", text="kept across the upgrade"))
    extra = "CREATE TABLE upgrade_probe (x INTEGER);"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, extra])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    with store_module.Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert store.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "2"
        assert [a.id for a in store.articles()] == ["old"]
        store.db.execute("SELECT x FROM upgrade_probe").fetchall()


def test_second_writer_fails_clearly(tmp_path):
    path = tmp_path / "s"
    with Store(path) as first, Store(path, timeout=0.2) as second:
        with first.transaction():
            first.add_article(Article(id="a", text="x"))
            with pytest.raises(StoreError, match="store is busy: another process is writing to it"):
                with second.transaction():
                    pass
        with second.transaction():  # once the first is done, the second proceeds
            second.add_article(Article(id="b", text="y"))
        assert second.count() == 2


def test_a_version_1_store_gains_the_story_tables_and_keeps_its_articles(tmp_path, monkeypatch):
    import samestory.store as store_module

    path = tmp_path / "s"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    with store_module.Store(path) as store:
        with store.transaction():
            store.add_article(Article(id="old", text="stored before stories existed"))
        assert store.db.execute("SELECT name FROM sqlite_master WHERE name = 'stories'").fetchone() is None
    monkeypatch.undo()
    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
        assert [a.id for a in store.articles()] == ["old"]
        assert store.db.execute("SELECT COUNT(*) FROM stories").fetchone()[0] == 0
        assert store.integrity_check() == []


def test_deleting_an_article_finds_its_name_log_rows_by_index(tmp_path, monkeypatch):
    """The cascade from articles to name_log searches name_log by seq: without the index each delete reads the log."""
    import samestory.store as store_module

    path = tmp_path / "s"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 4)  # a store from before the index, upgraded on open
    with store_module.Store(path) as store:
        with store.transaction() as db:
            for i in range(3):
                seq, _ = store.add_article(Article(id=f"a{i}", text=f"text {i}"))
                db.executemany("INSERT INTO name_log(name, seq) VALUES (?, ?)", [("Jane Doe", seq), (f"Street {i}", seq)])
    monkeypatch.undo()
    with Store(path) as store:
        plan = " ".join(row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN SELECT 1 FROM name_log WHERE seq = ?", (1,)))
        assert "USING COVERING INDEX name_log_seq" in plan, plan
        (seq,) = store.db.execute("SELECT seq FROM articles WHERE id = 'a1'").fetchone()
        with store.transaction():
            store.delete_article(seq)
        assert store.db.execute("SELECT name, seq FROM name_log ORDER BY rowid").fetchall() == [
            ("Jane Doe", 1), ("Street 0", 1), ("Jane Doe", 3), ("Street 2", 3)]
        assert store.integrity_check() == []
