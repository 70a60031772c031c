"""An mbox of many unrelated one-patch threads of realistic size, built from
the TDX C functions of a released kernel (Debian's linux-source-6.12,
fetched and cached by linux_source.py).

Each patch adds a run of whole top-level definitions (20 to 200 lines) at
the place they have in the real file, with three lines of real context on
each side, a format-patch changelog, diffstat and signature: what a day of
a list archive or `lei q` gives, as far as the parser and the rules can
tell. Titles are unique, so no patch is the re-send of another.
"""
from __future__ import annotations

import fnmatch
import os
import random

MIN_ADDED, MAX_ADDED = 20, 200
AUTHORS = ("Alice Example <alice@example.org>", "Bob Hacker <bob@example.net>",
           "Carol Coder <carol@example.com>", "Dan Dev <dan@example.org>",
           "Erin Engineer <erin@example.net>")
VERBS = ("Add", "Rework", "Move", "Restore", "Split out", "Reintroduce")


def tdx_sources(tree: str | None = None) -> dict[str, list[str]]:
    """{tree path: lines} of the TDX C files and headers."""
    from tdxbot.lint.areas import TDX

    if tree is None:
        from linux_source import PACKAGE, fetch

        tree = fetch(PACKAGE, lambda rel: rel.endswith((".c", ".h"))
                     and any(fnmatch.fnmatchcase(rel, p) for p in TDX))
    out = {}
    for dirpath, _dirs, files in os.walk(tree):
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, name), tree)
            if rel.endswith((".c", ".h")) and any(fnmatch.fnmatchcase(rel, p) for p in TDX):
                with open(os.path.join(tree, rel), encoding="utf-8", errors="replace") as fh:
                    out[rel] = fh.read().split("\n")
    return dict(sorted(out.items()))


def definitions(lines: list[str]) -> list[tuple[int, int, str]]:
    """(first, last, name) of each top-level braced definition, 0-based and
    inclusive, with the comment block right above it; name is the word
    before the first '(' (the function's name) or the first line."""
    out = []
    i = 0
    n = len(lines)
    while i < n:
        text = lines[i]
        if text.startswith("{") and i > 0:
            head = i - 1
            while head > 0 and lines[head - 1].strip() and not lines[head - 1].startswith(("}", "#")) \
                    and not lines[head - 1].rstrip().endswith(";"):
                head -= 1
            end = i
            while end < n and not lines[end].startswith("}"):
                end += 1
            if end >= n:
                break
            start = head
            if start > 0 and lines[start - 1].rstrip().endswith("*/"):
                start -= 1
                while start > 0 and not lines[start].lstrip().startswith("/*"):
                    start -= 1
            signature = " ".join(lines[head:i])
            name = signature.split("(", 1)[0].split()[-1].lstrip("*") if "(" in signature \
                else signature.split()[-1] if signature.split() else "code"
            out.append((start, end, name))
            i = end + 1
            continue
        i += 1
    return out


def _runs(sources: dict[str, list[str]]) -> list[tuple[str, int, int, str]]:
    """(path, first, last, name) of every run of consecutive definitions of
    MIN_ADDED to MAX_ADDED lines in one file."""
    out = []
    for path, lines in sources.items():
        defs = definitions(lines)
        for a in range(len(defs)):
            for b in range(a, len(defs)):
                first, last = defs[a][0], defs[b][1]
                size = last - first + 1
                if size > MAX_ADDED:
                    break
                if size >= MIN_ADDED:
                    out.append((path, first, last, defs[a][2]))
    return out


def patch_mail(path: str, lines: list[str], first: int, last: int, subject: str, msgid: str,
               author: str, date: str) -> str:
    """A format-patch mail adding lines[first..last] of path in place."""
    before = lines[max(0, first - 3):first]
    after = lines[last + 1:last + 4]
    added = lines[first:last + 1]
    start = first - len(before) + 1
    hunk = [f"@@ -{start},{len(before) + len(after)} +{start},{len(before) + len(added) + len(after)} @@"]
    hunk += [" " + x for x in before] + ["+" + x for x in added] + [" " + x for x in after]
    name = os.path.basename(path)
    body = [
        f"The {name} code below was dropped while the file was reorganised; bring it",
        "back as it was, so that callers which still depend on it keep building and",
        "the module keeps its error handling in one place.",
        "",
        f"Signed-off-by: {author}",
        "---",
        f" {path} | {len(added)} {'+' * min(len(added), 60)}",
        f" 1 file changed, {len(added)} insertions(+)",
        "",
        f"diff --git a/{path} b/{path}",
        "index 1a2b3c4d5e6f..6f5e4d3c2b1a 100644",
        f"--- a/{path}",
        f"+++ b/{path}",
        *hunk,
        "-- ",
        "2.47.1",
    ]
    head = [f"From: {author}", "To: linux-coco@lists.linux.dev", "Cc: x86@kernel.org",
            f"Date: {date}", f"Subject: {subject}", f"Message-ID: <{msgid}>",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit"]
    return "\n".join(head) + "\n\n" + "\n".join(body) + "\n"


def make_threads(n: int, sources: dict[str, list[str]] | None = None, seed: int = 14) -> bytes:
    """An mbox of n one-patch threads, each a lone [PATCH] mail."""
    sources = sources if sources is not None else tdx_sources()
    runs = _runs(sources)
    if not runs:
        raise SystemExit("no definitions of 20 to 200 lines found in the TDX sources")
    rng = random.Random(seed)
    out = []
    for i in range(n):
        path, first, last, name = rng.choice(runs)
        prefix = "x86/tdx" if path.startswith("arch/x86/coco") else \
            "virt: tdx-guest" if path.startswith("drivers/") else "x86/virt/tdx"
        subject = f"[PATCH] {prefix}: {rng.choice(VERBS)} {name}() for case {i + 1}"
        day, minute = divmod(i, 24 * 60)
        date = f"Mon, {1 + day % 28:02d} Sep 2026 {minute // 60:02d}:{minute % 60:02d}:00 +0000"
        mail = patch_mail(path, sources[path], first, last, subject, f"bench-{i + 1}-{seed}@example.org",
                          AUTHORS[i % len(AUTHORS)], date)
        out.append("From nobody Mon Sep 14 09:00:00 2026\n" + mail + "\n")
    return "".join(out).encode("utf-8")


if __name__ == "__main__":
    import sys

    sys.stdout.buffer.write(make_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
