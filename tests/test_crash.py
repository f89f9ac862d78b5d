"""Crash safety at scale: ``samestory cluster --store`` SIGKILLed at random points, then resumed.

The 20,000-article, many-kills version with figures is ``bench/crash.py``; this runs its code on
2,000 short articles and 3 kills. After each kill the store opens, passes its integrity check and
holds only whole articles; resuming gives the same articles and stories as one uninterrupted run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "crash.py"
_spec = importlib.util.spec_from_file_location("bench_crash", _PATH)
crash = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash)

N = 2000


@pytest.mark.skipif(not crash.GVA.exists(), reason="needs ../shared/data/stories/gva")
def test_killed_ingests_leave_whole_articles_and_resume_to_the_uninterrupted_state(tmp_path):
    src = crash.make_articles(N, tmp_path / "in.jsonl", seed=3, max_chars=600)
    ref = tmp_path / "ref.store"
    took = crash.run_once(ref, src)
    want = crash.final_state(ref)
    assert len(want) == N and crash.check_store(ref) == (N, [])

    killed = tmp_path / "killed.store"
    got = crash.kill_and_resume(killed, src, kills=3, span=max(1.0, took - 1.0), seed=3)
    assert got["problems"] == []
    assert all(0 <= c <= N for c in got["counts"]) and got["counts"] == sorted(got["counts"])
    assert got["final"] == N
    state = crash.final_state(killed)
    assert set(state) == set(want)  # the same articles, each once
    # The same stories: resuming rebuilds the clusterer's memory and its centroid index from the store,
    # and the index is searched exactly, so the candidates, and with them the stories, do not depend on
    # the order the index was rebuilt in.
    differ = [k for k, v in want.items() if state[k] != v]
    assert differ == []
