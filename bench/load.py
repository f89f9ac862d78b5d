"""Load: ``samestory serve`` on a free 127.0.0.1 port driven by 50 concurrent clients, then reads during a large upload.

1. **Mixed load**: ``--clients`` threads (default 50), each doing up to
   ``--requests`` requests (default 40) until ``--seconds`` (default 60) pass:
   20% POST /api/articles (a JSON batch of 5 articles made from the GVA text
   in ``../shared/data/stories/gva``), 50% GET /api/stories (a random page),
   30% GET /api/stories/{id} (a story seen so far). Printed: throughput,
   p50/p99 latency per endpoint, error count (any non-2xx or failed request).
2. **Reads during a large upload**: one POST of ``--upload`` articles (default
   2,000, one JSONL body) while 5 clients read /api/health and /api/stories:
   read p50/p99/max latency during the upload and the upload's time.

Also printed: peak RSS of the server process (VmHWM) and the load average.
Everything is bounded in count and time and talks to 127.0.0.1 only.

    .venv/bin/python bench/load.py [--clients 50] [--requests 40] [--seconds 60] [--upload 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
GVA = ROOT.parent / "shared" / "data" / "stories" / "gva" / "articles.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Texts:
    def __init__(self, seed: int):
        self.rows = [json.loads(line) for line in GVA.open(encoding="utf-8")]
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.n = 0

    def batch(self, k: int, tag: str) -> list[dict]:
        out = []
        with self.lock:
            for _ in range(k):
                r = self.rows[self.rng.randrange(len(self.rows))]
                self.n += 1
                out.append({"id": f"{tag}-{self.n}", "title": r.get("title"), "text": r["text"][:3000], "date": r.get("date"),
                            "lang": "en", "source": r.get("source")})
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=40, help="most requests a client makes")
    ap.add_argument("--seconds", type=float, default=60.0, help="most time the mixed load runs")
    ap.add_argument("--upload", type=int, default=2000, help="articles in the large upload")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    texts = Texts(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="samestory-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", "from samestory.cli import main; main()", "serve", "--store", str(tmp / "store"),
                               "--host", "127.0.0.1", "--port", str(port), "--max-body", "64"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(timeout=300) as c:  # seed stories (and load the models) before timing
            r = c.post(base + "/api/articles", json=texts.batch(200, "seed"))
            r.raise_for_status()
        story_ids = sorted({a["story"] for a in r.json()["articles"]})
        ids_lock = threading.Lock()

        # 1. mixed load
        lat: dict[str, list[float]] = {"POST /api/articles": [], "GET /api/stories": [], "GET /api/stories/{id}": []}
        errors: list[str] = []
        deadline = time.monotonic() + args.seconds
        barrier = threading.Barrier(args.clients)

        def client(i: int) -> None:
            rng = random.Random(args.seed * 1000 + i)
            with httpx.Client(base_url=base, timeout=120) as c:
                barrier.wait()
                for _ in range(args.requests):
                    if time.monotonic() > deadline:
                        break
                    x = rng.random()
                    t0 = time.perf_counter()
                    try:
                        if x < 0.2:
                            key = "POST /api/articles"
                            r = c.post("/api/articles", json=texts.batch(5, f"c{i}"))
                            if r.status_code == 200:
                                with ids_lock:
                                    story_ids.extend(a["story"] for a in r.json()["articles"])
                        elif x < 0.7:
                            key = "GET /api/stories"
                            r = c.get("/api/stories", params={"page": rng.randint(1, 5), "sort": rng.choice(["newest", "biggest"])})
                        else:
                            key = "GET /api/stories/{id}"
                            with ids_lock:
                                sid = rng.choice(story_ids)
                            r = c.get(f"/api/stories/{sid}")
                        dt = time.perf_counter() - t0
                        if r.status_code != 200:
                            errors.append(f"{key}: {r.status_code} {r.text[:100]}")
                        else:
                            lat[key].append(dt)
                    except httpx.HTTPError as exc:
                        errors.append(f"{type(exc).__name__}: {exc}")

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        done = sum(len(v) for v in lat.values())
        print(f"mixed load: {args.clients} clients, {done + len(errors)} requests in {wall:.1f} s: {done / wall:.1f} requests/s, "
              f"{len(errors)} errors")
        for key, v in lat.items():
            print(f"  {key:24s} {len(v):5d} requests  p50 {pct(v, 50) * 1000:7.0f} ms  p99 {pct(v, 99) * 1000:7.0f} ms  "
                  f"max {max(v, default=float('nan')) * 1000:7.0f} ms")
        for e in errors[:10]:
            print("  error:", e)

        # 2. reads while a large upload is ingested
        body = "".join(json.dumps(r) + "\n" for r in texts.batch(args.upload, "big")).encode()
        reads: list[float] = []
        read_errors: list[str] = []
        uploading = threading.Event()
        upload_done = threading.Event()
        up: dict = {}

        def upload() -> None:
            with httpx.Client(timeout=1200) as c:
                uploading.set()
                t = time.perf_counter()
                r = c.post(base + "/api/articles", params={"filename": "big.jsonl", "format": "jsonl"}, content=body,
                           headers={"Content-Type": "application/octet-stream"})
                up.update(status=r.status_code, seconds=time.perf_counter() - t, added=r.json().get("added"))
            upload_done.set()

        def reader(i: int) -> None:
            uploading.wait()
            with httpx.Client(base_url=base, timeout=1200) as c:
                while not upload_done.is_set():
                    t = time.perf_counter()
                    try:
                        r = c.get("/api/health" if i % 2 else "/api/stories")
                        if r.status_code == 200:
                            reads.append(time.perf_counter() - t)  # started during the upload: counted, however long it waited
                        else:
                            read_errors.append(str(r.status_code))
                    except httpx.HTTPError as exc:
                        read_errors.append(type(exc).__name__)
                    time.sleep(0.05)

        ts = [threading.Thread(target=upload)] + [threading.Thread(target=reader, args=(i,)) for i in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print(f"large upload: {args.upload} articles ({len(body) / 2**20:.1f} MiB) in {up.get('seconds', float('nan')):.1f} s, "
              f"status {up.get('status')}, added {up.get('added')}")
        print(f"  reads during it: {len(reads)}  p50 {pct(reads, 50) * 1000:.0f} ms  p99 {pct(reads, 99) * 1000:.0f} ms  "
              f"max {max(reads, default=float('nan')) * 1000:.0f} ms  errors {len(read_errors)}")
        print(f"server peak RSS: {peak_rss_mib(server.pid):.0f} MiB")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
