"""Plain-text articles, one a file, as scraped."""

from __future__ import annotations

from samestory.article import Article
from samestory.errors import InputError
from samestory.ingest import iter_input, read_articles, read_bytes


def test_plain_text_file(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("Headline Here\n\nThe story starts here and goes on for a while.\n", encoding="utf-8")
    (item,) = list(iter_input(path))
    assert isinstance(item, Article)
    assert item.text.startswith("Headline Here")
    assert item.extra["file"] == "story.txt"
    assert item.id and len(item.id) == 16


def test_ids_are_stable_and_content_derived():
    a = list(read_bytes(b"Same words.", "a.txt"))[0]
    b = list(read_bytes(b"Same words.", "b.txt"))[0]
    c = list(read_bytes(b"Other words.", "c.txt"))[0]
    assert a.id == b.id != c.id


def test_cp1252_without_declaration():
    (item,) = list(read_bytes("Paris \u2013 \u201cOui\u201d, a dit le ministre. D\u00e9j\u00e0 vu.".encode("cp1252"), "fr.txt"))
    assert item.text == "Paris – “Oui”, a dit le ministre. Déjà vu."


def test_bad_files_give_one_error_each_and_the_batch_goes_on(tmp_path):
    (tmp_path / "a_empty.txt").write_bytes(b"")
    (tmp_path / "b_binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "c_good.txt").write_text("A good story.\n\nWith a second paragraph.", encoding="utf-8")
    (tmp_path / "d_big.txt").write_bytes(b"word " * 300_000)
    errors: list[InputError] = []
    from samestory.ingest import Limits

    got = list(read_articles(tmp_path, limits=Limits(max_document_bytes=1_000_000), on_error=errors.append))
    assert [a.extra["file"] for a in got] == ["c_good.txt"]
    messages = sorted(str(e) for e in errors)
    assert len(messages) == 3
    assert messages[0].endswith("a_empty.txt: empty file")
    assert "b_binary.txt: binary content" in messages[1]
    assert "d_big.txt: too large" in messages[2]
