"""Bad input through every command, one subprocess each: exit status, seconds and peak memory.

Runs every file of ``tests/data/bad`` (see its README), plus three made here in a temporary
directory (a JSONL file whose second line is one 100 MB record, a 100 MB text file without a line
break, and a 4 MB page of 40,000 paragraphs, read with the default and with a 1 s
``--doc-timeout``), through ``samestory clean``, ``dedup``, ``cluster --store`` (a store already
holding ``tests/data/articles.jsonl``), ``compare --model fast`` (against a good article) and
``score-pairs --model fast``, and ``remove --ids`` (the file read as a list of ids to remove from that
store). A good file through the same commands is the baseline: most of a
command's memory is its models, not the input.

Each command is a fresh ``python -m samestory.cli`` process; its peak RSS is the kernel's
``ru_maxrss`` for that child alone (``os.wait4``). A run over ``--hang-after`` seconds is killed
and reported as a hang. A traceback on standard error, an exit status other than 0, 1 or 2, or a
hang is listed under "problems" and makes the bench exit 1.

    .venv/bin/python bench/bad_input.py                      # everything (about 6 minutes on 2 cores)
    .venv/bin/python bench/bad_input.py --commands clean,dedup --inputs nested.html,huge.jsonl
    .venv/bin/python bench/bad_input.py --json out/bad_input.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "bad"
GOOD = REPO / "tests" / "data" / "articles.jsonl"
COMMANDS = ("clean", "dedup", "cluster", "compare", "score-pairs", "remove")
GOOD_TEXT = ("Harbour crane collapses onto cargo ship\n\nA crane collapsed onto a cargo ship in Tollen harbour on Monday. "
             "No one was hurt, the port company said, and the quay will reopen within a week.\n")


def run(args: list[str], hang_after: float) -> dict:
    """One ``samestory`` process: exit status, wall seconds, peak RSS (MiB), first error line, traceback seen."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "samestory.cli", *args], stdout=out, stderr=err, env=env, cwd=REPO)
        killer = threading.Timer(hang_after, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        hung = not killer.is_alive() and seconds >= hang_after
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    errors = [line for line in stderr.splitlines() if line.startswith("samestory: error: ")]
    return {
        "exit": "hang" if hung else proc.returncode,
        "seconds": round(seconds, 2),
        "peak_mib": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "errors": len(errors),
        "first_error": errors[0][len("samestory: error: "):][:160] if errors else "",
        "traceback": "Traceback (most recent call last)" in stderr,
    }


def make_generated(home: Path) -> dict[str, Path]:
    """The inputs too big to commit, written in 1 MB pieces."""
    huge_jsonl, huge_txt, big_html = home / "huge.jsonl", home / "huge.txt", home / "big.html"
    good = json.dumps({"id": "before", "text": "The Skerra ferry will run with two boats from June to August, the county said."})
    piece = b"x" * (1 << 20)
    with open(huge_jsonl, "wb") as f:
        f.write(good.encode() + b'\n{"id": "huge", "text": "')
        for _ in range(100):
            f.write(piece)
        f.write(b'"}\n' + good.replace("before", "after").encode() + b"\n")
    with open(huge_txt, "wb") as f:
        for _ in range(100):
            f.write(b"word " * (1 << 18))
    paragraphs = "</p><p>".join(f"Paragraph {i} of a page that never ends, with words." for i in range(40_000))
    big_html.write_text(f"<html><head><title>Big</title></head><body><article><p>{paragraphs}</p></article></body></html>", encoding="utf-8")
    return {"huge.jsonl": huge_jsonl, "huge.txt": huge_txt, "big.html": big_html}


def command_args(command: str, path: Path, work: Path, template: Path, good_txt: Path, extra: list[str]) -> list[str]:
    out = str(work / "out.jsonl")
    if command == "clean":
        return ["clean", str(path), "-o", out, "-q", *extra]
    if command == "dedup":
        return ["dedup", str(path), "-o", out, "-q", *extra]
    if command == "cluster":
        store = work / "store"
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(template, store)
        return ["cluster", "--store", str(store), str(path), "-o", out, "-q", *extra]
    if command == "compare":
        return ["compare", "--model", "fast", str(path), str(good_txt), *extra]
    if command == "score-pairs":
        return ["score-pairs", "--model", "fast", str(path), "-o", out, "-q", *extra]
    if command == "remove":  # the file as a list of ids to remove (none of them stored, bar the good file's)
        store = work / "store"
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(template, store)
        return ["remove", "--store", str(store), "--ids", str(path)]
    raise ValueError(command)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commands", default=",".join(COMMANDS), help="comma-separated subset of " + ", ".join(COMMANDS))
    ap.add_argument("--inputs", default="", help="comma-separated file names (default: all, plus huge.jsonl, huge.txt, big.html)")
    ap.add_argument("--hang-after", type=float, default=300.0, help="seconds after which a run is killed and called a hang")
    ap.add_argument("--json", help="also write every run as JSON to this file")
    args = ap.parse_args()
    commands = [c for c in args.commands.split(",") if c]
    unknown = set(commands) - set(COMMANDS)
    if unknown:
        ap.error(f"unknown command(s): {', '.join(sorted(unknown))}")

    home = Path(tempfile.mkdtemp(prefix="samestory-bad-bench-"))
    try:
        inputs = {p.name: p for p in sorted(BAD.iterdir()) if p.name not in ("make_bad.py", "README.md")}
        wanted = [n for n in args.inputs.split(",") if n]
        if not wanted or {"huge.jsonl", "huge.txt", "big.html"} & set(wanted):
            inputs.update(make_generated(home))
        if wanted:
            inputs = {n: p for n, p in inputs.items() if n in wanted}
        good_txt = home / "good.txt"
        good_txt.write_text(GOOD_TEXT, encoding="utf-8")
        template = home / "template-store"
        base = run(["cluster", "--store", str(template), str(GOOD), "-o", str(home / "tpl.jsonl"), "-q"], args.hang_after)
        assert base["exit"] == 0, base

        cases: list[tuple[str, Path, list[str]]] = [("(good) articles.jsonl", GOOD, [])]
        for name, path in inputs.items():
            cases.append((name, path, []))
            if name == "big.html":
                cases.append(("big.html --doc-timeout 1", path, ["--doc-timeout", "1"]))
        rows = []
        for label, path, extra in cases:
            for command in commands:
                work = home / "work"
                work.mkdir(exist_ok=True)
                src = good_txt if command == "compare" and path == GOOD else path
                result = run(command_args(command, src, work, template, good_txt, extra), args.hang_after)
                rows.append({"input": label, "command": command, **result})
                print(f"{label:32} {command:12} exit {result['exit']!s:4} {result['seconds']:7.2f} s {result['peak_mib']:7.1f} MiB  "
                      f"{result['first_error'][:90]}", file=sys.stderr, flush=True)
                shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print(f"\nsamestory bad-input bench: {len(rows)} runs on {platform.node() or 'this machine'} "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}\n")
    print("Each cell: exit status, seconds, peak RSS of the process (MiB).\n")
    print("| input | " + " | ".join(commands) + " |")
    print("|---|" + "---|" * len(commands))
    by = {(r["input"], r["command"]): r for r in rows}
    for label, _, _ in cases:
        cells = []
        for command in commands:
            r = by[(label, command)]
            cells.append(f"{r['exit']} · {r['seconds']:.1f} s · {r['peak_mib']:.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nWorst case per command (the baseline is the good file):\n")
    print("| command | baseline | largest peak RSS | longest run |")
    print("|---|---|---|---|")
    for command in commands:
        mine = [r for r in rows if r["command"] == command]
        base_row = by[("(good) articles.jsonl", command)]
        rss = max(mine, key=lambda r: r["peak_mib"])
        slow = max(mine, key=lambda r: r["seconds"])
        print(f"| {command} | {base_row['seconds']:.1f} s, {base_row['peak_mib']:.0f} MiB | {rss['peak_mib']:.0f} MiB ({rss['input']}) "
              f"| {slow['seconds']:.1f} s ({slow['input']}) |")
    problems = [r for r in rows if r["traceback"] or r["exit"] not in (0, 1, 2)]
    print(f"\nproblems (traceback, hang, or exit status other than 0/1/2): {len(problems)}")
    for r in problems:
        print(f"  {r['input']} / {r['command']}: exit {r['exit']}, traceback {r['traceback']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
