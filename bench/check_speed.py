"""`tdxbot check` over long ranges: wall time and peak memory for a branch of
300, 1,000 and 10,000 commits, and per commit, so growth faster than linear
shows as a rising cost per commit (issue 22: 300 TDX commits took 15 s,
1,000 took 161 s and 224 MB; 10,000 commits that do not touch TDX took
165 s and 724 MB only to say "nothing to check").

    python bench/check_speed.py [--sizes 300,1000,10000] [--kinds tdx,other,grow]
                                [--select RULE,...] [--cap SECONDS] [--scope-in-git]

Each repository is generated with `git fast-import` (a base tree, then one
commit per change): `tdx` commits each change one line of one of 40 TDX C
files of constant size, `other` commits one line of a driver file, so the
cost of a commit does not grow with the history. Each run is one
`tdxbot check master..topic` subprocess, timed, with the peak RSS of the
largest process it waited for (os.wait4). A run still going at --cap
seconds (default 600) is killed and shown as over the cap.

`grow` commits each append a function to one TDX file, so every patch's
whole file is larger than the last: the rules' cost per patch grows with
the file (facts.c indexes the whole file), which no git side can change.
--scope-in-git times what `check` costs once the pipeline passes its scope
to load_git_series: commits outside TDX are judged from git's listing and
never made into mails (load_git_series alone, in a subprocess).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

FILES = 40
LINES = 60


def _tdx_file(k: int, version: int, changed: int) -> str:
    out = ["// SPDX-License-Identifier: GPL-2.0", "#include <asm/tdx.h>", ""]
    for i in range(LINES):
        value = version if i == changed else 0
        out += [f"int tdx_part_{k}_{i}(void)", "{", f"\treturn {value};", "}", ""]
    return "\n".join(out) + "\n"


def _blob(text: str) -> bytes:
    data = text.encode()
    return b"data %d\n%s\n" % (len(data), data)


def make_repo(path: str, count: int, kind: str) -> None:
    """master with the base tree; topic with count commits on top."""
    subprocess.run(["git", "init", "-q", "-b", "master", path], check=True)
    stream = bytearray()
    when = 1_790_000_000

    def commit(ref: str, subject: str, files: dict[str, str]) -> None:
        nonlocal when
        when += 60
        msg = f"{subject}\n\nChange {subject.split(': ', 1)[-1]}.\n\nSigned-off-by: Bench <bench@example.org>\n"
        data = msg.encode()
        stream.extend(f"commit {ref}\ncommitter Bench <bench@example.org> {when} +0000\n".encode())
        stream.extend(b"data %d\n%s\n" % (len(data), data))
        for name, text in files.items():
            stream.extend(f"M 100644 inline {name}\n".encode())
            stream.extend(_blob(text))
        stream.extend(b"\n")

    base = {f"arch/x86/virt/vmx/tdx/part{k}.c": _tdx_file(k, 0, -1) for k in range(FILES)}
    base["drivers/block/null_blk/main.c"] = "int timeout;\n" * 40
    commit("refs/heads/master", "Initial tree", base)
    stream.extend(b"reset refs/heads/topic\nfrom refs/heads/master\n\n")
    grown = ["// SPDX-License-Identifier: GPL-2.0\n#include <asm/tdx.h>\n"]
    for n in range(1, count + 1):
        if kind == "grow":
            grown.append(f"int tdx_step_{n}(void)\n{{\n\treturn {n};\n}}\n")
            commit("refs/heads/topic", f"x86/virt/tdx: Add tdx_step_{n}()",
                   {"arch/x86/virt/vmx/tdx/tdx.c": "".join(grown)})
        elif kind == "tdx":
            k = n % FILES
            commit("refs/heads/topic", f"x86/virt/tdx: Set part {k} to {n}",
                   {f"arch/x86/virt/vmx/tdx/part{k}.c": _tdx_file(k, n, n % LINES)})
        else:
            text = "".join(f"int timeout_{i} = {n if i == n % 40 else 0};\n" for i in range(40))
            commit("refs/heads/topic", f"null_blk: Set the timeout to {n}",
                   {"drivers/block/null_blk/main.c": text})
    subprocess.run(["git", "fast-import", "--quiet"], input=bytes(stream), cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "topic"], cwd=path, check=True)


SCOPE_IN_GIT = """
from tdxbot.lint import split_by_scope
from tdxbot.mail import load_git_series
try:
    gs = load_git_series(["master..topic"], [], scope=lambda root: split_by_scope)
    print(f"{len(gs.series.patches)} in scope, {len(gs.left_out)} left out", file=__import__("sys").stderr)
except Exception as exc:
    print(exc, file=__import__("sys").stderr)
"""


def run(path: str, select: str | None, cap: float, scope_in_git: bool = False) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit status, last stderr line) of one check."""
    env = dict(os.environ, HOME=path, GIT_CONFIG_NOSYSTEM="1")
    env.pop("TDXBOT_DEBUG", None)
    cmd = [sys.executable, "-m", "tdxbot", "check", "master..topic", "--format", "json"]
    if select:
        cmd += ["--select", select]
    if scope_in_git:
        cmd = [sys.executable, "-c", SCOPE_IN_GIT]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=path, env=env, stdout=out, stderr=err)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > cap:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                return float("inf"), usage.ru_maxrss / 1024, -9, "over the cap"
            time.sleep(0.02)
        took = time.perf_counter() - t0
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return took, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), (lines[-1] if lines else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="300,1000,10000")
    ap.add_argument("--kinds", default="tdx,other")
    ap.add_argument("--select", default="tdx-sw-code-as-mask,tdx-unbounded-retry,changelog-voice",
                    help="rules to run ('' for all)")
    ap.add_argument("--cap", type=float, default=600)
    ap.add_argument("--scope-in-git", action="store_true",
                    help="time load_git_series with the TDX scope alone (what check costs once the "
                         "pipeline passes it)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'kind':<6} {'commits':>8} {'seconds':>9} {'ms/commit':>10} {'peak MB':>8} {'rc':>3}  note")
    for kind in args.kinds.split(","):
        for count in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                repo = os.path.join(tmp, "linux")
                make_repo(repo, count, kind)
                took, mb, rc, note = run(repo, args.select or None, args.cap, args.scope_in_git)
            per = took / count * 1000
            print(f"{kind:<6} {count:>8} {took:>9.2f} {per:>10.2f} {mb:>8.0f} {rc:>3}  {note[:70]}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
