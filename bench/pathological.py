"""Pathological patches and mails through `tdxbot review` (and `b4-check`),
one subprocess each: wall time and peak RSS against the goals of issue 12
(each under 10 s and 500 MB). Small inputs built to cost a lot: retry
loops nested a thousand deep, thousands of loops in a row, twenty
thousand new files, braces nested thousands deep, a counter or version
of thousands of digits, MIME nested thousands deep, headers of megabytes.

    python bench/pathological.py [--only NAME,...] [--cap SECONDS] [--rounds N]
                                 [--b4-check] [--no-limits]

Each input runs --rounds times (default 3, interleaved); the line shows the
median time with its range and the largest peak RSS of the process
(os.wait4), and OK when both goals hold. An input still running at --cap
seconds (default 60) is killed and reported as over the cap. The inputs
are written by a separate process, so the peak RSS of each run is its own
(a forked child starts with its parent's pages counted).

--no-limits runs the same commands with bot/lint/limits.py's bounds switched
off (too_large replaced by a function that finds nothing): the cost of the
analysis itself on each input, where the bounds are the safety net.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_SECONDS = 10.0
GOAL_MB = 500.0
HEAD = ("From: Eve Example <eve@example.org>\nTo: linux-kernel@vger.kernel.org\n"
        "Date: Mon, 14 Sep 2026 09:00:00 +0200\n")
TDX_C = "arch/x86/virt/vmx/tdx/tdx.c"


def _mail(subject: str, body: str, msgid: str = "p@example.org", extra: str = "") -> bytes:
    return (HEAD + f"Subject: {subject}\nMessage-ID: <{msgid}>\n{extra}\n{body}\n").encode()


def _new_file(path: str, lines: list[str]) -> str:
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
            f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n" + "\n".join("+" + ln for ln in lines))


def _patch(subject: str, lines: list[str], path: str = TDX_C) -> bytes:
    return _mail(subject, "Pathological input.\n\nSigned-off-by: Eve Example <eve@example.org>\n---\n" +
                 _new_file(path, lines))


def nested_loops(depth: int) -> bytes:
    lines = ["static int f(void)", "{", "\tu64 ret;"]
    lines += ["\t" + " " * min(i, 40) + "do {" for i in range(depth)]
    lines += ["\t\tret = seamcall(TDH_SYS_INIT, &args);"]
    lines += ["\t" + " " * min(i, 40) + "} while (ret == TDX_OPERAND_BUSY);" for i in reversed(range(depth))]
    lines += ["\treturn ret;", "}"]
    return _patch(f"[PATCH] x86/virt/tdx: {depth} nested retry loops", lines)


def loops_in_a_row(count: int) -> bytes:
    lines = ["static int f(void)", "{", "\tu64 ret;"]
    for i in range(count):
        lines += ["\tdo {", f"\t\tret = seamcall(TDH_SYS_{i % 50}, &args);",
                  "\t} while (ret == TDX_OPERAND_BUSY);"]
    lines += ["\treturn ret;", "}"]
    return _patch(f"[PATCH] x86/virt/tdx: {count} retry loops in a row", lines)


def many_files(count: int) -> bytes:
    diffs = "\n".join(_new_file(f"arch/x86/virt/vmx/tdx/gen/f{i:05d}.c", ["int x;"]) for i in range(count))
    return _mail(f"[PATCH] x86/virt/tdx: {count} new files", "Many files.\n---\n" + diffs)


def deep_braces(depth: int) -> bytes:
    lines = ["static int f(void)", "{" * depth, "seamcall(TDH_SYS_INIT, &args);", "}" * depth]
    return _patch(f"[PATCH] x86/virt/tdx: braces {depth} deep", lines)


def deep_ifs(depth: int) -> bytes:
    lines = ["static int f(void)", "{"] + ["\t" * min(i, 20) + f"if (x{i}) {{" for i in range(depth)]
    lines += ["ret = seamcall(TDH_SYS_INIT, &args);"] + ["}"] * depth + ["}"]
    return _patch(f"[PATCH] x86/virt/tdx: {depth} nested ifs", lines)


def huge_counter(total: str) -> bytes:
    cover = _mail(f"[PATCH 0/{total}] x86/virt/tdx: Huge counter", "Cover.", msgid="hc-0@example.org")
    first = _patch(f"[PATCH 1/{total}] x86/virt/tdx: Part 1", ["int x;"])
    first = first.replace(b"Message-ID: <p@example.org>",
                          b"Message-ID: <hc-1@example.org>\nIn-Reply-To: <hc-0@example.org>\n"
                          b"References: <hc-0@example.org>")
    return b"From nobody Mon Sep 14 09:00:00 2026\n" + cover + b"\nFrom nobody Mon Sep 14 09:00:01 2026\n" + first


def huge_version(digits: int) -> bytes:
    return _patch(f"[PATCH v{'9' * digits}] x86/virt/tdx: Huge version", ["int x;"])


def deep_mime(depth: int) -> bytes:
    head = HEAD + "Subject: [PATCH] x86/virt/tdx: Deep MIME\nMessage-ID: <dm@example.org>\nMIME-Version: 1.0\n"
    parts = [head + "Content-Type: multipart/mixed; boundary=b0\n\n"]
    for i in range(1, depth):
        parts.append(f"--b{i - 1}\nContent-Type: multipart/mixed; boundary=b{i}\n\n")
    parts.append(f"--b{depth - 1}\nContent-Type: text/plain\n\nDeep.\n---\n" + _new_file(TDX_C, ["int x;"]) + "\n")
    parts.extend(f"--b{i}--\n" for i in reversed(range(depth)))
    return "".join(parts).encode()


def long_line(size: int) -> bytes:
    return _patch("[PATCH] x86/virt/tdx: A long line", ["int x = " + "1 + " * (size // 4) + "1;"])


def big_patch(lines: int) -> bytes:
    return _patch("[PATCH] x86/virt/tdx: Big", [f"\tret = seamcall(TDH_SYS_{i % 97}, &args); /* {i:07d} */"
                                                for i in range(lines)])


def huge_header(size: int) -> bytes:
    return _mail("[PATCH] x86/virt/tdx: " + "word " * (size // 5), "Big header.\n---\n" +
                 _new_file(TDX_C, ["int x;"]), extra="References: " + " ".join(
                     f"<r{i}@example.org>" for i in range(size // 20)) + "\n")


def _changelog_patch(subject: str, changelog: str, lines: list[str]) -> bytes:
    return _mail(subject, changelog + "\n\nSigned-off-by: Eve Example <eve@example.org>\n---\n" +
                 _new_file(TDX_C, lines))


def many_conversions(count: int) -> bytes:
    """A pr_err() of count %s and a quoted changelog line that shares its
    words but that it cannot print (issue 22: 662 bytes, minutes)."""
    fmt = "tdx: " + " ".join(["%s"] * count) + " failed\\n"
    code = [f'\tpr_err("{fmt}", ' + ", ".join(["x"] * count) + ");"]
    return _changelog_patch("[PATCH] x86/virt/tdx: Print more",
                            "The message reads:\n\n  tdx: failed " + " ".join(["a"] * (count + 6)), code)


def long_changelog_line(size: int, unit: str) -> bytes:
    """One changelog line of size characters made of unit (a 32 KB line cost
    function-parens 18 s; 128 KB of a URL-like word, changelog-typo 47 s)."""
    return _changelog_patch("[PATCH] x86/virt/tdx: Long changelog", unit * (size // len(unit)), ["int x;"])


def unending_conversion(size: int) -> bytes:
    """A string literal of one printf conversion that never ends, under
    every bound ("%000...0!", 20 s a line for changelog-typo's pattern)."""
    return _patch("[PATCH] x86/virt/tdx: A format", ['\tpr_info("%' + "0" * size + '!");'])


def init_words(size: int) -> bytes:
    """A declaration line of '__init __init ...' (tdx-init-section, 29 s at 40 KB)."""
    return _patch("[PATCH] x86/virt/tdx: Init", ["static " + "__init " * (size // 7) + "int"])


def brackets_subject(count: int) -> bytes:
    """A subject of count '[' (b4's subject parser is cubic in its length)."""
    cover = _mail("[" * count + "PATCH 0/1] x86/virt/tdx: Brackets", "Cover.", msgid="bs-0@example.org")
    first = _patch("[PATCH 1/1] x86/virt/tdx: One", ["int x;"]).replace(
        b"Message-ID: <p@example.org>", b"Message-ID: <bs-1@example.org>\nIn-Reply-To: <bs-0@example.org>")
    return b"From nobody Mon Sep 14 09:00:00 2026\n" + cover + b"\nFrom nobody Mon Sep 14 09:00:01 2026\n" + first


def outlook_replies(count: int) -> bytes:
    """A patch and count replies that quote it whole below
    '-----Original Message-----', each with a reply prefix b4 does not know."""
    patch = _patch("[PATCH] x86/virt/tdx: Check", ["\tif (ret & TDX_SW_ERROR)", "\t\treturn;"])
    body = patch.split(b"\n\n", 1)[1].decode()
    out = [b"From nobody Mon Sep 14 09:00:00 2026\n" + patch]
    for i in range(count):
        reply = _mail(f"R: [PATCH] x86/virt/tdx: Check", "Fine.\n\n-----Original Message-----\n" + body,
                      msgid=f"or-{i}@example.org", extra="In-Reply-To: <p@example.org>\nReferences: <p@example.org>")
        out.append(b"\nFrom nobody Mon Sep 14 09:00:01 2026\n" + reply)
    return b"".join(out)


CASES = {
    "1000-nested-loops": lambda: nested_loops(1000),
    "3000-nested-loops": lambda: nested_loops(3000),
    "3000-loops-in-a-row": lambda: loops_in_a_row(3000),
    "20000-new-files": lambda: many_files(20000),
    "braces-5000-deep": lambda: deep_braces(5000),
    "ifs-2000-deep": lambda: deep_ifs(2000),
    "counter-1/10^7": lambda: huge_counter("10000000"),
    "counter-1/5000-digits": lambda: huge_counter("9" * 5000),
    "version-5000-digits": lambda: huge_version(5000),
    "mime-2000-deep": lambda: deep_mime(2000),
    "1MB-line": lambda: long_line(1 << 20),
    "400k-line-patch": lambda: big_patch(400_000),
    "2MB-headers": lambda: huge_header(2 << 20),
    "16-conversions": lambda: many_conversions(16),
    "32KB-changelog-names": lambda: long_changelog_line(32 << 10, "a_"),
    "128KB-changelog-word": lambda: long_changelog_line(128 << 10, "a"),
    "4000-char-changelog-line": lambda: long_changelog_line(3990, "a_"),
    "19900-char-conversion": lambda: unending_conversion(19_900),
    "40KB-init-words": lambda: init_words(19_000),
    "3000-bracket-subject": lambda: brackets_subject(3000),
    "500-outlook-replies": lambda: outlook_replies(500),
}
# Just inside each bound of bot/lint/limits.py: the most work a patch can still ask for.
AT_BOUNDS = {
    "files-at-bound": lambda: many_files(_bound("MAX_FILES")),
    "lines-at-bound": lambda: big_patch(_bound("MAX_ADDED_LINES") - 10),
    "loops-at-bound": lambda: loops_in_a_row(_bound("MAX_LOOPS") // 2 - 5),
    "nesting-at-bound": lambda: nested_loops(_bound("MAX_DEPTH") - 4),
    "nests-at-bound": lambda: repeated_nests(_bound("MAX_DEPTH") - 4, _bound("MAX_LOOPS") // (2 * (_bound("MAX_DEPTH") - 4))),
}


def repeated_nests(depth: int, count: int) -> bytes:
    """count retry-loop nests, each depth deep, one after the other."""
    lines = ["static int f(void)", "{", "\tu64 ret;"]
    for _ in range(count):
        lines += ["\t" + " " * min(i, 40) + "do {" for i in range(depth)]
        lines += ["\t\tret = seamcall(TDH_SYS_INIT, &args);"]
        lines += ["\t" + " " * min(i, 40) + "} while (ret == TDX_OPERAND_BUSY);" for i in reversed(range(depth))]
    lines += ["\treturn ret;", "}"]
    return _patch(f"[PATCH] x86/virt/tdx: {count} nests of {depth} retry loops", lines)
CASES.update(AT_BOUNDS)


def _bound(name: str) -> int:
    from tdxbot.lint import limits

    return getattr(limits, name)


NO_LIMITS = ("import sys, tdxbot.lint.limits as limits; limits.too_large = lambda patch: None; "
             "from tdxbot.cli import main; sys.exit(main(sys.argv[1:]))")


def run(argv: list[str], data_path: str, cap: float, stdin: bool = False,
        no_limits: bool = False) -> tuple[float, float, int | None]:
    """(seconds, peak RSS in MB, exit status or None when killed at cap)."""
    env = dict(os.environ, HOME=tempfile.gettempdir(), GIT_CONFIG_NOSYSTEM="1")
    command = [sys.executable, "-c", NO_LIMITS] if no_limits else [sys.executable, "-m", "tdxbot"]
    t0 = time.monotonic()
    with open(data_path, "rb") as fh:
        proc = subprocess.Popen(command + argv + ([] if stdin else [data_path]),
                                stdin=fh if stdin else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > cap and not killed:
                proc.kill()
                killed = True
            time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, usage.ru_maxrss / 1024, None if killed else proc.returncode


def write_cases(folder: str, names: list[str]) -> None:
    for name in names:
        with open(os.path.join(folder, name.replace("/", "_") + ".mbox"), "wb") as fh:
            fh.write(CASES[name]())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--cap", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--b4-check", action="store_true", help="also run each through b4-check")
    parser.add_argument("--no-limits", action="store_true", help="switch bot/lint/limits.py's bounds off")
    parser.add_argument("--write", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(CASES)
    if args.write:
        write_cases(args.write, names)
        return 0
    work = tempfile.mkdtemp(prefix="tdxbot-patho-")
    subprocess.run([sys.executable, __file__, "--write", work, "--only", ",".join(names)], check=True)
    paths = {name: os.path.join(work, name.replace("/", "_") + ".mbox") for name in names}
    commands = [("review", ["review", "--format", "json"], False)]
    if args.b4_check:
        commands.append(("b4-check", ["b4-check"], True))
    results: dict[tuple[str, str], list] = {}
    for _ in range(args.rounds):  # interleaved: a slow moment of the machine hits every case alike
        for name in names:
            for label, argv, stdin in commands:
                results.setdefault((name, label), []).append(run(argv, paths[name], args.cap, stdin,
                                                                 args.no_limits))
    print(f"goal: each under {GOAL_SECONDS:g} s and {GOAL_MB:g} MB; {args.rounds} rounds; "
          f"limits {'OFF' if args.no_limits else 'on'}; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    print(f"{'input':<24} {'cmd':<9} {'size':>9} {'median s':>9} {'range s':>13} {'peak MB':>8} {'exit':>5}  verdict")
    failed = 0
    for (name, label), runs in results.items():
        times = [t for t, _, _ in runs]
        peak = max(m for _, m, _ in runs)
        codes = {c for _, _, c in runs}
        killed = None in codes
        ok = not killed and max(times) < GOAL_SECONDS and peak < GOAL_MB
        failed += not ok
        size = os.path.getsize(paths[name])
        verdict = "OK" if ok else ("over the cap" if killed else "MISSES THE GOAL")
        print(f"{name:<24} {label:<9} {size / 1024:>7.0f}KB {statistics.median(times):>9.2f} "
              f"{min(times):>6.2f}-{max(times):<6.2f} {peak:>8.0f} {','.join(str(c) for c in sorted(codes, key=str)):>5}  "
              f"{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
