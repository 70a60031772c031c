"""`tdxbot review` of a big mbox, as a whole process, against the parse-only
floor (reading every mail with the email package and parsing its diff with
unidiff into tdxbot's model; no rules, no assembly)
and against checkpatch.pl on each patch. Two inputs:

- series: one threaded 1,000-patch series of small snippets (the rules'
  own cases and the example series, 3.6 added lines a patch);
- threads: 1,000 unrelated one-patch threads of realistic size (20 to 200
  added lines of real TDX functions from Debian's linux-source-6.12, see
  tdx_threads.py), what `lei q` or a day of a list archive gives.

Prints, per input, the medians and the median of the per-round ratios with
their range (floor and review run in alternation, since run times on a
shared machine drift), on two cores and on one (`taskset -c 0`, the floor
pinned the same way), then peak memory at 1,000 and 10,000 threads. Goals:
<= 3x the floor on two cores, <= 4x on one, >= 20x faster than checkpatch,
< 300 MB at 10,000 messages. Peak memory is that of the largest process.

    python bench/mbox_speed.py [--runs 7] [--inputs series,threads] [--checkpatch-sample 100]
                               [--big 10000]

checkpatch takes about a third of a second a patch, so by default it runs on
an evenly spaced sample and the total is extrapolated (said in the output);
--checkpatch-sample 0 runs it on every patch.

The tree is byte-compiled first, as pip does on install: with
PYTHONDONTWRITEBYTECODE set, every run would otherwise compile the modules
again, which is start-up cost no installed copy pays.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from b4check_speed import fetch_checkpatch  # noqa: E402

# The floor, as this script has always measured it: every mail read by the
# email package and its diff parsed into tdxbot's model (unidiff checks it),
# no rules, no series assembly.
PARSE_ONLY = """
import sys
from tdxbot.mail.parse import patch_from_message
from tdxbot.mail.sources import parse_message, split_mbox
data = open(sys.argv[1], 'rb').read()
patches = [patch_from_message(parse_message(raw, 'bench'), 'bench') for raw in split_mbox(data)]
print(len(patches))
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of its largest process) for one run."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            raise SystemExit(f"{cmd[:6]} failed: {err.read().decode()[-800:]}")
    return took, usage.ru_maxrss / 1024


def review_cmd(mbox: str) -> list[str]:
    return [sys.executable, "-m", "tdxbot", "review", mbox, "--format", "json"]


def floor_cmd(mbox: str) -> list[str]:
    return [sys.executable, "-c", PARSE_ONLY, mbox]


ONE_CORE = ["taskset", "-c", "0"]


def make_input(name: str, n: int) -> bytes:
    if name == "series":
        from series_speed import make_series

        return make_series(n)
    from tdx_threads import make_threads

    return make_threads(n)


