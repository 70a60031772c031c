"""`tdxbot check --fix` and `--diff`: the certain fixes of a branch's
findings, applied to the work tree or shown as the patch `git diff` would
then show.

A fix is written for the file as its patch left it. The work tree may have
moved on (a later commit of the series, the author's own edits), so each
edit is placed by the text of the lines it changes: at the same line when it
is still there, else at the one place the file has that text, else not at
all. An edit on or next to lines with uncommitted changes is left alone, as
is a file whose fixes would leave more parse errors than it had. Commits are
never touched: the author amends or makes a fixup commit.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from ..common import UserError
from ..lint import Edit, Finding, Review, apply, still_parses, without_overlaps
from ..mail import printable

# Uncommitted changes this close to an edit make it the author's hunk.
NEAR = 3


class Outcome(NamedTuple):
    finding: Finding
    done: bool
    why: str  # for a fix left out


class FixResult(NamedTuple):
    outcomes: list[Outcome]
    texts: dict[str, tuple[str, str]]  # path -> (work tree text, fixed text)

    @property
    def applied(self) -> list[Finding]:
        return [o.finding for o in self.outcomes if o.done]


def plan_fixes(review: Review, root: str) -> FixResult:
    """Place every fix of the review in the work tree's files (nothing is
    written here)."""
    by_patch = {p.index: p for p in review.series.patches}
    outcomes: list[Outcome] = []
    chosen: dict[str, list[tuple[Edit, Finding]]] = {}
    originals: dict[str, str] = {}
    dirty: dict[str, list[range]] = {}
    for f in review.findings:
        if not f.fix:
            continue
        patch = by_patch.get(f.patch_index)
        post = {(d.path, ln.new_no): ln.text for d in patch.files for h in d.hunks for ln in h.lines
                if ln.new_no is not None} if patch else {}
        placed, why = [], ""
        for edit in f.fix:
            if edit.path not in originals:
                originals[edit.path] = _read(root, edit.path)
                dirty[edit.path] = _uncommitted(root, edit.path)
            moved, why = _place(edit, post, originals[edit.path])
            if moved is None:
                break
            if any(n in r for r in dirty[edit.path] for n in range(moved.line - NEAR, moved.end_line + NEAR + 1)):
                moved, why = None, "uncommitted changes in the same place"
                break
            placed.append(moved)
        if len(placed) != len(f.fix):
            outcomes.append(Outcome(f, False, why))
            continue
        for e in placed:
            chosen.setdefault(e.path, []).append((e, f))
        outcomes.append(Outcome(f, True, ""))
    texts: dict[str, tuple[str, str]] = {}
    for path, pairs in chosen.items():
        edits = without_overlaps([e for e, _ in pairs])
        kept = {id(f) for e, f in pairs if e in edits}
        fixed = apply(originals[path], edits)
        if not still_parses(originals[path], fixed):
            kept = set()
            why = "the fixed file would not parse"
        for i, o in enumerate(outcomes):
            if o.done and any(e.path == path for e in o.finding.fix) and id(o.finding) not in kept:
                outcomes[i] = Outcome(o.finding, False, why if not kept else "overlaps another fix")
        if kept:
            texts[path] = (originals[path], fixed)
    return FixResult(outcomes, texts)


def _read(root: str, path: str) -> str:
    try:
        with open(os.path.join(root, path), encoding="utf-8", errors="surrogateescape", newline="") as fh:
            return fh.read()
    except OSError as exc:
        raise UserError(f"{path}: cannot read it to fix it: {exc.strerror or exc}") from None


def _place(edit: Edit, post: dict, text: str) -> tuple[Edit | None, str]:
    """The edit moved to where its lines are in the work tree's text."""
    want = [post.get((edit.path, n)) for n in edit.lines if (edit.path, n) in post or n == edit.line]
    lines = text.split("\n")
    span = edit.end_line - edit.line
    if not want or want[0] is None:
        # An insertion before a line the patch shows only as its neighbour.
        want = [post.get((edit.path, edit.line - 1))]
        if want[0] is None:
            return None, "the fix's lines are not in the patch"
        anchor = _find(lines, want, edit.line - 1)
        return (edit._replace(line=anchor + 1, end_line=anchor + 1 + span), "") if anchor else \
            (None, "the line moved or changed since")
    at = _find(lines, want, edit.line)
    if at is None:
        return None, "the line moved or changed since"
    return edit._replace(line=at, end_line=at + span), ""


