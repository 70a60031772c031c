"""A 1,000-patch mbox: `tdxbot review` as a whole process against running
checkpatch.pl on each patch, and against the parse-only floor (reading the
mbox and parsing every diff, no rules). Prints the table, the ratios and
peak memory (goals: >= 20x faster than checkpatch, <= 3x the floor,
< 300 MB).

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
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from b4check_speed import fetch_checkpatch  # noqa: E402
from series_speed import make_series  # noqa: E402

PARSE_ONLY = """
import sys
sys.path.insert(0, {root!r})
from bot.mailparse import patch_from_message
from bot.sources import parse_message, split_mbox
data = open(sys.argv[1], 'rb').read()
patches = [patch_from_message(parse_message(raw, 'bench'), 'bench') for raw in split_mbox(data)]
print(len(patches))
"""


def timed(cmd: list[str], runs: int, env=None) -> tuple[float, float]:
    """(median seconds, peak RSS MB of the runs)."""
    times, peak = [], 0.0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
        if res.returncode not in (0, 1):
            raise SystemExit(f"{cmd[:4]} failed: {res.stderr.decode()[-500:]}")
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return statistics.median(times), peak / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--checkpatch", help="path to scripts/checkpatch.pl")
    ap.add_argument("--checkpatch-sample", type=int, default=100)
    args = ap.parse_args()
    checkpatch = args.checkpatch or fetch_checkpatch()
    data = make_series(args.patches)
    env = dict(os.environ, PYTHONPATH=ROOT)
    import compileall

    for package in ("bot", "rules"):
        compileall.compile_dir(os.path.join(ROOT, package), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        mbox = os.path.join(tmp, "series.mbox")
        with open(mbox, "wb") as fh:
            fh.write(data)
        floor, floor_mb = timed([sys.executable, "-c", PARSE_ONLY.format(root=ROOT), mbox], args.runs, env)
        ours, ours_mb = timed([sys.executable, "-m", "bot", "review", mbox, "--format", "json"], args.runs, env)
        from bot.sources import split_mbox

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
    print(f"{'case':<36} {'seconds':>9} {'peak MB':>8}")
    print(f"{'parse only (mail + unidiff)':<36} {floor:>9.2f} {floor_mb:>8.0f}")
    print(f"{'tdxbot review (all rules)':<36} {ours:>9.2f} {ours_mb:>8.0f}")
    print(f"{'checkpatch.pl on each patch':<36} {peer:>9.2f} {'':>8}")
    print(f"speed-up over checkpatch: {peer / ours:.1f}x (goal >= 20x)")
    print(f"tdxbot / parse-only floor: {ours / floor:.2f}x (goal <= 3x)")
    print(f"peak memory: {ours_mb:.0f} MB (goal < 300 MB)")
    ok = peer / ours >= 20 and ours / floor <= 3 and ours_mb < 300
    print(f"goals: {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
