"""Story clustering: joining, new stories, merging, time, idempotence, dates, persistence, crashes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from samestory.article import Article
from samestory.cluster import (ClusterConfig, ClusterError, Linker, StoryClusterer, article_day, cluster_articles, date_problem,
                               load_linker)
from samestory.store import Store
from samestory.stories import story_rows

BRIDGE_A = ("Alder Bay bridge reopens after six months of cable repairs",
            "The Alder Bay bridge reopened to cars and buses on Thursday, six months after engineers closed it when "
            "an inspection found corrosion in two steel support cables. The repairs cost 18.2 million dollars, the "
            "regional transport authority said. Chief engineer Marta Ilves said the bridge was in its best shape "
            "in twenty years.")
BRIDGE_B = ("Traffic back on Alder Bay bridge as cable work ends",
            "Cars and buses crossed the Alder Bay bridge again on Thursday after half a year of repairs to two "
            "corroded steel support cables. The transport authority put the cost at 18.2 million dollars. Marta "
            "Ilves, its chief engineer, said the crossing had not been in such good shape for two decades.")
LIBRARY = ("Library branches to open on Sundays",
           "All twelve branches of the Ostvik city library will open on Sundays from next month, the council said, "
           "after a readers' survey asked for weekend hours. Branch manager Tomas Reyes said staff had volunteered.")
FIRE = ("Warehouse fire in Kettle Harbour forces evacuation",
        "A fire at a paint warehouse in Kettle Harbour forced the evacuation of forty homes on Monday night. "
        "Firefighter captain Lena Ortiz said no one was hurt and the cause was under investigation.")


def art(aid: str, story: tuple[str, str], date: str | None) -> Article:
    return Article(id=aid, title=story[0], text=story[1], date=date, lang="en")


def run(store_path, articles, config=ClusterConfig()):
    with Store(store_path) as store:
        return dict(StoryClusterer(store, config).add(articles))


def test_same_story_joins_and_different_stories_do_not(tmp_path):
    out = run(tmp_path / "s", [art("a", BRIDGE_A, "2024-03-14"), art("lib", LIBRARY, "2024-03-14"),
                               art("b", BRIDGE_B, "2024-03-15"), art("fire", FIRE, "2024-03-15")])
    assert out["a"] == out["b"] == "a"
    assert out["lib"] == "lib" and out["fire"] == "fire"


def test_the_two_examples_land_in_one_story(examples):
    from samestory.clean import clean_article
    from samestory.ingest import read_articles

    out = cluster_articles([clean_article(a) for a in read_articles(examples)])
    assert len({story for _, story in out}) == 1


def test_new_articles_join_stored_stories_in_a_later_run_and_ingest_is_idempotent(tmp_path):
    path = tmp_path / "s"
    first = run(path, [art("a", BRIDGE_A, "2024-03-14"), art("lib", LIBRARY, "2024-03-14")])
    second = run(path, [art("b", BRIDGE_B, "2024-03-15"), art("a", BRIDGE_A, "2024-03-14")])
    assert second == {"b": first["a"], "a": first["a"]}
    with Store(path) as store:
        assert store.count() == 3
        rows = list(story_rows(store))
        assert [(r["story"], r["size"], r["articles"]) for r in rows] == [("a", 2, ["a", "b"]), ("lib", 1, ["lib"])]
        assert rows[0]["first_seen"] == "2024-03-14" and rows[0]["last_seen"] == "2024-03-15"
        assert rows[0]["headline"] == BRIDGE_A[0] and rows[0]["summary"].startswith("The Alder Bay bridge reopened")
        assert store.integrity_check() == []


def test_time_lowers_the_link_probability(tmp_path):
    with Store(tmp_path / "s") as store:
        c = StoryClusterer(store)
        c.add([art("a", BRIDGE_A, "2024-03-14")])
        near = c._prepare([(999, art("b", BRIDGE_B, None), article_day("2024-03-15"), False)])[0]
        far = c._prepare([(998, art("b2", BRIDGE_B, None), article_day("2025-09-15"), False)])[0]
        (sid,) = c._stories
        assert c.link_probabilities(near, [sid])[sid] > c.link_probabilities(far, [sid])[sid]


def test_a_copy_joins_its_story_whatever_the_gap_but_a_shared_template_under_other_titles_does_not(tmp_path):
    """A verbatim copy months later is the same story (the linker alone, which learned that identical texts weeks
    apart were template pages, said no); a sign-in page collected for two incidents is two stories."""
    template = ("Sign in to your account to keep reading. Welcome back, please sign in. Why are we asking this? We "
                "use your account details to show you local news and to protect our journalism from automated access.")
    out = run(tmp_path / "s", [art("a", BRIDGE_A, "2024-03-14"), art("lib", LIBRARY, "2024-03-14"),
                               art("page1", ("Two hurt in Kettle Harbour crash", template), "2024-03-20"),
                               art("copy", BRIDGE_A, "2024-06-20"),
                               art("page2", ("Ostvik council approves new budget", template), "2024-06-21")])
    assert out["copy"] == "a"
    assert out["page1"] == "page1" and out["page2"] == "page2"


def test_a_hand_set_gaussian_time_profile_scales_the_link_probability(tmp_path):
    """``recency_sigma_days``: the learned probability times exp(-gap^2 / 2 sigma^2) (the studied alternative)."""
    with Store(tmp_path / "s") as store:
        learned = StoryClusterer(store)
        learned.add([art("a", BRIDGE_A, "2024-03-14")])
        gaussian = StoryClusterer(store, ClusterConfig(recency_sigma_days=7))
        for days, key in ((0, 997), (7, 998), (30, 999)):
            day = article_day("2024-03-14") + days
            (mine,) = learned._prepare([(key, art(f"b{days}", BRIDGE_B, None), day, False)])
            (sid,) = learned._stories
            p = learned.link_probabilities(mine, [sid])[sid]
            assert gaussian.link_probabilities(mine, [sid])[sid] == pytest.approx(p * np.exp(-0.5 * (days / 7) ** 2))


def test_articles_without_dates_are_placed_by_arrival_and_future_dates_are_distrusted(tmp_path):
    today = dt.date(2024, 3, 20)
    assert article_day("2024-03-21", today) is not None
    assert article_day("2031-01-01", today) is None and article_day("not a date") is None
    path = tmp_path / "s"
    out = run(path, [art("a", BRIDGE_A, "2024-03-14"), art("b", BRIDGE_B, None), art("x", FIRE, "2999-01-01")])
    assert out["b"] == out["a"]
    with Store(path) as store:
        rows = dict(store.db.execute(
            "SELECT a.id, m.date_assumed FROM story_members m JOIN articles a USING (seq)").fetchall())
        days = dict(store.db.execute("SELECT a.id, m.day FROM story_members m JOIN articles a USING (seq)").fetchall())
    assert rows == {"a": 0, "b": 1, "x": 1}
    assert days["b"] == days["x"] == article_day("2024-03-14")


def test_why_a_date_is_not_used_is_said():
    """``date_problem``: the reason ``add`` records in ``placed_by_arrival`` (and ``cluster`` prints)."""
    today = dt.date(2024, 3, 20)
    assert date_problem("2024-03-21", today) is None and date_problem("2024-03-19T23:59:00Z", today) is None
    assert date_problem(None, today) == date_problem("  ", today) == "no date"
    assert date_problem("not a date", today) == date_problem("2024-02-30", today) == "an unreadable date"
    assert date_problem("1850-01-01", today) == "an unreadable date"  # before 1900: a parse accident
    assert date_problem("2024-03-23", today) == date_problem("2999-01-01", today) == "a date more than 2 days ahead"


def test_add_tells_which_articles_it_placed_by_arrival(tmp_path):
    with Store(tmp_path / "s") as store:
        c = StoryClusterer(store)
        assert c.placed_by_arrival == {}
        c.add([art("a", BRIDGE_A, "2024-03-14"), art("b", BRIDGE_B, None), art("x", FIRE, "2999-01-01"),
               art("y", (FIRE[0], FIRE[1] + " Again."), "yesterday-ish")])
        assert c.placed_by_arrival == {"b": "no date", "x": "a date more than 2 days ahead", "y": "an unreadable date"}
        c.add([art("b", BRIDGE_B, None), art("c", BRIDGE_A, "2024-03-15")])  # b is stored: not placed again
        assert c.placed_by_arrival == {}


def test_converging_stories_are_merged(tmp_path):
    """An article linking strongly to two stories merges them; the older story keeps its id."""
    with Store(tmp_path / "s") as store:
        c = StoryClusterer(store, ClusterConfig(threshold=0.5, merge_threshold=0.5))
        c.add([art("a", BRIDGE_A, "2024-03-14")])
        # a second story about the same bridge, started apart (as if the link had been missed)
        (b,) = c._prepare([(store_article(store, art("b", BRIDGE_B, "2024-03-15")), art("b", BRIDGE_B, "2024-03-15"),
                            article_day("2024-03-15"), False)])
        with store.transaction():
            c._join(c._new_story(b), b)
        assert c.story_count() == 2
        out = dict(c.add([art("c", (BRIDGE_A[0], BRIDGE_B[1]), "2024-03-15")]))
        assert out == {"c": "a"} and c.story_count() == 1
        members = dict(store.db.execute("SELECT a.id, s.id FROM story_members m JOIN articles a USING (seq) "
                                        "JOIN stories s ON s.story = m.story").fetchall())
        assert members == {"a": "a", "b": "a", "c": "a"}
    with Store(tmp_path / "s") as store:  # the merge persisted
        assert StoryClusterer(store).story_count() == 1


def store_article(store, article):
    with store.transaction():
        return store.add_article(article)[0]


def test_a_failed_batch_leaves_nothing_behind(tmp_path, monkeypatch):
    path = tmp_path / "s"
    run(path, [art("a", BRIDGE_A, "2024-03-14")])
    with Store(path) as store:
        c = StoryClusterer(store)
        real = c._choose
        calls = []

        def fail_on_second(a):
            calls.append(a.id)
            if len(calls) == 2:
                raise RuntimeError("crash")
            return real(a)

        monkeypatch.setattr(c, "_choose", fail_on_second)
        with pytest.raises(RuntimeError):
            c.add([art("b", BRIDGE_B, "2024-03-15"), art("lib", LIBRARY, "2024-03-16")])
        assert c.story_count() == 1  # memory rolled back with the transaction
    with Store(path) as store:
        assert store.count() == 1 and store.integrity_check() == []
    assert run(path, [art("b", BRIDGE_B, "2024-03-15"), art("lib", LIBRARY, "2024-03-16")]) == {"b": "a", "lib": "lib"}


def test_killed_mid_ingest_the_store_opens_checks_and_resumes(tmp_path):
    """kill -9 while clustering: the store opens, passes its integrity check, and the rerun adds no duplicates."""
    path = tmp_path / "s"
    stories = [BRIDGE_A, BRIDGE_B, LIBRARY, FIRE]
    rows = [{"id": f"n{i}", "title": f"{stories[i % 4][0]} ({i})", "text": stories[i % 4][1] + f" Report {i}.",
             "date": f"2024-03-{10 + i % 15:02d}", "lang": "en"} for i in range(400)]
    src = tmp_path / "in.jsonl"
    import json

    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    script = textwrap.dedent(f"""
        import sys
        from samestory.ingest import read_articles
        from samestory.store import Store
        from samestory.cluster import StoryClusterer
        arts = list(read_articles([{str(src)!r}]))
        with Store({str(path)!r}) as store:
            c = StoryClusterer(store)
            c.add(arts, batch=20, progress=lambda n: print("batch", flush=True))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    for _ in range(3):  # let a few batches commit, then kill it mid-run
        assert proc.stdout.readline().startswith("batch")
    proc.kill()
    proc.wait()
    with Store(path) as store:
        assert store.integrity_check() == []
        done = store.count()
        assert done % 20 == 0 and 60 <= done < 400
        assert store.db.execute("SELECT COUNT(*) FROM story_members").fetchone()[0] == done
    from samestory.ingest import read_articles

    out = run(path, list(read_articles([src])))
    assert len(out) == 400
    with Store(path) as store:
        assert store.count() == 400 and store.integrity_check() == []
        assert store.db.execute("SELECT COUNT(*) FROM story_members").fetchone()[0] == 400


