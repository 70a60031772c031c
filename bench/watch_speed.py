"""Responder scale: a 5,000-message backlog (300 TDX series, other series,
replies) through `tdxbot watch --once`, then the delay from a message
landing in the archive to its draft under `watch --interval 1`.
Prints times, peak memory and whether the goals hold (backlog under 2
minutes on one core, a new message drafted within 3 seconds).

    python bench/watch_speed.py [--messages 5000] [--tdx-series 300]

The archive is a public-inbox v2 epoch in public-inbox's layout (one
commit per message, the mail in blob `m`), written with git fast-import:
public-inbox-mda takes about a quarter of a second per message, which
would turn setting up the benchmark into the benchmark.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests"))

from mails import patch_mail, plain_mail  # noqa: E402

TDX_CODE = [
    "\tif (err == TDX_OPERAND_BUSY)\n\t\treturn -EBUSY;",
    "\tdo {\n\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);\n\t} while (ret == TDX_SYS_BUSY);",
    "\tif (ret & TDX_SW_ERROR)\n\t\treturn -ENODEV;",
    "\tu64 err = seamcall(TDH_MEM_TRACK, &args);\n\n\tif (TDX_BUG_ON(err, TDH_MEM_TRACK, kvm))\n\t\treturn;",
]
TDX_PATHS = ["arch/x86/virt/vmx/tdx/tdx.c", "arch/x86/kvm/vmx/tdx.c", "arch/x86/coco/tdx/tdx.c"]
OTHER_PATHS = ["mm/page_alloc.c", "net/core/dev.c", "drivers/gpu/drm/drm_gem.c", "fs/ext4/inode.c"]


def backlog(total: int, tdx_series: int, rng: random.Random) -> list[bytes]:
    mails: list[bytes] = []
    patch_ids: list[str] = []

    def series(n: int, tdx: bool) -> None:
        sid = len(mails)
        cover = f"s{sid}-0@bench.example.org"
        prefix = "x86/virt/tdx" if tdx else "mm"
        mails.append(plain_mail(f"[PATCH 0/{n}] {prefix}: Series {sid}", cover, "Cover letter.",
                                author="Alice Example <alice@example.org>").encode())
        for i in range(1, n + 1):
            msgid = f"s{sid}-{i}@bench.example.org"
            path = rng.choice(TDX_PATHS if tdx else OTHER_PATHS)
            code = rng.choice(TDX_CODE) if tdx else "\treturn 0;"
            mails.append(patch_mail(f"[PATCH {i}/{n}] {prefix}: Part {i}", msgid, in_reply_to=cover,
                                    path=path, code=code, changelog=f"Add part {i} of series {sid}.").encode())
            patch_ids.append(msgid)

    for _ in range(tdx_series):
        series(rng.randint(2, 4), True)
    while len(mails) < total * 0.55:
        series(rng.randint(1, 4), False)
    while len(mails) < total:
        parent = rng.choice(patch_ids)
        mails.append(plain_mail(f"Re: part {len(mails)}", f"r{len(mails)}@bench.example.org",
                                "> quoted\n\nLooks good to me.", in_reply_to=parent).encode())
    return mails[:total]


def fast_import(epoch: str, mails: list[bytes], start_mark: str | None = None) -> None:
    """Append one commit per mail to refs/heads/master of a bare epoch repo."""
    if not os.path.isdir(epoch):
        subprocess.run(["git", "init", "-q", "--bare", epoch], check=True)
    chunks = []
    when = int(time.time())
    for i, raw in enumerate(mails):
        chunks.append(b"blob\nmark :%d\ndata %d\n%s\n" % (2 * i + 1, len(raw), raw))
        msg = b"message %d\n" % i
        chunks.append(b"commit refs/heads/master\nmark :%d\ncommitter bench <bench@example.org> %d +0000\n"
                      b"data %d\n%s" % (2 * i + 2, when, len(msg), msg))
        if i == 0 and start_mark:
            chunks.append(b"from %s\n" % start_mark.encode())
        chunks.append(b"M 100644 :%d m\n\n" % (2 * i + 1))
    subprocess.run(["git", "fast-import", "--quiet"], input=b"".join(chunks), cwd=epoch, check=True)


def head(epoch: str) -> str:
    return subprocess.run(["git", "rev-parse", "refs/heads/master"], cwd=epoch, capture_output=True,
                          text=True, check=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--tdx-series", type=int, default=300)
    ap.add_argument("--latency-runs", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(5000)
    with tempfile.TemporaryDirectory() as tmp:
        inbox = os.path.join(tmp, "inbox")
        epoch = os.path.join(inbox, "git", "0.git")
        mails = backlog(args.messages, args.tdx_series, rng)
        fast_import(epoch, mails)
        env = dict(os.environ, HOME=tmp, GIT_CONFIG_NOSYSTEM="1")
        base = [sys.executable, "-m", "tdxbot", "watch", "--inbox", inbox, "--state",
                os.path.join(tmp, "state.sqlite3"), "--from", "Bench <bench@example.org>",
                "--settle", "0", "--drafts", os.path.join(tmp, "drafts")]
        t0 = time.perf_counter()
        # --backlog: a first run otherwise starts at the archive's tip (issue 12)
        res = subprocess.run(base + ["--once", "--backlog"], env=env, capture_output=True)
        backlog_s = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if res.returncode != 0:
            print(res.stderr.decode()[-2000:])
            return 1
        drafts = len(os.listdir(os.path.join(tmp, "drafts", "new")))
        log = res.stderr.decode()
        reviewed = log.count(" reviewed ")
        skipped = log.count(" skipped ")
        if not reviewed or not drafts:
            print(f"the backlog run reviewed {reviewed} series and wrote {drafts} drafts: "
                  "nothing was measured", file=sys.stderr)
            return 1

        # Latency: a watcher polling every second, one new TDX patch at a time.
        proc = subprocess.Popen(base + ["--interval", "1"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        delays = []
        try:
            time.sleep(3)  # let it start and find nothing new
            for i in range(args.latency_runs):
                before = set(os.listdir(os.path.join(tmp, "drafts", "new")))
                mail = patch_mail("[PATCH] x86/virt/tdx: Late fix", f"late-{i}@bench.example.org",
                                  code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;").encode()
                t0 = time.perf_counter()
                fast_import(epoch, [mail], start_mark=head(epoch))
                while set(os.listdir(os.path.join(tmp, "drafts", "new"))) == before:
                    if time.perf_counter() - t0 > 30:
                        break
                    time.sleep(0.02)
                delays.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(30)
    delays.sort()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()} "
          "(tdxbot uses one core)")
    print(f"backlog: {args.messages} messages, {args.tdx_series} TDX series; {reviewed} series reviewed, "
          f"{skipped} skipped, {drafts} drafts")
    print(f"{'case':<40} {'value':>10} {'goal':>10}")
    print(f"{'backlog, watch --once':<40} {backlog_s:>9.1f}s {'< 120s':>10}")
    print(f"{'peak memory (RSS)':<40} {peak_mb:>8.0f}MB {'':>10}")
    print(f"{'new message -> draft, median':<40} {delays[len(delays) // 2]:>9.2f}s {'< 3s':>10}")
    print(f"{'new message -> draft, worst':<40} {delays[-1]:>9.2f}s {'< 3s':>10}")
    ok = backlog_s < 120 and delays[-1] < 3
    print(f"goals: {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
