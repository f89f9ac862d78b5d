"""Shared fixtures: where the repo's test data and the shared examples live."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SHARED = Path(os.environ.get("SAMESTORY_SHARED", REPO.parent / "shared"))
EXAMPLES = SHARED / "examples"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def examples() -> list[Path]:
    """The two outlets' versions of the November 2019 report (../shared/examples)."""
    files = sorted(EXAMPLES.glob("*.txt"))
    assert len(files) == 2, f"expected the two example articles in {EXAMPLES}"
    return files


def block_network(mp: pytest.MonkeyPatch) -> None:
    """Make any connection or name lookup fail. The socket class itself stays: libraries subclass it on import."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket.socket, "connect_ex", refuse)
    mp.setattr(socket, "create_connection", refuse)
    mp.setattr(socket, "getaddrinfo", refuse)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_in_thread(app):
    """Run an ASGI app with uvicorn on a free localhost port in a thread, ready: (base url, server, thread).
    Stop it with ``server.should_exit = True; thread.join()``."""
    import threading
    import time
    import urllib.request

    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/api/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return base, srv, thread