def test_a_store_made_with_another_embedder_is_refused(tmp_path):
    path = tmp_path / "s"
    run(path, [art("a", BRIDGE_A, "2024-03-14")])
    with Store(path) as store:
        store.db.execute("UPDATE meta SET value = 'other-embedder' WHERE key = 'cluster_embedder'")
        with pytest.raises(ClusterError, match="made with the other-embedder embedder"):
            StoryClusterer(store)


def test_an_embedder_the_linker_was_not_trained_for_is_refused_before_the_store_is_stamped(tmp_path):
    with Store(tmp_path / "s") as store:
        with pytest.raises(ClusterError, match=r"trained for another embedder than 'minilm' \(it reads static_doc"):
            StoryClusterer(store, ClusterConfig(embedder="minilm"), linker=load_linker())
        with pytest.raises(ClusterError, match="no story linker ships for the minilm embedder"):
            StoryClusterer(store, ClusterConfig(embedder="minilm"))  # none given: the shipped one for it, if any
        assert store.db.execute("SELECT value FROM meta WHERE key = 'cluster_embedder'").fetchone() is None
        StoryClusterer(store).add([art("a", BRIDGE_A, "2024-03-14")])  # the default embedder still may use it


def test_shipped_linker_loads_and_its_probabilities_are_probabilities():
    linker = load_linker()
    assert isinstance(linker, Linker) and "day_gap" in linker.features
    X = np.random.default_rng(0).random((20, len(linker.features)))
    p = linker.probability(X)
    assert np.all((p >= 0) & (p <= 1))


