"""Worker batches: results in order, the same as in this process, and no worker outlives a killed parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from samestory.parallel import map_batches


def _square_all(xs: list[int]) -> list[int]:
    return [x * x for x in xs]


def test_batches_come_back_in_order_with_their_results():
    batches = [[i, i + 1] for i in range(0, 20, 2)]
    got = list(map_batches(_square_all, batches, workers=2))
    assert [b for b, _ in got] == batches
    assert [r for _, r in got] == [_square_all(b) for b in batches]


def _pid_of(xs: list[int]) -> int:
    return os.getpid()


def test_the_first_batches_can_be_done_here_while_the_workers_start():
    batches = [[i] for i in range(8)]
    got = list(map_batches(_pid_of, batches, workers=1, local_first=2))
    assert [b for b, _ in got] == batches  # still in order
    pids = [pid for _, pid in got]
    assert pids[:2] == [os.getpid()] * 2 and os.getpid() not in pids[2:]
    assert list(map_batches(_pid_of, batches[:1], workers=1, local_first=3)) == [([0], os.getpid())]  # fewer batches than that


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is as good as gone
        return f.read().split()[2] != "Z"


def test_workers_leave_when_their_parent_is_killed(tmp_path):
    """SIGKILL the parent mid-run: its worker processes must not linger (each holds models in memory)."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from samestory.parallel import map_batches

        def slow(x):
            time.sleep(0.2)
            return os.getpid()

        if __name__ == "__main__":
            for _, pid in map_batches(slow, range(10_000), workers=2):
                print(pid, flush=True)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = {int(proc.stdout.readline()) for _ in range(4)}
    assert workers and proc.pid not in workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers)
