"""A 1,000-patch mbox: `tdxbot review` as a whole process against running
checkpatch.pl on each patch, and against the parse-only floor (reading the
mbox and parsing every diff, no rules). Prints the table, the ratios and
peak memory (goals: >= 20x faster than checkpatch, <= 3x the floor,
< 300 MB). The floor and the review run in alternation and the ratio is the
median of the per-round ratios, since run times on a shared machine drift.
Peak memory is that of the largest process; for a big mbox the review forks
one child for b4, which shares the parent's pages.

    python bench/mbox_speed.py [--patches 1000] [--checkpatch-sample 100]

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
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from b4check_speed import fetch_checkpatch  # noqa: E402
from series_speed import make_series  # noqa: E402

PARSE_ONLY = """
import sys
from tdxbot.mailparse import patch_from_message
from tdxbot.sources import parse_message, split_mbox
data = open(sys.argv[1], 'rb').read()
patches = [patch_from_message(parse_message(raw, 'bench'), 'bench') for raw in split_mbox(data)]
print(len(patches))
"""


def timed(cmd: list[str], env=None) -> tuple[float, float]:
    """(seconds, peak RSS in MB of its largest process) for one run."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            err.seek(0)
            raise SystemExit(f"{cmd[:4]} failed: {err.read().decode()[-500:]}")
    return took, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--checkpatch", help="path to scripts/checkpatch.pl")
    ap.add_argument("--checkpatch-sample", type=int, default=100)
    args = ap.parse_args()
    checkpatch = args.checkpatch or fetch_checkpatch()
    data = make_series(args.patches)
    env = dict(os.environ)
    import compileall

    for package in ("bot", "rules"):
        compileall.compile_dir(os.path.join(ROOT, package), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        mbox = os.path.join(tmp, "series.mbox")
        with open(mbox, "wb") as fh:
            fh.write(data)
        # Interleaved, one of each per round, and compared round by round: run
        # times on a shared machine drift by a third within minutes.
        floors, reviews, floor_mb, ours_mb = [], [], 0.0, 0.0
        for _ in range(args.runs):
            t, mb = timed([sys.executable, "-c", PARSE_ONLY.format(root=ROOT), mbox], env)
            floors.append(t)
            floor_mb = max(floor_mb, mb)
            t, mb = timed([sys.executable, "-m", "tdxbot", "review", mbox, "--format", "json"], env)
            reviews.append(t)
            ours_mb = max(ours_mb, mb)
        floor, ours = statistics.median(floors), statistics.median(reviews)
        ratio = statistics.median(r / f for r, f in zip(reviews, floors))
        from tdxbot.sources import split_mbox

        raws = split_mbox(data)[1:]  # the patches, without the cover letter
        step = 1 if args.checkpatch_sample <= 0 else max(1, len(raws) // args.checkpatch_sample)
        sample = raws[::step]
        t0 = time.perf_counter()
        for i, raw in enumerate(sample):
            path = os.path.join(tmp, f"{i:04d}.patch")
            with open(path, "wb") as fh:
                fh.write(raw)
            subprocess.run(["perl", checkpatch, "-q", "--terse", "--no-tree", path], capture_output=True)
        peer = (time.perf_counter() - t0) * len(raws) / len(sample)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"mbox: {args.patches} patches, {len(data) >> 10} KiB; checkpatch run on {len(sample)} of them"
          + ("" if len(sample) == len(raws) else f", total extrapolated x{len(raws) / len(sample):.0f}"))
    print(f"{'case':<36} {'median s':>9} {'peak MB':>8}")
    print(f"{'parse only (mail + unidiff)':<36} {floor:>9.2f} {floor_mb:>8.0f}")
    print(f"{'tdxbot review (all rules)':<36} {ours:>9.2f} {ours_mb:>8.0f}")
    print(f"{'checkpatch.pl on each patch':<36} {peer:>9.2f} {'':>8}")
    print(f"speed-up over checkpatch: {peer / ours:.1f}x (goal >= 20x)")
    print(f"tdxbot / parse-only floor: {ratio:.2f}x, median of {args.runs} interleaved rounds "
          f"(range {min(r / f for r, f in zip(reviews, floors)):.2f}-"
          f"{max(r / f for r, f in zip(reviews, floors)):.2f}) (goal <= 3x)")
    print(f"peak memory: {ours_mb:.0f} MB (goal < 300 MB)")
    ok = peer / ours >= 20 and ratio <= 3 and ours_mb < 300
    print(f"goals: {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