def test_a_linker_saved_to_a_path_of_ones_own_loads_back_the_same(tmp_path):
    """What bench/train_linker.py --out writes, for a clusterer on another embedder (``linker=``)."""
    shipped = load_linker()
    shipped.save(str(tmp_path / "mine.json"))
    mine = Linker.load(str(tmp_path / "mine.json"))
    X = np.random.default_rng(1).random((50, len(shipped.features)))
    X[::2, shipped.features.index("english")] = 0  # half the rows for the other-language trees
    assert mine.other is not None and shipped.other is not None
    assert mine.features == shipped.features and np.array_equal(mine.probability(X), shipped.probability(X))


class _ConstantTrees:
    def __init__(self, score: float):
        self.score = score

    def predict(self, X):
        return np.full(len(X), self.score)


def test_pairs_not_both_english_are_scored_by_the_other_language_trees():
    """english = 0 (languages known, not both English) -> other trees; 1 or NaN (a language unknown) -> the
    streams' trees, which also score everything when a linker has no other trees."""
    linker = Linker(["x", "english"], _ConstantTrees(3.0), "fast", {}, other=_ConstantTrees(-3.0))
    X = np.array([[0.5, 1.0], [0.5, 0.0], [0.5, np.nan], [0.5, 0.0]])
    high, low = 1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(3.0))
    np.testing.assert_allclose(linker.probability(X), [high, low, high, low])
    np.testing.assert_allclose(linker.probability(X[[1, 3]]), [low, low])
    np.testing.assert_allclose(Linker(["x", "english"], _ConstantTrees(3.0), "fast", {}).probability(X), [high] * 4)
    assert linker.probability(X[:0]).shape == (0,)


