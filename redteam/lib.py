"""Helpers for the red-team attacks: build mails, run tdxbot with time and
peak-memory measurement (os.wait4), keep a record."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from email.utils import formatdate

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = os.path.join(ROOT, ".venv", "bin", "python")
TDXBOT = [PY, "-m", "tdxbot"]
OUT = os.path.join(HERE, "out")
os.makedirs(OUT, exist_ok=True)

TDX_C = "arch/x86/virt/vmx/tdx/tdx.c"


def diff(path: str, added: list[str], context_before=("context one",), context_after=("context two",),
         start: int = 10) -> str:
    old = len(context_before) + len(context_after)
    new = old + len(added)
    lines = [f"diff --git a/{path} b/{path}", "index 1111111..2222222 100644", f"--- a/{path}", f"+++ b/{path}",
             f"@@ -{start},{old} +{start},{new} @@"]
    lines += [" " + c for c in context_before] + ["+" + a for a in added] + [" " + c for c in context_after]
    return "\n".join(lines)


def mail(subject: str, msgid: str, body: str, *, author="Eve Example <eve@example.org>",
         date: str | None = None, extra: str = "", to="linux-kernel@vger.kernel.org") -> str:
    head = [f"From: {author}", f"To: {to}", f"Date: {date or formatdate(time.time() - 600)}",
            f"Subject: {subject}", f"Message-ID: <{msgid}>"]
    if extra:
        head.append(extra.rstrip("\n"))
    return "\n".join(head) + "\n\n" + body + ("\n" if not body.endswith("\n") else "")


def patch_body(changelog: str, d: str, author="Eve Example <eve@example.org>") -> str:
    return f"{changelog}\n\nSigned-off-by: {author}\n---\n{d}\n-- \n2.53.0\n"


def mbox(*mails: str | bytes) -> bytes:
    out = b""
    for m in mails:
        if isinstance(m, str):
            m = m.encode("utf-8", "surrogateescape")
        out += b"From nobody Mon Sep 14 09:00:00 2026\n" + m + b"\n"
    return out


def write(name: str, data: bytes | str) -> str:
    path = os.path.join(OUT, name)
    with open(path, "wb") as fh:
        fh.write(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data)
    return path


def run(argv: list[str], *, stdin: bytes | None = None, cwd=None, env=None, cap: float = 120.0):
    """(seconds, peak RSS MB, exit status or None when killed at cap, stdout, stderr)."""
    env = dict(os.environ if env is None else env)
    env.pop("TDXBOT_DEBUG", None)
    env.setdefault("NO_COLOR", "1")
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
    import threading
    outs = {}

    def pump(name, fh):
        outs[name] = fh.read()

    ts = [threading.Thread(target=pump, args=("out", proc.stdout)),
          threading.Thread(target=pump, args=("err", proc.stderr))]
    for t in ts:
        t.start()
    if stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - t0 > cap:
            proc.kill()
            killed = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    secs = time.monotonic() - t0
    for t in ts:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    rc = None if killed else proc.returncode
    # ru_maxrss counts the largest child too (wait4 of this process only)
    return secs, usage.ru_maxrss / 1024, rc, outs.get("out", b""), outs.get("err", b"")


def report(name: str, res, note: str = "") -> None:
    secs, mb, rc, out, err = res
    line = {"attack": name, "seconds": round(secs, 2), "peak_mb": round(mb, 1), "rc": rc,
            "stdout": out.decode("utf-8", "replace")[-600:], "stderr": err.decode("utf-8", "replace")[-600:],
            "note": note}
    print(json.dumps(line, indent=1))
    with open(os.path.join(OUT, "log.jsonl"), "a") as fh:
        fh.write(json.dumps(line) + "\n")