def _find(lines: list[str], want: list[str], line: int) -> int | None:
    """The 1-based line where `want` starts: line itself if it is there, else
    the only place it is."""
    def at(n: int) -> bool:
        return lines[n - 1:n - 1 + len(want)] == want
    if 1 <= line <= len(lines) and at(line):
        return line
    places = [n for n in range(1, len(lines) - len(want) + 2) if at(n)]
    return places[0] if len(places) == 1 else None


def _git(root: str, *args: str, stdin: bytes | None = None, env=None) -> bytes:
    import subprocess

    proc = subprocess.run(["git", "-C", root, *args], input=stdin, capture_output=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode:
        raise UserError(f"git {args[0]} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout


def _uncommitted(root: str, path: str) -> list[range]:
    """Line ranges of the work tree's file that differ from HEAD."""
    import re

    out = _git(root, "diff", "--no-color", "--no-ext-diff", "-U0", "HEAD", "--", path)
    ranges = []
    for m in re.finditer(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", out, re.M):
        start, count = int(m.group(1)), int(m.group(2) or 1)
        ranges.append(range(start, start + max(count, 1)))
    return ranges


def write_fixes(result: FixResult, root: str) -> None:
    """Write each fixed file in place of the old one (a new file renamed over
    it, with its mode kept), so that a crash leaves one or the other."""
    import tempfile

    for path, (_old, new) in result.texts.items():
        target = os.path.join(root, path)
        mode = os.stat(target).st_mode
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tdxbot-fix-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
                fh.write(new)
            os.chmod(tmp, mode & 0o7777)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def fixes_diff(result: FixResult, root: str) -> str:
    """The fixes as `git diff` shows them once applied: git's own diff of two
    trees, the work tree's files and the fixed ones (made with a scratch
    index, so the real index and the work tree are not touched)."""
    import tempfile

    if not result.texts:
        return ""
    with tempfile.TemporaryDirectory() as tmp:
        trees = []
        for side in (0, 1):
            env = {"GIT_INDEX_FILE": os.path.join(tmp, f"index{side}")}
            _git(root, "read-tree", "HEAD", env=env)
            for path, texts in result.texts.items():
                blob = _git(root, "hash-object", "-w", "--stdin", "--path", path,
                            stdin=texts[side].encode("utf-8", "surrogateescape")).decode().strip()
                mode = "100755" if os.stat(os.path.join(root, path)).st_mode & 0o111 else "100644"
                _git(root, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            trees.append(_git(root, "write-tree", env=env).decode().strip())
        return _git(root, "diff", "--no-color", "--no-ext-diff", trees[0], trees[1], "--",
                    *sorted(result.texts)).decode("utf-8", "surrogateescape")


def outcome_lines(result: FixResult) -> tuple[list[str], str]:
    """A line per fix, applied or left out and why, and a summary."""
    lines = []
    for o in result.outcomes:
        f = o.finding
        verb = "fixed" if o.done else f"not fixed ({o.why})"
        lines.append(printable(f"{verb}: {f.path}:{f.line}: [{f.rule}] {f.message}"))
    summary = (f"{len(result.applied)} fix(es) applied to {len(result.texts)} file(s); see 'git diff', "
               "then 'git commit --amend' or 'git commit --fixup'")
    return lines, summary


def unfixed(review: Review, result: FixResult) -> Review:
    """The review without the findings the fixes took care of."""
    done = {id(f) for f in result.applied}
    return Review(review.series, [f for f in review.findings if id(f) not in done], list(review.notes))