SPANISH = {
    "puente-a": ("Reabre el puente de Bahía Aliso tras seis meses de reparaciones",
                 "El puente de Bahía Aliso volvió a abrirse al tráfico el jueves, seis meses después de que los ingenieros "
                 "lo cerraran al descubrir corrosión en dos cables de acero. Las obras costaron 18,2 millones de euros, "
                 "según la autoridad regional de transporte. La ingeniera jefa Marta Ilves dijo que el puente está en su "
                 "mejor estado en veinte años."),
    "puente-b": ("Los coches vuelven a cruzar el puente de Bahía Aliso",
                 "Coches y autobuses cruzaron de nuevo el jueves el puente de Bahía Aliso tras medio año de obras en dos "
                 "cables de acero corroídos. La autoridad de transporte cifró el coste en 18,2 millones de euros. Marta "
                 "Ilves, su ingeniera jefa, afirmó que la estructura no estaba tan bien desde hace dos décadas."),
    "metro": ("Huelga de metro en Madrid: servicios mínimos del 50 por ciento",
              "Los maquinistas del metro de Madrid inician el lunes una huelga de tres días para reclamar mejoras "
              "salariales. La Comunidad de Madrid ha fijado servicios mínimos del 50 por ciento en hora punta. El "
              "sindicato de maquinistas asegura que la empresa no ha atendido sus demandas en las últimas reuniones."),
    "futbol": ("El Real Madrid gana al Sevilla y se acerca al liderato",
               "El Real Madrid venció el domingo por dos goles a uno al Sevilla en el estadio Santiago Bernabéu y se "
               "coloca a un punto del liderato. Los goles fueron de Vinícius y Bellingham. El entrenador dijo que el "
               "equipo jugó su mejor partido de la temporada."),
    "hospital": ("Madrid abre un nuevo hospital en Valdebebas",
                 "La Comunidad de Madrid inauguró el lunes un nuevo hospital en el barrio de Valdebebas con 300 camas y "
                 "doce quirófanos. La presidenta regional dijo que el centro atenderá a 250.000 vecinos del norte de la "
                 "capital a partir de la próxima semana."),
    "lluvia": ("Alerta naranja por lluvias en la Comunidad de Madrid",
               "La Agencia Estatal de Meteorología ha activado la alerta naranja por lluvias en la Comunidad de Madrid "
               "para el lunes, con acumulados de hasta 60 litros por metro cuadrado. El ayuntamiento recomienda evitar "
               "los desplazamientos en coche."),
}


def test_unrelated_news_of_one_day_in_spanish_stays_apart_and_two_versions_of_one_story_join(tmp_path):
    """The streams' trees alone put four unrelated Madrid stories of one day into one story (in other languages
    their similarity features read high between any two texts); the other-language trees keep them apart."""
    articles = [Article(id=k, title=t, text=x, date="2024-03-14", lang="es") for k, (t, x) in SPANISH.items()]
    with Store(tmp_path / "s") as store:
        out = dict(StoryClusterer(store).add(articles))
    assert out["puente-a"] == out["puente-b"]
    assert len({out[k] for k in ("metro", "futbol", "hospital", "lluvia")}) >= 3
    assert out["metro"] not in {out["puente-a"], out["futbol"], out["hospital"], out["lluvia"]}


def test_centroid_search_is_exact_and_holds_the_stories_of_the_search_window(tmp_path):
    """Stories leave the similarity search once their latest article is search_days older than the
    latest seen (rare names still find them); a reopened store holds the same ones as the run that
    never stopped, so candidates do not depend on where runs were split."""
    from samestory import cluster as cluster_module
    from samestory.cluster import _CentroidIndex

    index = _CentroidIndex(3)
    rng = np.random.default_rng(0)
    vecs = {sid: v / np.linalg.norm(v) for sid, v in zip(range(10, 700, 7), rng.standard_normal((99, 3)))}
    for sid, v in vecs.items():
        index.upsert(sid, v)
    for sid in list(vecs)[::3]:
        index.remove(sid)
        del vecs[sid]
    index.upsert(10_000, vecs[17])  # an exact tie with story 17: the lower key first
    query = vecs[17]
    brute = sorted(vecs, key=lambda s: (-float(vecs[s] @ query), s))[:5]
    assert index.nearest(query, 5)[:2] == [17, 10_000] and index.nearest(query, 6) == sorted(
        brute + [10_000], key=lambda s: (-float((vecs.get(s, vecs[17])) @ query), s))
    assert len(index) == len(vecs) + 1 and index.nearest(query, 1000)[-1] in vecs

    config = ClusterConfig(search_days=30)
    path = tmp_path / "s"
    with Store(path) as store:
        c = StoryClusterer(store, config)
        c.add([art("a", BRIDGE_A, "2024-01-02"), art("lib", LIBRARY, "2024-02-20"), art("fire", FIRE, "2024-03-01")])
        active = {c._stories[sid].id for sid in c._index._row}
    assert active == {"lib", "fire"}  # the bridge story's last article is 59 days old
    with Store(path) as store:
        c = StoryClusterer(store, config)
        assert {c._stories[sid].id for sid in c._index._row} == active
        # a late bridge article still meets the bridge story: it shares rare names (found without the index)
        (late,) = c._prepare([(999, art("b", BRIDGE_B, "2024-03-02"), article_day("2024-03-02"), False)])
        bridge = next(sid for sid, story in c._stories.items() if story.id == "a")
        assert bridge not in c._index and bridge in c.candidates(late)
        # ...and through the on-disk archive of stories out of the window, saved after the first run
        assert (path / cluster_module.INDEX_FILE).is_file() and len(c._archive) == 1
        assert c._archive.nearest(late.vectors.doc, 5) == [bridge]
    (path / cluster_module.INDEX_FILE).write_bytes(b"damaged")  # derived data: rebuilt from the database
    with Store(path) as store:
        assert len(StoryClusterer(store, config)._archive) == 1


