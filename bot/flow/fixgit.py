"""`tdxbot check --fix` and `--diff`: the certain fixes of a branch's
findings, applied to the work tree or shown as the patch `git diff` would
then show.

A fix is written for the file as its patch left it. The work tree may have
moved on (a later commit of the series, the author's own edits), so each
edit is placed by the text of the lines it changes: at the same line when it
is still there, else at the one place the file has that text, else not at
all. Before it is applied, the text it takes out must be the very text it
takes out of the file at the patch's commit (lines counted as git counts
them), so a line break git does not count can never move an edit onto
another line. An edit on or next to lines with uncommitted changes is left
alone, as is a file whose fixes would leave more parse errors than it had.
Commits are never touched: the author amends or makes a fixup commit.

What a fix may touch: a regular file git tracks, reached from the top of the
work tree through real folders only. A later commit can turn a folder into
a symbolic link to somewhere outside the repository; like `git apply`,
tdxbot does not go "beyond a symbolic link". Each folder is opened without
following links (O_NOFOLLOW, relative to the one above), the file too, and
the new file is written beside it through the same folder handle and renamed
over it only if it is still the file that was read. A symbolic link is never
read, followed or replaced by a regular file. A refused fix is reported with
its reason; nothing outside the work tree is read or written.
"""
from __future__ import annotations

import os
import stat

from ..common import NamedTuple, UserError
from ..lint import Edit, Finding, Review, apply, still_parses, without_overlaps
from ..mail import printable

# Uncommitted changes this close to an edit make it the author's hunk.
NEAR = 3
# A file larger than this is not read to be fixed.
MAX_FIX_BYTES = 32 << 20
# Git modes of the files a fix may rewrite: plain and executable files.
_REGULAR_MODES = ("100644", "100755")


class Outcome(NamedTuple):
    finding: Finding
    done: bool
    why: str  # for a fix left out


class Target(NamedTuple):
    """A work tree file a fix may rewrite, as it was read."""
    text: str
    mode: int  # st_mode
    identity: tuple  # (st_dev, st_ino, st_size, st_mtime_ns): unchanged until the write


class FixResult(NamedTuple):
    outcomes: list[Outcome]
    texts: dict[str, tuple[str, str]]  # path -> (work tree text, fixed text)
    targets: dict[str, Target]  # path -> the file as read

    @property
    def applied(self) -> list[Finding]:
        return [o.finding for o in self.outcomes if o.done]


class Refused(Exception):
    """A path a fix may not read or write, and why (one line)."""


def plan_fixes(review: Review, root: str) -> FixResult:
    """Place every fix of the review in the work tree's files (nothing is
    written here)."""
    by_patch = {p.index: p for p in review.series.patches}
    outcomes: list[Outcome] = []
    chosen: dict[str, list[tuple[Edit, Finding]]] = {}
    targets: dict[str, Target] = {}
    refused: dict[str, str] = {}
    dirty: dict[str, list[range]] = {}
    for f in review.findings:
        if not f.fix:
            continue
        patch = by_patch.get(f.patch_index)
        post = {(d.path, ln.new_no): ln.text for d in patch.files for h in d.hunks for ln in h.lines
                if ln.new_no is not None} if patch else {}
        blobs = {d.path: d.post_image_text.split("\n") for d in patch.files
                 if d.post_image_text is not None} if patch else {}
        placed, why = [], ""
        for edit in f.fix:
            if edit.path not in targets and edit.path not in refused:
                try:
                    targets[edit.path] = _read(root, edit.path)
                    dirty[edit.path] = _uncommitted(root, edit.path)
                except Refused as exc:
                    refused[edit.path] = str(exc)
            if edit.path in refused:
                why = refused[edit.path]
                break
            lines = targets[edit.path].text.split("\n")
            why = _disagreement(edit, post, blobs.get(edit.path))
            if why:
                break
            moved, why = _place(edit, post, lines)
            if moved is None:
                break
            if _taken(edit, lambda n: post.get((edit.path, n))) != _taken(moved, _line_of(lines)):
                why = "the text it replaces is not where the patch has it"
                break
            if any(n in r for r in dirty[edit.path] for n in range(moved.line - NEAR, moved.end_line + NEAR + 1)):
                why = "uncommitted changes in the same place"
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
        original = targets[path].text
        why = "overlaps another fix"
        try:
            fixed = apply(original, edits)
        except ValueError:
            kept, why = set(), "the fix does not fit the file"
        else:
            if not still_parses(original, fixed):
                kept, why = set(), "the fixed file would not parse"
        for i, o in enumerate(outcomes):
            if o.done and any(e.path == path for e in o.finding.fix) and id(o.finding) not in kept:
                outcomes[i] = Outcome(o.finding, False, why)
        if kept:
            texts[path] = (original, fixed)
    return FixResult(outcomes, texts, targets)