def checkpatch_time(checkpatch: str, data: bytes, sample_size: int, tmp: str) -> tuple[float, int, int]:
    """(extrapolated seconds for every patch, patches, sample size)."""
    from tdxbot.mail.sources import split_mbox

    raws = [r for r in split_mbox(data) if b"\ndiff --git " in r]
    step = 1 if sample_size <= 0 else max(1, len(raws) // sample_size)
    sample = raws[::step]
    t0 = time.perf_counter()
    for i, raw in enumerate(sample):
        path = os.path.join(tmp, f"{i:04d}.patch")
        with open(path, "wb") as fh:
            fh.write(raw)
        subprocess.run(["perl", checkpatch, "-q", "--terse", "--no-tree", path], capture_output=True)
    return (time.perf_counter() - t0) * len(raws) / len(sample), len(raws), len(sample)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x (range {min(values):.2f}-{max(values):.2f})"


def bench_input(name: str, args, checkpatch: str, tmp: str) -> bool:
    data = make_input(name, args.patches)
    mbox = os.path.join(tmp, f"{name}.mbox")
    with open(mbox, "wb") as fh:
        fh.write(data)
    one_core = shutil.which("taskset") is not None
    rows: dict[str, list[float]] = {"floor": [], "review": [], "floor1": [], "review1": []}
    peak = {"floor": 0.0, "review": 0.0, "review1": 0.0}
    timed(review_cmd(mbox))  # warm the page cache and the byte code
    for _ in range(args.runs):
        for key, cmd in (("floor", floor_cmd(mbox)), ("review", review_cmd(mbox))) + (
                (("floor1", ONE_CORE + floor_cmd(mbox)), ("review1", ONE_CORE + review_cmd(mbox)))
                if one_core else ()):
            t, mb = timed(cmd)
            rows[key].append(t)
            if key in peak:
                peak[key] = max(peak[key], mb)
    two = [r / f for r, f in zip(rows["review"], rows["floor"])]
    one = [r / f for r, f in zip(rows["review1"], rows["floor1"])]
    peer, patches, sampled = checkpatch_time(checkpatch, data, args.checkpatch_sample, tmp)
    ours = statistics.median(rows["review"])
    added = data.count(b"\n+") - data.count(b"\n+++ ")
    shape = "patches in one thread" if name == "series" else "one-patch threads"
    print(f"\n== {name}: {args.patches} {shape}, {len(data) >> 10} KiB, {added} added lines ==")
    print(f"{'case':<40} {'median s':>9} {'range s':>12} {'peak MB':>8}")
    for key, label in (("floor", "parse only (mail + unidiff)"), ("review", "tdxbot review, two cores"),
                       ("floor1", "parse only, one core"), ("review1", "tdxbot review, one core")):
        if rows[key]:
            mb = f"{peak[key]:>8.0f}" if key in peak else f"{'':>8}"
            print(f"{label:<40} {statistics.median(rows[key]):>9.2f} "
                  f"{min(rows[key]):>5.2f}-{max(rows[key]):<6.2f} {mb}")
    extra = "" if sampled == patches else f", sample of {sampled} extrapolated x{patches / sampled:.0f}"
    print(f"{'checkpatch.pl on each patch' + extra:<40} {peer:>9.2f}")
    print(f"speed-up over checkpatch: {peer / ours:.1f}x (goal >= 20x)")
    print(f"review / floor, two cores: {spread(two)} over {args.runs} interleaved rounds (goal <= 3x)")
    ok = peer / ours >= 20 and statistics.median(two) <= 3
    if one:
        print(f"review / floor, one core:  {spread(one)} over {args.runs} interleaved rounds (goal <= 4x)")
        ok = ok and statistics.median(one) <= 4
    return ok


def bench_memory(n: int, tmp: str) -> tuple[float, float]:
    """Peak MB of the review on two cores and on one, n one-patch threads."""
    from tdx_threads import make_threads

    mbox = os.path.join(tmp, f"threads-{n}.mbox")
    with open(mbox, "wb") as fh:
        fh.write(make_threads(n))
    two = timed(review_cmd(mbox))[1]
    one = timed(ONE_CORE + review_cmd(mbox))[1] if shutil.which("taskset") else float("nan")
    return two, one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--inputs", default="series,threads", help="comma-separated: series, threads")
    ap.add_argument("--checkpatch", help="path to scripts/checkpatch.pl")
    ap.add_argument("--checkpatch-sample", type=int, default=100)
    ap.add_argument("--big", type=int, default=10000, help="threads for the memory run (0: skip)")
    args = ap.parse_args()
    checkpatch = args.checkpatch or fetch_checkpatch()
    import compileall

    for package in ("bot", "rules"):
        compileall.compile_dir(os.path.join(ROOT, package), quiet=1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.inputs.split(","):
            ok = bench_input(name.strip(), args, checkpatch, tmp) and ok
        print("\n== peak memory, one-patch threads (largest process) ==")
        sizes = [args.patches] + ([args.big] if args.big else [])
        for n in sizes:
            two, one = bench_memory(n, tmp)
            print(f"{n:>6} messages: {two:.0f} MB on two cores, {one:.0f} MB on one (goal < 300 MB)")
            ok = ok and max(two, one) < 300
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"goals: {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