def _varied_stream(n: int) -> list[Article]:
    stories = [BRIDGE_A, BRIDGE_B, LIBRARY, FIRE]
    return [Article(id=f"v{i}", title=stories[i % 4][0], text=stories[i % 4][1] + f" Update {i // 4}.",
                    date=f"2024-03-{1 + i % 20:02d}", lang="en") for i in range(n)]


def test_analysis_in_a_worker_process_gives_the_same_stories(tmp_path, monkeypatch):
    import samestory.cluster as cluster_module
    import samestory.parallel as parallel_module

    articles = _varied_stream(24)
    with Store(tmp_path / "here") as store:
        here = StoryClusterer(store).add(articles, batch=5, workers=0)
    monkeypatch.setattr(cluster_module, "PARALLEL_MIN_ARTICLES", 10)
    used = []
    real = parallel_module.map_batches
    monkeypatch.setattr(parallel_module, "map_batches", lambda *a, **k: used.append(True) or real(*a, **k))
    with Store(tmp_path / "worker") as store:
        ticks = []
        there = StoryClusterer(store).add(articles, batch=5, workers=1, progress=ticks.append)
    assert used  # the worker path ran
    assert there == here and sum(ticks) == len(articles)
    assert len({s for _, s in here}) < len(articles)  # stories were formed, not one per article


def test_unrelated_news_of_the_same_day_gets_a_low_link_probability(tmp_path):
    """The training streams hold one topic each; the linker must still tell a bridge repair from library hours."""
    with Store(tmp_path / "s") as store:
        c = StoryClusterer(store)
        c.add([art("a", BRIDGE_A, "2024-03-14")])
        (lib,) = c._prepare([(99, art("lib", LIBRARY, "2024-03-14"), article_day("2024-03-14"), False)])
        (bridge,) = c._prepare([(98, art("b", BRIDGE_B, "2024-03-14"), article_day("2024-03-14"), False)])
        assert c.link_probabilities(lib, c.candidates(lib))[1] < 0.1
        assert c.link_probabilities(bridge, c.candidates(bridge))[1] > 0.5


def test_a_later_run_reads_story_members_back_instead_of_analysing_them_again(tmp_path, monkeypatch):
    """Each story's latest members keep their analysis in the store (and only those), so a new run of a
    daily feed links against them without re-reading their texts, with the same stories as one run."""
    stream = [art(f"b{i}", BRIDGE_A if i % 2 else BRIDGE_B, f"2024-03-{10 + i:02d}") for i in range(7)]
    stream += [art("lib", LIBRARY, "2024-03-12"), art("fire", FIRE, "2024-03-13")]
    later = [art("b-late", BRIDGE_B, "2024-03-20"), art("lib-late", LIBRARY, "2024-03-20")]
    one = run(tmp_path / "one", stream + later)
    path = tmp_path / "two"
    run(path, stream)
    config = ClusterConfig()
    with Store(path) as store:
        kept = {seq for (seq,) in store.db.execute("SELECT seq FROM link_profiles")}
        latest = set()
        for (sid,) in store.db.execute("SELECT story FROM stories WHERE merged_into IS NULL"):
            latest |= {seq for (seq,) in store.db.execute(
                "SELECT seq FROM story_members WHERE story = ? ORDER BY day DESC, seq DESC LIMIT ?", (sid, config.members))}
        assert kept == latest and len(kept) < len(stream)
    analysed = []
    original = StoryClusterer._analyse
    monkeypatch.setattr(StoryClusterer, "_analyse", lambda self, arts: analysed.extend(a.id for a in arts) or original(self, arts))
    assert run(path, later) == {k: one[k] for k in ("b-late", "lib-late")}
    assert sorted(analysed) == ["b-late", "lib-late"]  # the new articles only: members came from the store
    with Store(path) as store, store.transaction() as db:  # as a store from before link_profiles
        db.execute("DELETE FROM link_profiles")
    analysed.clear()
    last = [art("b-last", BRIDGE_A, "2024-03-21")]
    assert run(path, last) == {"b-last": run(tmp_path / "three", stream + later + last)["b-last"]}
    assert "b-last" in analysed and len(analysed) > 1  # the members were analysed again
    with Store(path) as store:
        assert store.db.execute("SELECT COUNT(*) FROM link_profiles").fetchone()[0] > 0


def test_recent_stories_are_filed_by_their_latest_day():
    from samestory.cluster import _ByLastDay

    by_day = _ByLastDay()
    for sid, day in [(5, 10), (3, 10), (9, 12), (4, 8)]:
        by_day.file(sid, day)
    assert by_day.between(10) == [3, 5, 9] and by_day.between(0) == [4, 3, 5, 9] and by_day.between(13) == []
    assert by_day.between(8, 12) == [4, 3, 5] and by_day.between(9, 10) == []
    by_day.file(3, 13)  # a story moves when it gets a later article
    by_day.remove(9)    # and leaves when merged away
    assert by_day.between(10) == [5, 3] and by_day.between(11) == [3]
    by_day.remove(5)
    assert by_day.between(0) == [4, 3] and by_day._days == [8, 13]
    by_day.file(1, 8)  # a day already listed in order gets a new story
    assert by_day.between(0) == [1, 4, 3]