# -- where a fix lands ----------------------------------------------------------


def _line_of(lines: list[str]):
    return lambda n: lines[n - 1] if 1 <= n <= len(lines) else None


def _taken(edit: Edit, line_text) -> bytes | None:
    """The bytes an edit takes out, its lines given by line_text(n) (each
    ended by a newline, as git counts lines); None when they are not all
    there or a column is past its line."""
    out = bytearray()
    for n in range(edit.line, edit.end_line + 1):
        lo = edit.column if n == edit.line else 0
        hi = edit.end_column if n == edit.end_line else None
        if n == edit.end_line and hi == 0 and n != edit.line:
            break  # the span ends where this line starts
        text = line_text(n)
        if text is None:
            if edit.line == edit.end_line and lo == hi == 0:
                break  # an insertion before a line: it takes nothing out
            return None
        raw = text.encode("utf-8", "surrogateescape") + b"\n"
        hi = len(raw) if hi is None else hi
        if not 0 <= lo <= hi <= len(raw):
            return None
        out += raw[lo:hi]
    return bytes(out)


def _disagreement(edit: Edit, post: dict, blob: list[str] | None) -> str:
    """Why the patch's numbering cannot be trusted for this edit: a line it
    shows is not that line of the file git has at its commit (a carriage
    return or another break git does not count makes them part ways).
    Empty when they agree, or the file at the commit is not known."""
    if blob is None:
        return ""
    for n in range(edit.line - 1, edit.end_line + 1):
        shown = post.get((edit.path, n))
        if shown is not None and (n > len(blob) or blob[n - 1] != shown):
            return f"line {n} of the patch is not line {n} of the file at its commit"
    return ""


def _place(edit: Edit, post: dict, lines: list[str]) -> tuple[Edit | None, str]:
    """The edit moved to where its lines are in the work tree's lines."""
    want = [post.get((edit.path, n)) for n in edit.lines if (edit.path, n) in post or n == edit.line]
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
    first = want[0]
    places = [n for n, text in enumerate(lines, 1) if text == first and at(n)]
    return places[0] if len(places) == 1 else None


# -- the work tree, without following links -------------------------------------


def _parts(path: str) -> list[str]:
    """The names along a repository path; Refused for one that could leave
    the work tree or reach git's own folder."""
    parts = path.split("/")
    if not path or "\0" in path or path.startswith("/") or \
            any(p in ("", ".", "..") or p.casefold() == ".git" for p in parts):
        raise Refused(f"{printable(path)!r} is not a path inside the work tree")
    return parts


