"""Start-up cost of the b4 check command: whole-process time of
`tdxbot b4-check` against `checkpatch.pl -q --terse --no-tree` on the same
patch, in interleaved rounds. Prints medians, the ratio and its range
(goal: <= 0.25, issue 23) for three cases: a call that finds the resident
worker running (what b4's second and later patches see, bot/resident.py),
the first call (no worker: it checks the patch itself and starts one), and
a call with the worker turned off (TDXBOT_B4_SERVER=0). The worker is this
benchmark's own, in a temporary XDG_RUNTIME_DIR, stopped at the end.

    python bench/b4check_speed.py [--runs 21] [--checkpatch PATH] [--patch FILE]
                                  [--instructions]

--instructions also counts the instructions each command executes, under
valgrind's cachegrind: a measure a busy machine does not move, for
comparing two versions (time is what the goal is set in).

The patch is the seed patch (../shared/seeds, patch 3/5 of the
TDH.SYS.DISABLE series, 6 KB) when that folder is there, else a 70-line
patch cut from the bundled example series. The compiled-pattern cache
(see tdxbot.common.lazyre) is warmed by the first rounds, as it is after a
user's first b4 run.

checkpatch.pl comes from Debian's linux-source package, downloaded by this
script unless --checkpatch is given. tdxbot is run as installed (the
`tdxbot` script beside this Python), the way b4 starts it.
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
CHECKPATCH_FILES = ("scripts/checkpatch.pl", "scripts/spelling.txt", "scripts/const_structs.checkpatch")


def fetch_checkpatch() -> str:
    from linux_source import PACKAGE, fetch

    root = fetch(PACKAGE + "-scripts", lambda rel: rel in CHECKPATCH_FILES)
    return os.path.join(root, "scripts", "checkpatch.pl")


def sample_patch() -> bytes:
    """A 70-line patch mail: patch 2/4 of the bundled example series with
    its asm/tdx.h and tdx.h hunks left out (headers, changelog, the
    tdx.c hunk with its loop, comments and error handling)."""
    from tdxbot.mail.sources import split_mbox

    with open(os.path.join(ROOT, "fixtures", "example-series.mbox"), "rb") as fh:
        mail = split_mbox(fh.read())[2].decode()
    head, rest = mail.split("diff --git", 1)
    files = ["diff --git" + part for part in rest.split("diff --git")]
    keep = [f for f in files if f.startswith("diff --git a/arch/x86/virt/vmx/tdx/tdx.c")]
    text = head + "".join(keep)
    lines = text.split("\n")
    # Cut the tdx.c hunk's tail so the mail is 70 lines; fix the hunk header.
    hunk = next(i for i, ln in enumerate(lines) if ln.startswith("@@ "))
    lines = lines[:70]
    added = sum(1 for ln in lines[hunk + 1:] if ln.startswith("+"))
    context = sum(1 for ln in lines[hunk + 1:] if ln.startswith(" "))
    old_start = lines[hunk].split()[1].split(",")[0]
    new_start = lines[hunk].split()[2].split(",")[0]
    lines[hunk] = f"@@ {old_start},{context} {new_start},{context + added} @@"
    return ("\n".join(lines) + "\n").encode()


def seed_patch() -> bytes | None:
    import mailbox

    path = os.path.join(ROOT, "..", "shared", "seeds", "tdh-sys-disable-v2-3.mbox")
    if not os.path.exists(path):
        return None
    for msg in mailbox.mbox(path):
        if "[PATCH v2 3/5]" in str(msg["subject"]):
            return msg.as_bytes()
    return None


def tdxbot_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "tdxbot")
    if os.path.exists(script):
        return [script, "b4-check"]
    found = shutil.which("tdxbot")
    if found:
        return [found, "b4-check"]
    raise SystemExit("tdxbot is not installed next to this Python; run 'pip install .' first")


def run_time(cmd: list[str], stdin: bytes | None, cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    return time.perf_counter() - t0


def instructions(cmd: list[str], stdin: bytes | None, cwd: str) -> int | None:
    """Instructions executed by cmd (and nothing it starts), or None
    without valgrind."""
    if not shutil.which("valgrind"):
        return None
    res = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          *cmd], input=stdin, capture_output=True, cwd=cwd)
    for line in res.stderr.decode(errors="replace").splitlines():
        if "I   refs:" in line or "I refs:" in line:
            return int(line.rsplit(":", 1)[1].replace(",", "").strip())
    return None


def worker_pid(run_dir: str) -> int | None:
    """The pid of the b4-check worker serving under run_dir, if one runs."""
    folder = os.path.join(run_dir, "tdxbot")
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if name.endswith(".sock.lock"):
            try:
                with open(os.path.join(folder, name)) as fh:
                    pid = int(fh.read().strip() or 0)
                os.kill(pid, 0)
                return pid
            except (OSError, ValueError):
                continue
    return None


def stop_worker(run_dir: str) -> None:
    import signal

    pid = worker_pid(run_dir)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.01)


def wait_for_worker(run_dir: str) -> None:
    """Until the worker listens (it warms up first, about half a second)."""
    folder = os.path.join(run_dir, "tdxbot")
    for _ in range(500):
        if os.path.isdir(folder) and any(n.endswith(".sock") for n in os.listdir(folder)):
            return
        time.sleep(0.01)
    raise SystemExit("the b4-check worker did not start")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21, help="interleaved rounds (default 21)")
    ap.add_argument("--checkpatch", help="path to scripts/checkpatch.pl")
    ap.add_argument("--patch", help="a patch mail to use instead of the seed patch")
    ap.add_argument("--instructions", action="store_true", help="also count instructions under valgrind")
    args = ap.parse_args()
    checkpatch = args.checkpatch or fetch_checkpatch()
    if args.patch:
        with open(args.patch, "rb") as fh:
            patch = fh.read()
    else:
        patch = seed_patch() or sample_patch()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        os.mkdir(run_dir, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = run_dir  # this benchmark's own worker, stopped at the end
        patch_file = os.path.join(tmp, "sample.patch")
        with open(patch_file, "wb") as fh:
            fh.write(patch)
        diff_lines = patch.split(b"diff --git", 1)[1].count(b"\n")
        ours_cmd = tdxbot_command()
        alone_cmd = ["env", "TDXBOT_B4_SERVER=0", *ours_cmd]
        peer_cmd = ["perl", checkpatch, "-q", "--terse", "--no-tree", patch_file]
        try:
            for _ in range(2):  # warm the page cache and start the worker
                run_time(alone_cmd, patch, tmp), run_time(peer_cmd, None, tmp), run_time(ours_cmd, patch, tmp)
            wait_for_worker(run_dir)
            # Rounds alternate the cases, so a slow minute of the machine
            # slows them all. "first" is a call that finds no worker: it
            # runs the check itself and starts one.
            times: dict[str, list[float]] = {"worker": [], "alone": [], "first": [], "peer": []}
            for _ in range(args.runs):
                times["peer"].append(run_time(peer_cmd, None, tmp))
                times["worker"].append(run_time(ours_cmd, patch, tmp))
                times["alone"].append(run_time(alone_cmd, patch, tmp))
                stop_worker(run_dir)
                times["first"].append(run_time(ours_cmd, patch, tmp))
                wait_for_worker(run_dir)
            counts = None
            if args.instructions:
                counts = (instructions(ours_cmd[:1] + ["b4-check"], patch, tmp),
                          instructions(peer_cmd, None, tmp),
                          instructions([sys.executable, "-c", "pass"], None, tmp))
        finally:
            stop_worker(run_dir)
    peer = times["peer"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"patch: {len(patch.splitlines())} lines ({diff_lines} diff lines); {args.runs} interleaved rounds")
    print(f"checkpatch.pl --no-tree: median {statistics.median(peer):.3f} s")
    print(f"{'tdxbot b4-check':<38} {'median s':>9} {'ratio':>7}  {'range':>11}")
    labels = {"worker": "with the worker running",
              "first": "first call (no worker; starts one)",
              "alone": "TDXBOT_B4_SERVER=0 (no worker)"}
    ratio = None
    for case, label in labels.items():
        ratios = sorted(o / p for o, p in zip(times[case], peer))
        median = statistics.median(ratios)
        ratio = median if case == "worker" else ratio
        print(f"{label:<38} {statistics.median(times[case]):>9.3f} {median:>7.2f}  "
              f"{ratios[0]:.2f}-{ratios[-1]:.2f}")
    if counts and all(counts):
        print(f"instructions with the worker running (the caller only): tdxbot {counts[0]:,}, "
              f"checkpatch {counts[1]:,} ({counts[0] / counts[1]:.2f}x), bare python {counts[2]:,}")
    elif args.instructions:
        print("instructions: valgrind not found")
    print(f"goal: median ratio <= 0.25 with the worker running -> {'ok' if ratio <= 0.25 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