def test_the_first_cut_of_members_equals_scoring_each_member(tmp_path):
    """Candidate members are cut from per-story arrays (kept across articles, read from the stored heads of
    analyses not in memory); the cut must be the one computed member by member from full analyses."""
    from samestory.features import shared_name_counts

    config = ClusterConfig(compare=3)
    path = tmp_path / "s"
    with Store(path) as store:
        StoryClusterer(store, config).add(_varied_stream(24), workers=0)
    probe = Article(id="probe", title=BRIDGE_B[0], text=BRIDGE_A[1] + " " + LIBRARY[1], date="2024-03-21", lang="en")
    with Store(path) as store:
        c = StoryClusterer(store, config)  # a new run: nothing in memory, members come from the store
        (art,) = c._prepare([(999, probe, article_day(probe.date), False)])
        sids = c.candidates(art)
        assert len(sids) > 1
        owners, others = c.candidate_members(art, sids)
        pairs = [(sid, c._member(key)) for sid in sids for key in c._stories[sid].latest(config.members)]
        assert len(pairs) > config.compare
        shared = 0.5 * shared_name_counts(art.profile, [m.profile for _, m in pairs])
        sizes = np.array([len(m.profile.names) for _, m in pairs], dtype=np.float64)
        cheap = np.stack([m.vectors.doc for _, m in pairs]) @ art.vectors.doc + shared / np.maximum(
            1.0, np.minimum(float(len(art.profile.names)), sizes))
        keep = np.sort(np.argsort(-cheap, kind="stable")[:config.compare])
        assert owners == [pairs[i][0] for i in keep] and [o.key for o in others] == [pairs[i][1].key for i in keep]
        assert c.candidate_members(art, sids)[0] == owners  # again, from the blocks now cached


def test_a_stored_analysis_head_equals_the_decoded_analysis():
    from samestory.cluster import analyse_encoded, decode_analysis, decode_head
    from samestory.embed import get_embedder
    from samestory.features import PairText

    ((data, (profile, vectors)),) = analyse_encoded([PairText(*BRIDGE_A, "en", None)], get_embedder("static"))
    doc, n_names, name_ids = decode_head(data)
    assert doc.dtype == vectors.doc.dtype and np.array_equal(doc, vectors.doc)
    assert n_names == len(profile.names) > 0 and np.array_equal(name_ids, profile.name_ids)
    again, _ = decode_analysis(data)
    assert again.names == profile.names
    old = b"SSA1" + data[4:]  # the format before heads (or another scheme): analysed again, never misread
    assert decode_head(old) is None and decode_analysis(old) is None


def test_prepared_centroid_products_equal_searching_each_article():
    """The cosines of a run of articles are computed in one matrix product when the run starts; a search
    must still see every story written, added, removed or moved since (checked against a plain product)."""
    from samestory.cluster import _CentroidIndex

    rng = np.random.default_rng(3)
    unit = lambda v: (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)  # noqa: E731
    index = _CentroidIndex(8)
    for sid in range(200):
        index.upsert(sid, unit(rng.standard_normal(8)))
    queries = unit(rng.standard_normal((6, 8)))
    index.prepare(queries)

    def same(vec) -> bool:  # the search equals a plain product on every live row (removed rows are never read)
        live = index._keys[:index._used] >= 0
        return np.allclose(index.search(vec)[live], (index._vecs[:index._used] @ vec)[live], atol=1e-6)

    assert same(queries[0])
    index.upsert(7, queries[1])        # a story moves onto the next query: its cosine becomes 1
    index.upsert(500, -queries[1])     # a new story after the products were made
    index.remove(9)
    assert same(queries[1]) and index.nearest(queries[1], 1, index.search(queries[1])) == [7]
    assert index.nearest(queries[1], 300)[-1] == 500 and 9 not in index.nearest(queries[1], 300)
    other = unit(rng.standard_normal(8))  # not prepared: a plain product
    assert same(other)
    for sid in range(10, 200):  # enough removals and additions to compact the rows
        index.remove(sid)
    for sid in range(1000, 1400):
        index.upsert(sid, unit(rng.standard_normal(8)))
    assert same(queries[2]) and not index._slot  # compacted: the prepared products no longer apply
    assert index.nearest(queries[2], 3) == sorted(
        index._row, key=lambda s: (-float(index._vecs[index._row[s]] @ queries[2]), s))[:3]


def test_a_name_keeps_at_most_its_postings_cap_of_articles(tmp_path):
    """Only names rare enough to be searched keep their articles: a name on more articles than the cap
    stops gaining rows, and a config that would search names past the cap is refused."""
    from samestory import cluster as cluster_module

    with pytest.raises(ValueError, match="rare_name_df"):
        ClusterConfig(rare_name_df=cluster_module.NAME_POSTINGS_MAX + 1)
    cap = 3
    cluster_module_cap = cluster_module.NAME_POSTINGS_MAX
    try:
        cluster_module.NAME_POSTINGS_MAX = cap
        path = tmp_path / "s"
        stream = [Article(id=f"a{i}", title=f"Ostvik council meeting number {i}",
                          text=f"The Ostvik council met for the {i}th time and Tomas Reyes spoke about budget line {i}.",
                          date="2024-03-01", lang="en") for i in range(6)]
        with Store(path) as store:
            c = StoryClusterer(store, ClusterConfig(rare_name_df=2))
            c.add(stream, workers=0)
            per_name = dict(store.db.execute("SELECT name, COUNT(*) FROM article_names GROUP BY name"))
            df = dict(store.db.execute("SELECT name, df FROM name_df"))
    finally:
        cluster_module.NAME_POSTINGS_MAX = cluster_module_cap
    common = [name for name, n in df.items() if n > cap]
    assert common and all(per_name[name] == cap for name in common)
    assert all(per_name[name] == n for name, n in df.items() if n <= cap)


