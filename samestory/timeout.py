"""A time limit per document, so one pathological page cannot stall a batch.

:func:`run_with_time_limit` runs one unit of work (extracting one page,
reading one record, cleaning one article) and raises
:class:`TimeLimitExceeded` when it takes longer than its limit; the callers
turn that into an :class:`~samestory.errors.InputError` naming the document,
and the batch goes on with the next one.

How the work is stopped:

- **Main thread, POSIX** (the command line): a real-time interval timer
  (``signal.setitimer``) whose SIGALRM handler raises :class:`DocumentTimeout`
  in the running code. Python runs signal handlers between bytecodes, and
  regular-expression matching checks for signals too, so a runaway regex is
  stopped as well. Used only when no one else has a SIGALRM handler or a
  real-time timer running; otherwise the watchdog below is used.
- **Other threads and Windows** (the HTTP service runs requests in worker
  threads): one watchdog thread per process asks the interpreter to raise
  :class:`DocumentTimeout` in the late thread (``PyThreadState_SetAsyncExc``).
  That exception is delivered only while the thread runs Python bytecode,
  and regular expressions do not notice it.

Limits of both: a single long call into C code (lxml parsing one huge page,
in a worker thread a regex) is stopped only when it returns to Python, so
the limit is when the work is *asked* to stop, not a hard ceiling on CPU
time; the size limits (``--max-bytes``) bound how long such calls can be.
The exception can land anywhere inside a library: it derives from
BaseException so that ``except Exception`` in library code does not swallow
it, and the timer fires again each second until the work gives up. Nothing
is killed: a thread cannot be, and a process per document would cost more
than the extraction. Where neither mechanism exists (no ``ctypes.pythonapi``,
e.g. PyPy, off the main thread) the work runs without a limit.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable, TypeVar

from .errors import SamestoryError

#: The default limit of the command line and the HTTP service, in seconds.
DEFAULT_SECONDS = 30.0
#: After the limit, the timer fires again this often until the work stops.
_REPEAT = 1.0

T = TypeVar("T")


class DocumentTimeout(BaseException):
    """Raised inside work that overran its time limit (BaseException: library ``except Exception`` lets it through)."""


class TimeLimitExceeded(SamestoryError):
    """One document's work took longer than its limit."""

    def __init__(self, seconds: float, what: str = "extraction"):
        self.seconds, self.what = seconds, what
        super().__init__(f"{what} took longer than {seconds:g} s; skipped (raise the limit with --doc-timeout)")

    def __reduce__(self):
        return (type(self), (self.seconds, self.what))


class _Limit:
    __slots__ = ("seconds", "thread_id", "next_fire", "fired", "active", "by_signal")

    def __init__(self, seconds: float, by_signal: bool):
        self.seconds = seconds
        self.thread_id = threading.get_ident()
        self.next_fire = time.monotonic() + seconds
        self.fired = False
        self.active = True
        self.by_signal = by_signal


_local = threading.local()


def run_with_time_limit(seconds: float | None, fn: Callable[..., T], *args: Any, what: str = "extraction", **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, stopped with :class:`TimeLimitExceeded` after ``seconds``.

    ``seconds`` None or 0: no limit. Inside another limit of the same thread
    the call just runs (the outer limit bounds it). If the limit fires, the
    call counts as timed out even if a library swallowed the exception and
    finished (its result may be partial).
    """
    if not seconds or seconds <= 0 or getattr(_local, "limit", None) is not None:
        return fn(*args, **kwargs)
    try:
        if _start(seconds) is None:
            return fn(*args, **kwargs)
        result = fn(*args, **kwargs)
    except BaseException:
        limit = getattr(_local, "limit", None)  # set before the timer starts: a tiny limit may fire inside _start
        if limit is None:
            raise
        _stop(limit)
        if limit.fired:
            raise TimeLimitExceeded(seconds, what) from None
        raise
    limit = _local.limit
    try:
        _stop(limit)
    except DocumentTimeout:  # fired in the instant the work ended
        _stop(limit)
    if limit.fired:
        raise TimeLimitExceeded(seconds, what)
    return result


# --- the two mechanisms -------------------------------------------------------------------------


def _start(seconds: float) -> _Limit | None:
    if _signal_usable():
        limit = _Limit(seconds, by_signal=True)
        _local.limit = limit
        if signal.getsignal(signal.SIGALRM) is not _on_alarm:
            signal.signal(signal.SIGALRM, _on_alarm)
        # repeats a second apart whatever the limit: a tiny limit repeating as often as itself would
        # raise again inside the caller's cleanup, and escape it
        signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT)
        return limit
    if _set_async_exc is None:
        return None
    limit = _Limit(seconds, by_signal=False)
    _local.limit = limit
    _watchdog.add(limit)
    return limit


def _stop(limit: _Limit) -> None:
    limit.active = False
    if limit.by_signal:
        signal.setitimer(signal.ITIMER_REAL, 0)
    else:
        _watchdog.remove(limit)
    _local.limit = None


def _signal_usable() -> bool:
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return False
    try:
        handler = signal.getsignal(signal.SIGALRM)
        if handler is _on_alarm:
            return True
        # Someone else's alarm (a handler of their own, or a timer running): leave it alone.
        return handler in (signal.SIG_DFL, None) and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    except (ValueError, OSError):
        return False


def _on_alarm(signum, frame) -> None:
    limit = getattr(_local, "limit", None)
    if limit is not None and limit.active:
        limit.fired = True
        raise DocumentTimeout()


def _make_setter():
    try:
        import ctypes

        api = ctypes.pythonapi
    except (ImportError, AttributeError):  # pragma: no cover - PyPy and the like
        return None

    def set_async_exc(thread_id: int, exc: type | None) -> None:
        # exc None: clear a pending exception (NULL), else raise exc in that thread at its next bytecode.
        api.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)

    return set_async_exc


_set_async_exc = _make_setter()


class _Watchdog:
    """One daemon thread raising DocumentTimeout in threads whose limit has passed."""

    def __init__(self):
        self._cond = threading.Condition()
        self._limits: set[_Limit] = set()
        self._thread: threading.Thread | None = None

    def add(self, limit: _Limit) -> None:
        with self._cond:
            self._limits.add(limit)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="samestory-doc-timeout", daemon=True)
                self._thread.start()
            self._cond.notify()

    def remove(self, limit: _Limit) -> None:
        with self._cond:
            limit.active = False
            self._limits.discard(limit)
            if limit.fired:  # not delivered yet? then never
                _set_async_exc(limit.thread_id, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for limit in self._limits:
                    if limit.active and now >= limit.next_fire:
                        limit.fired = True
                        limit.next_fire = now + _REPEAT
                        _set_async_exc(limit.thread_id, DocumentTimeout)
                wake = min((limit.next_fire for limit in self._limits), default=None)
                self._cond.wait(None if wake is None else max(0.0, wake - time.monotonic()))


_watchdog = _Watchdog()

__all__ = ["DEFAULT_SECONDS", "DocumentTimeout", "TimeLimitExceeded", "run_with_time_limit"]
