"""Batches of work in worker processes, results in input order.

One small executor for the stages whose per-article work is independent
(fingerprinting in ``dedup``, article analysis in ``cluster``): the caller
keeps doing the sequential part while workers run ahead, at most
``2 * workers`` batches in flight so memory stays bounded. Workers are
started with ``spawn``, never ``fork`` (the calling process may already run
threads: rensa's, onnxruntime's, and forking a threaded process can
deadlock), so a calling script must be import-safe (``if __name__ ==
"__main__":``), as for any multiprocessing. If the workers cannot run, the
remaining batches are done in this process with a warning: the results are
the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import warnings
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, TypeVar

B = TypeVar("B")


def _worker_init() -> None:
    # one process per core already: native thread pools (rensa's rayon) would only oversubscribe the cores
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _exit_with_parent()


def _exit_with_parent(every: float = 1.0) -> None:
    """Leave when the process that started this worker is gone.

    A pool's workers wait on a queue their parent feeds; if the parent is
    killed (SIGKILL, OOM) nothing tells them, and each would sit there
    holding its models (~300 MB) for good. A daemon thread watches the
    parent's pid and ends the worker once it changes.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="samestory-parent-watch", daemon=True).start()


def map_batches(fn: Callable[[B], Any], batches: Iterable[B], workers: int,
                local: Callable[[B], Any] | None = None, what: str = "worker",
                local_first: int = 0) -> Iterator[tuple[B, Any]]:
    """``(batch, fn(batch))`` for each batch, in order, computed in ``workers`` processes.

    ``fn`` must be a picklable module-level function. ``local`` (default
    ``fn``) is what runs in this process when the workers fail; ``what``
    names the work in that warning. ``local_first``: that many first batches
    are done in this process (by ``local``) while the workers start and take
    on the next ones, for a caller that would otherwise sit idle through the
    workers' start-up (a second or two of imports and model loading).
    """
    local = local or fn
    batches = iter(batches)
    head = list(islice(batches, local_first))
    pending: deque = deque()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_init) as pool:

            def fill() -> None:  # at most 2 * workers batches in flight
                while len(pending) < 2 * workers:
                    batch = next(batches, _END)
                    if batch is _END:
                        return
                    pending.append((batch, pool.submit(fn, batch)))

            fill()
            while head:
                batch = head.pop(0)
                yield batch, local(batch)
            while pending:
                batch, fut = pending[0]
                result = fut.result()
                pending.popleft()
                yield batch, result
                fill()
    except BrokenProcessPool as exc:
        # e.g. a calling script that is not import-safe: finish here
        warnings.warn(f"{what} processes failed ({exc}); continuing in this process", RuntimeWarning, stacklevel=2)
        for batch in head + [b for b, _ in pending] + list(batches):
            yield batch, local(batch)


_END = object()