def test_name_rows_wait_in_a_log_that_later_runs_read_and_move(tmp_path, monkeypatch):
    """A batch appends its (name, article) rows to ``name_log``; the end of a run moves them into
    ``article_names``. A run that stopped before moving them leaves a log the next run still searches."""
    config = ClusterConfig(search_days=30)
    path = tmp_path / "s"

    def counts(store):
        return tuple(store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("name_log", "article_names"))

    monkeypatch.setattr(StoryClusterer, "_merge_name_log", lambda self: None)  # killed before the move
    with Store(path) as store:
        StoryClusterer(store, config).add([art("a", BRIDGE_A, "2024-01-02"), art("lib", LIBRARY, "2024-02-20")])
        logged, moved = counts(store)
        assert logged > 0 and moved == 0
    monkeypatch.undo()
    with Store(path) as store:
        c = StoryClusterer(store, config)
        (late,) = c._prepare([(999, art("b", BRIDGE_B, "2024-03-02"), article_day("2024-03-02"), False)])
        bridge = next(sid for sid, story in c._stories.items() if story.id == "a")
        assert c._name_candidates(late) == [bridge]  # through the log read back at open
        c.add([art("fire", FIRE, "2024-03-01")])
        assert counts(store)[0] == 0 and counts(store)[1] > logged  # the run moved the log, its own rows too
        assert c._name_candidates(late) == [bridge]  # now through article_names
    # a long run moves the log when it is full, without waiting for its end
    from samestory import cluster as cluster_module

    moves = []
    monkeypatch.setattr(cluster_module, "NAME_LOG_ROWS", 1)
    real_move = StoryClusterer._merge_name_log
    monkeypatch.setattr(StoryClusterer, "_merge_name_log", lambda self: (moves.append(self._name_log_rows), real_move(self)))
    with Store(path) as store:
        StoryClusterer(store, config).add([art("b2", BRIDGE_B, "2024-03-03"), art("lib2", LIBRARY, "2024-03-04")], batch=1)
        assert len(moves) == 3 and min(moves[:2]) > 1 and moves[2] == 0  # after each batch (the end finds it empty)
        assert counts(store)[0] == 0


def test_opening_a_store_reads_stories_but_not_their_members(tmp_path):
    """Opening does not grow with the articles stored: a story's members are read when it is first compared
    with or joined, and an article already clustered is found in the store, not in memory."""
    path = tmp_path / "s"
    first = run(path, [art("a", BRIDGE_A, "2024-03-14"), art("lib", LIBRARY, "2024-03-14"), art("fire", FIRE, "2024-03-14")])
    with Store(path) as store:
        c = StoryClusterer(store)
        assert len(c._stories) == 3 and all(s.members is None for s in c._stories.values())
        assert c._n_clustered == 3 and c._story_of == {}
        assert dict(c.add([art("a", BRIDGE_A, "2024-03-14")])) == {"a": first["a"]}  # idempotent, from the store
        assert dict(c.add([art("b", BRIDGE_B, "2024-03-15")])) == {"b": first["a"]}
        bridge = next(s for s in c._stories.values() if s.id == first["a"])
        assert [key for _, key in bridge.members] == [seq for (seq,) in store.db.execute(
            "SELECT seq FROM story_members WHERE story = ? ORDER BY day, seq", (bridge.sid,))]
        assert len(bridge.members) == 2 == store.db.execute("SELECT size FROM stories WHERE story = ?", (bridge.sid,)).fetchone()[0]
        assert c._n_clustered == 4


def _story_state(store):
    """Each live story's (size, members, vec_sum) and the name counts, as stored."""
    stories = {sid: (size, np.frombuffer(vec, np.float32)) for sid, size, vec in
               store.db.execute("SELECT story, size, vec_sum FROM stories WHERE merged_into IS NULL")}
    members: dict[int, list[str]] = {}
    for sid, aid in store.db.execute("SELECT m.story, a.id FROM story_members m JOIN articles a USING (seq) ORDER BY a.id"):
        members.setdefault(sid, []).append(aid)
    names = dict(store.db.execute("SELECT name, df FROM name_df WHERE df > 0"))
    return stories, members, names