def _folder(root: str, parts: list[str]) -> int:
    """An open handle on the folder that holds the file, reached from the
    top of the work tree through real folders only."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    for i, name in enumerate(parts[:-1]):
        try:
            nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError as exc:
            link = _is_link(exc) and _lstat_is_link(name, fd)
            os.close(fd)
            where = printable("/".join(parts[:i + 1]))
            if link:
                raise Refused(f"{where} is a symbolic link; tdxbot does not write beyond one") from None
            raise Refused(f"{where}: {exc.strerror or exc}") from None
        os.close(fd)
        fd = nxt
    return fd


def _is_link(exc: OSError) -> bool:
    """The errors open() with O_NOFOLLOW gives for a symbolic link (ELOOP,
    or ENOTDIR with O_DIRECTORY; EMLINK on some BSDs)."""
    import errno

    return exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


def _lstat_is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _tracked(root: str, path: str) -> None:
    """Refused unless git tracks path as a plain or executable file (not a
    symbolic link, a submodule, or a conflict)."""
    out = _git(root, "ls-files", "--stage", "-z", "--", path).split(b"\0")
    entries = [e.split(b"\t", 1) for e in out if e]
    mine = [meta.split() for meta, name in entries if name == path.encode("utf-8", "surrogateescape")]
    if len(mine) != 1 or mine[0][2] != b"0":
        raise Refused(f"{printable(path)} is not a file git tracks here" if not mine else
                      f"{printable(path)} has a merge conflict")
    if mine[0][0].decode() not in _REGULAR_MODES:
        raise Refused(f"{printable(path)} is a symbolic link or a submodule in git, not a file")


def _read(root: str, path: str) -> Target:
    """The work tree's file at path, read without following a link."""
    parts = _parts(path)
    folder = _folder(root, parts)
    try:
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=folder)
        except OSError as exc:
            if _is_link(exc) and _lstat_is_link(parts[-1], folder):
                raise Refused(f"{printable(path)} is a symbolic link; tdxbot does not replace one") from None
            raise Refused(f"{printable(path)}: cannot read it to fix it: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise Refused(f"{printable(path)} is not a regular file")
            _tracked(root, path)
            if st.st_size > MAX_FIX_BYTES:
                raise Refused(f"{printable(path)} is larger than {MAX_FIX_BYTES >> 20} MiB")
            data = fh.read(MAX_FIX_BYTES + 1)
    finally:
        os.close(folder)
    return Target(data.decode("utf-8", "surrogateescape"), st.st_mode,
                  (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))


def _git(root: str, *args: str, stdin: bytes | None = None, env=None) -> bytes:
    # Paths are names, never patterns (a file named '*' is that file).
    import subprocess

    proc = subprocess.run(["git", "-C", root, *args], input=stdin, capture_output=True,
                          env={**os.environ, "GIT_LITERAL_PATHSPECS": "1", **(env or {})})
    if proc.returncode:
        raise UserError(f"git {args[0]} failed: {printable(proc.stderr.decode('utf-8', 'replace').strip())}")
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
    """Write each fixed file in place of the old one: a new file beside it
    (made through the same folder handle, never through a link), renamed
    over it only while it is still the file that was read, with its mode
    kept, so that a crash leaves one or the other. A file that cannot be
    written so has its fixes marked not done, with the reason."""
    for path in list(result.texts):
        try:
            _write(root, path, result.texts[path][1], result.targets[path])
        except (Refused, OSError) as exc:
            why = str(exc) if isinstance(exc, Refused) else \
                f"cannot write {printable(path)}: {exc.strerror or exc}"
            del result.texts[path]
            for i, o in enumerate(result.outcomes):
                if o.done and any(e.path == path for e in o.finding.fix):
                    result.outcomes[i] = Outcome(o.finding, False, why)


def _write(root: str, path: str, text: str, target: Target) -> None:
    parts = _parts(path)
    folder = _folder(root, parts)
    try:
        name = parts[-1]
        try:
            now = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except OSError as exc:
            raise Refused(f"{printable(path)}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(now.st_mode) or \
                (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) != target.identity:
            raise Refused(f"{printable(path)} changed while it was being fixed")
        import secrets

        for _ in range(8):
            tmp = f".tdxbot-fix-{secrets.token_hex(6)}"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o600, dir_fd=folder)
                break
            except FileExistsError:
                continue
        else:
            raise Refused(f"{printable(path)}: no free name for the new file beside it")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8", "surrogateescape"))
                fh.flush()
                os.fchmod(fh.fileno(), stat.S_IMODE(target.mode) & 0o777)
                os.fsync(fh.fileno())
            os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=folder)
            except OSError:
                pass
            raise
    finally:
        os.close(folder)


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
                mode = "100755" if result.targets[path].mode & 0o111 else "100644"
                _git(root, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            trees.append(_git(root, "write-tree", env=env).decode().strip())
        return _git(root, "diff", "--no-color", "--no-ext-diff", "--no-textconv", trees[0], trees[1], "--",
                    *sorted(result.texts)).decode("utf-8", "surrogateescape")


def outcome_lines(result: FixResult, commits: dict[int, str] | None = None) -> tuple[list[str], str]:
    """A line per fix, applied or left out and why, and a summary that
    names the commit each fix belongs in (commits: patch index -> commit):
    'git commit --amend' would put a fix of an earlier commit into the last."""
    lines = []
    for o in result.outcomes:
        f = o.finding
        verb = "fixed" if o.done else f"not fixed ({o.why})"
        lines.append(printable(f"{verb}: {f.path}:{f.line}: [{f.rule}] {f.message}"))
    summary = f"{len(result.applied)} fix(es) applied to {len(result.texts)} file(s); see 'git diff'"
    if not result.applied:
        return lines, summary
    owners: dict[str, set[str]] = {}  # commit -> the files its fixes touch
    for f in result.applied:
        owners.setdefault((commits or {}).get(f.patch_index, ""), set()).add(f.path)
    if "" in owners:
        return lines, summary + (", then 'git commit --fixup=<the commit each fix is for>' and "
                                 "'git rebase -i --autosquash'")
    if len(owners) == 1:
        sha = next(iter(owners))[:12]
        return lines, summary + f", then 'git commit -a --fixup={sha}' and 'git rebase -i --autosquash {sha}^'"
    each = "; ".join(f"--fixup={sha[:12]} for {', '.join(sorted(paths))}" for sha, paths in owners.items())
    return lines, (summary + f", then commit each commit's fixes on their own ({each}) and run "
                   "'git rebase -i --autosquash' from the oldest of them")


def unfixed(review: Review, result: FixResult) -> Review:
    """The review without the findings the fixes took care of."""
    done = {id(f) for f in result.applied}
    return Review(review.series, [f for f in review.findings if id(f) not in done], list(review.notes))