def test_removing_articles_takes_them_out_of_their_stories_as_if_never_added(tmp_path):
    """Removed articles leave their story's size, centroid sum, days and the name counts as the members left
    make them; a story left empty is deleted, and the same articles added again find their stories."""
    from samestory.dedup import NearCopyIndex

    bridge_c = art("c", (BRIDGE_A[0], BRIDGE_B[1] + " Tolls return on Monday."), "2024-03-16")
    articles = [art("a", BRIDGE_A, "2024-03-14"), art("lib", LIBRARY, "2024-03-14"), art("b", BRIDGE_B, "2024-03-15"),
                bridge_c, art("fire", FIRE, "2024-03-16")]
    kept = [a for a in articles if a.id not in ("a", "lib")]
    path = tmp_path / "s"
    with Store(path) as store:
        c = StoryClusterer(store)
        before = dict(c.add(articles))
        assert before["a"] == before["b"] == before["c"] == "a" and before["lib"] == "lib"
        list(NearCopyIndex(store).add(articles))
        assert c.remove(["a", "lib", "nope"]) == ["a", "lib"]
        assert store.integrity_check() == [] and store.article_seq("a") is None
        stories, members, names = _story_state(store)
        assert sorted(members.values()) == [["b", "c"], ["fire"]]
        assert c.story_count() == 2
    # the same state as clustering only the articles kept (the story keeps the id of its removed first article)
    with Store(tmp_path / "fresh") as fresh:
        StoryClusterer(fresh).add(kept)
        f_stories, f_members, f_names = _story_state(fresh)
    with Store(path) as store:
        stories, members, names = _story_state(store)
        assert names == f_names
        by_members = {tuple(m): stories[sid] for sid, m in members.items()}
        for sid, m in f_members.items():
            size, vec = by_members[tuple(m)]
            assert size == f_stories[sid][0] == len(m)
            np.testing.assert_allclose(vec, f_stories[sid][1], atol=1e-5)
        days = store.db.execute("SELECT s.id, s.first_day FROM stories s WHERE s.merged_into IS NULL ORDER BY s.id").fetchall()
        assert days == [("a", article_day("2024-03-15")), ("fire", article_day("2024-03-16"))]
        # removed articles come back into the stories they belong to (the library story anew)
        out = dict(StoryClusterer(store).add(articles))
        assert out["a"] == "a" and out["lib"] == "lib" and store.integrity_check() == []


def test_a_removal_that_fails_half_way_removes_nothing(tmp_path, monkeypatch):
    from samestory.dedup import NearCopyIndex

    path = tmp_path / "s"
    articles = [art("a", BRIDGE_A, "2024-03-14"), art("b", BRIDGE_B, "2024-03-15"), art("lib", LIBRARY, "2024-03-15")]
    with Store(path) as store:
        StoryClusterer(store).add(articles)
        list(NearCopyIndex(store).add(articles))
        before = _story_state(store)
        c = StoryClusterer(store)
        real = NearCopyIndex.remove

        def fail_on_lib(self, article_id):
            if article_id == "lib":
                raise RuntimeError("crash")
            return real(self, article_id)

        monkeypatch.setattr(NearCopyIndex, "remove", fail_on_lib)
        with pytest.raises(RuntimeError):
            c.remove(["a", "lib"])
        assert c.story_count() == 2  # memory rolled back with the transaction
        assert store.count() == 3 and store.integrity_check() == []
        after = _story_state(store)
        assert after[1] == before[1] and after[2] == before[2]
        monkeypatch.undo()
        assert c.remove(["a"]) == ["a"] and dict(c.add([art("a2", BRIDGE_A, "2024-03-16")]))["a2"] == "a"


def test_the_near_copy_index_refuses_to_remove_an_article_of_a_story(tmp_path):
    from samestory.cluster import remove_articles
    from samestory.dedup import NearCopyIndex
    from samestory.errors import SamestoryError

    articles = [art("a", BRIDGE_A, "2024-03-14"), art("lib", LIBRARY, "2024-03-14")]
    with Store(tmp_path / "s") as store:
        StoryClusterer(store).add(articles)
        list(NearCopyIndex(store).add(articles))
        with pytest.raises(SamestoryError, match="belongs to a story"):
            NearCopyIndex(store).remove("a")
        assert remove_articles(store, ["a", "zzz"]) == ["a"]
        assert [r["articles"] for r in story_rows(store)] == [["lib"]]
    with Store(tmp_path / "dedup-only") as store:  # a store without stories: the near-copy index alone
        list(NearCopyIndex(store).add(articles))
        assert remove_articles(store, ["lib"]) == ["lib"] and store.count() == 1
        assert store.db.execute("SELECT value FROM meta WHERE key = 'cluster_embedder'").fetchone() is None


def test_a_clusterer_reads_the_store_again_when_another_process_wrote_to_it(tmp_path):
    """Two connections to one store (a service and a `cluster --store` run, say): each write starts from what the
    other committed, instead of from memory that no longer holds (which started a second story for the bridge and
    failed on an article the other had clustered)."""
    path = tmp_path / "s"
    with Store(path) as first_store, Store(path) as second_store:
        first, second = StoryClusterer(first_store), StoryClusterer(second_store)
        assert first.add([art("a", BRIDGE_A, "2024-03-14")]) == [("a", "a")]
        assert second.add([art("b", BRIDGE_B, "2024-03-15"), art("a", BRIDGE_A, "2024-03-14")]) == [("b", "a"), ("a", "a")]
        assert first.remove(["b"]) == ["b"]
        assert second.add([art("lib", LIBRARY, "2024-03-15")]) == [("lib", "lib")]
        assert second.story_count() == 2
        assert [(r["story"], r["size"], r["articles"]) for r in story_rows(second_store)] == [("a", 1, ["a"]), ("lib", 1, ["lib"])]
        assert first.add([art("b", BRIDGE_B, "2024-03-15")]) == [("b", "a")] and first.story_count() == 2
        assert second_store.integrity_check() == []
