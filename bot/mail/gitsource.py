"""A series from a git branch, for the pre-submission check.

`git rev-list` picks the commits from whatever the user typed (ranges,
counts, paths). Every other question is asked of git once for the whole
range, never once per commit, so the cost grows with the range and not
with its square:

- one `git log --raw` lists each commit's subject and the files it
  changes (with their new blob ids), which is all the scope needs: with a
  `scope`, commits outside it are left out here and never made into mails;
- one `git log` writes the mails format-patch would send for the commits
  that are checked (commit_mails), read as git writes them;
- one `git cat-file --batch` reads the whole post-image files.

A b4 prep branch is read through b4 (its cover letter and numbering).

What git cannot show as text is said, never skipped quietly: a file git
takes for binary (a NUL byte in it) is named in a note and in `unread`; a
commit at the cut-off of a shallow clone is named as that, not as a root
commit. Bytes that are not UTF-8 are carried as format-patch carries them.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable

from ..common import NamedTuple, UserError, lazy_re
from .b4glue import prep_branch_patches
from .litemail import parse_lite
from .model import FileDiff, Patch, Series
from .parse import patch_from_message
from .safe import printable
from .sources import MAX_MESSAGE_BYTES, parse_message
from .subjects import parse_subject

# One revision by name: no option, no range (A..B, ^A) and no shorthand for
# one (A^!, A^@, A^-).
_LONE_REVISION = lazy_re(r"^(?![-^])(?!.*\.\.)(?!.*\^[!@-]\d*$).+$")
# Whole post-image files larger than this are not attached: the rules then
# see the hunks only (KVM's x86.c, among the largest files TDX patches touch,
# is about 400 KB). Nor are those past a budget for the whole series: each
# whole file costs the rules a parse (about 3 s for 7 MB), and a thousand
# commits each changing one line of a 7 MB header would hold and parse
# gigabytes.
MAX_POST_IMAGE = 2 << 20
MAX_POST_IMAGES = 32 << 20
# git takes a file for binary when its first 8000 bytes hold a NUL.
_GIT_BINARY_PROBE = 8000
# A subject longer than this is cut (format-patch's is the commit's whole
# first paragraph).
MAX_GIT_SUBJECT = 4000
_REGULAR_MODES = (b"100644", b"100755")
# Files of one commit the listing keeps (lint.limits stops at 2,000).
MAX_LISTED_FILES = 4096


class Unread(NamedTuple):
    """A file of a checked patch whose content no rule could read."""
    patch_index: int
    message_id: str | None
    path: str
    why: str


class GitSeries:
    def __init__(self, series: Series, root: str, notes: list[str], range_text: str,
                 mails: dict[int, bytes], left_out: tuple = (), unread: tuple = (),
                 commits: dict[int, str] | None = None):
        self.series = series
        self.root = root  # the work tree's top folder
        self.notes = notes
        self.range_text = range_text
        self.mails = mails  # patch index -> the mail as it would be sent
        # Patches the scope left out (stand-ins: number, title and paths only).
        self.left_out = left_out
        self.unread = unread  # of Unread
        self.commits = commits or {}  # patch index -> its commit


def _toplevel(cwd: str) -> str:
    import subprocess

    proc = subprocess.run(["git", "rev-parse", "--is-bare-repository", "--show-toplevel"], cwd=cwd,
                          capture_output=True)
    out = _answer_and_path(proc.stdout.decode("utf-8", "surrogateescape"))
    if proc.returncode or not out:
        if out and out[0] == "true":
            raise UserError("a bare repository has no work tree to check")
        if b"not a git repository" in proc.stderr or proc.returncode == 128:
            raise UserError(f"{os.path.abspath(cwd)}: not inside a git repository")
        raise UserError(f"git rev-parse: {printable(proc.stderr.decode('utf-8', 'replace').strip()[:200])}")
    if out[0] == "true" or len(out) < 2:
        raise UserError("a bare repository has no work tree to check")
    return out[1]


def _answer_and_path(out: str) -> list[str]:
    """`git rev-parse --is-...-repository --<path option>` output: the
    answer, then the path as git prints it, unquoted. Only a newline ends
    either; a folder name may hold U+2028, U+0085, a file separator or a
    newline, where str.splitlines() would cut it and name another folder."""
    if not out:
        return []
    answer, _, rest = out.partition("\n")
    return [answer] + ([rest.removesuffix("\n")] if rest else [])


def load_git_series(revs: list[str] | None = None, paths: list[str] | None = None,
                    cwd: str = ".", scope: Callable | None = None) -> GitSeries:
    """The series a branch would send, with whole post-image files attached.

    revs and paths are what `git rev-list` takes (`HEAD^!`, `-3`, `A..B`,
    `^A B`, options); paths limit the commits, as they do for git. With no
    revs: the b4 prep series, else @{upstream}..HEAD. A lone revision A
    means A..HEAD, as it does for git format-patch.

    scope, when given, is called with the work tree's top folder and returns
    the function that cuts a series to the patches tdxbot checks
    (lint.split_by_scope), or None to check them all. Commits it leaves out
    are judged from git's listing alone (subject and paths), keep their
    numbers in the series, and come back as GitSeries.left_out."""
    import subprocess

    root = _toplevel(cwd)
    revs, paths = list(revs or []), list(paths or [])
    notes: list[str] = []
    split = scope(root) if scope is not None else None
    patches = None
    if not revs:
        old_cwd = os.getcwd()
        os.chdir(root)  # b4 runs git in the current folder
        try:
            patches = prep_branch_patches()
        finally:
            os.chdir(old_cwd)
        if patches is not None:
            range_text = "the b4 prep series on " + (_git_lines(root, "branch", "--show-current") or ["HEAD"])[0]
            if paths:
                patches = _touching(root, patches, paths)
                range_text += " -- " + " ".join(paths)
            # A prep series cut by paths keeps the numbers it will be sent with.
            gs = _prep_series(root, patches, range_text, notes, renumber=not paths)
            if split is not None:
                gs.series, gs.left_out = split(gs.series)
            return gs
    if not revs:
        proc = subprocess.run(["git", "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"],
                              cwd=root, capture_output=True)
        if proc.returncode:
            raise UserError("no range given, and this branch is neither a b4 prep branch nor "
                            "tracking an upstream: pass one, e.g. 'tdxbot check "
                            "origin/master..HEAD' or 'tdxbot check -3'")
        revs = [f"{proc.stdout.decode('utf-8', 'replace').strip()}..HEAD"]
    range_text = " ".join(revs + (["--"] + paths if paths else []))
    commits = _rev_list(root, _as_series_range(root, revs), paths)
    if not commits:
        raise UserError(f"empty range: {range_text} has no commits to check")
    return _range_series(root, commits, range_text, notes, split)


def _git_lines(root: str, *args, stdin: str | None = None) -> list[str]:
    """A git command's output lines; its complaint as a UserError."""
    import subprocess

    proc = subprocess.run(["git", *args], cwd=root, input=stdin, text=True,
                          capture_output=True, errors="replace")
    if proc.returncode:
        detail = next((ln.removeprefix("fatal: ").strip() for ln in proc.stderr.splitlines()
                       if ln.startswith(("fatal:", "error:"))), proc.stderr.strip()[:200])
        detail = printable(detail)
        if args[0] in ("rev-list", "rev-parse"):
            raise UserError(f"unknown revision or bad argument for git rev-list: {detail} "
                            "(arguments that are not tdxbot options go to git rev-list)"
                            + _shallow_hint(root))
        raise UserError(f"git {args[0]}: {detail}")
    return [ln for ln in proc.stdout.splitlines() if ln.strip()]


def _as_series_range(root: str, revs: list[str]) -> list[str]:
    """revs as rev-list takes them. A lone positive revision means REV..HEAD
    (format-patch's reading: its whole history is never the series); revs
    with no positive revision, such as `-3`, count back from HEAD."""
    named = _git_lines(root, "rev-parse", "--revs-only", "--no-flags", *revs, "--")
    positive = [r for r in named if not r.startswith("^")]
    if len(revs) == 1 and _LONE_REVISION.match(revs[0]) and positive:
        return [f"^{positive[0]}", "HEAD"]
    return revs if positive else revs + ["HEAD"]


def _rev_list(root: str, revs: list[str], paths: list[str]) -> list[str]:
    """The commits, oldest first, as `git rev-list` picks them (an option
    such as --parents adds words after each: the first is the commit)."""
    commits = [ln.split()[0] for ln in _git_lines(root, "rev-list", "--reverse", *revs, "--", *paths)]
    odd = next((c for c in commits if not _COMMIT_ID.match(c)), None)
    if odd is not None:
        raise UserError(f"git rev-list printed {printable(odd)[:40]!r} where a commit was due: pass "
                        "revisions and limits, not options that change what it prints")
    return commits


_COMMIT_ID = lazy_re(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


# -- shallow clones ------------------------------------------------------------------


def _shallow_commits(root: str) -> set[str]:
    """The commits where a shallow clone's history is cut (empty when the
    clone is whole)."""
    import subprocess

    proc = subprocess.run(["git", "rev-parse", "--is-shallow-repository", "--git-path", "shallow"],
                          cwd=root, capture_output=True)
    out = _answer_and_path(proc.stdout.decode("utf-8", "surrogateescape"))
    if proc.returncode or not out or out[0] != "true" or len(out) < 2:
        return set()
    try:
        with open(os.path.join(root, out[1]), encoding="ascii", errors="replace") as fh:
            return {ln.strip() for ln in fh if ln.strip()}
    except OSError:
        return {"?"}


def _shallow_hint(root: str) -> str:
    cut = _shallow_commits(root)
    if not cut:
        return ""
    return (f"; this is a shallow clone, whose history stops at {len(cut)} commit(s): "
            "'git fetch --deepen=N' (or --unshallow) brings more")


def _shallow_error(root: str, sha: str, subject: str, range_text: str) -> UserError:
    return UserError(f"{range_text} reaches the cut-off of this shallow clone at {sha[:12]} "
                     f"({printable(subject)[:60]}): its parent is not here, so neither its diff nor "
                     "where the range starts is known; fetch more history ('git fetch --deepen=N' or "
                     "'git fetch --unshallow') or check a shorter range")


# -- the range, in three git processes -------------------------------------------------


class Listed(NamedTuple):
    subject: str
    # (status letter, new mode, new blob id, path, old path or None)
    entries: tuple[tuple[str, bytes, str, str, str | None], ...]


def _listing(root: str, commits: list[str]) -> dict[str, Listed]:
    """Each commit's subject and the files it changes, from one `git log
    --raw -z` (renames found as the mails find them), read as git writes
    it. A commit keeps at most MAX_LISTED_FILES files: one that changes more
    is too large to review anyway (lint.limits), and the listing of a range
    of such commits is never held whole."""
    import subprocess

    import tempfile

    out: dict[str, Listed] = {}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(["git", "log", "--no-walk=unsorted", "--stdin", "-z", "--raw", "--no-abbrev",
                                 "--find-renames", "--no-relative", "--encoding=utf-8", "--format=%H%x00%s"],
                                cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        _feed(proc, "".join(c + "\n" for c in commits).encode())
        try:
            tokens = _tokens(proc.stdout)
            token = next(tokens, None)
            while token is not None:
                sha = token.strip().decode("ascii", "replace")
                subject = next(tokens, b"").decode("utf-8", "replace")
                entries = []
                token = next(tokens, None)
                # A raw entry starts ':' (the first one after a newline); paths
                # are taken by count, never by their look.
                while token is not None and token.lstrip(b"\n").startswith(b":"):
                    meta = token.lstrip(b"\n")[1:].split()
                    status = meta[4][:1].decode("ascii", "replace") if len(meta) >= 5 else "?"
                    two = status in ("R", "C")
                    names = [next(tokens, b"").decode("utf-8", "replace") for _ in range(1 + two)]
                    if len(meta) >= 5 and len(entries) < MAX_LISTED_FILES:
                        path, old = (names[1], names[0]) if two else (names[0], None)
                        entries.append((status, meta[1], meta[3].decode("ascii", "replace"), path, old))
                    token = next(tokens, None)
                out[sha] = Listed(subject, tuple(entries))
        finally:
            proc.stdout.close()
            status = proc.wait()
        if status:
            err.seek(0)
            detail = err.read(65536).decode("utf-8", "replace").strip().splitlines()
            raise UserError(f"git log: {printable(detail[-1] if detail else 'failed')}")
    return out


def _tokens(stream, size: int = 1 << 16, longest: int = 1 << 16):
    """The NUL-separated pieces of a stream, read a block at a time; a piece
    is cut at `longest` bytes (a subject can be a whole paragraph)."""
    rest = b""
    while True:
        block = stream.read(size)
        if not block:
            break
        pieces = block.split(b"\0")
        pieces[0] = rest + pieces[0][:max(longest - len(rest), 0)]
        rest = pieces.pop()[:longest]
        yield from pieces
    if rest:
        yield rest


def _range_series(root: str, commits: list[str], range_text: str, notes: list[str],
                  split) -> GitSeries:
    """The series of the commits rev-list picked: merges and root commits
    are noted and skipped; the rest numbered as one series, in order."""
    parents: dict[str, list[str]] = {}
    for line in _git_lines(root, "rev-list", "--no-walk=unsorted", "--parents", "--stdin",
                           stdin="\n".join(commits) + "\n"):
        sha, *up = line.split()
        parents[sha] = up
    listed = _listing(root, commits)
    cut = None
    order = []
    for sha in commits:
        up = parents.get(sha, [])
        subject = listed[sha].subject if sha in listed else ""
        if len(up) > 1:
            notes.append(f"skipped merge {sha[:12]} ({printable(subject)[:80]})")
        elif not up:
            if cut is None:
                cut = _shallow_commits(root)
            if sha in cut:
                raise _shallow_error(root, sha, subject, range_text)
            notes.append(f"skipped root commit {sha[:12]} (it has no parent to diff against)")
        else:
            order.append(sha)
    if not order:
        raise UserError("no commits to check: only merges or a root commit in the range")
    total = len(order)
    numbers = {sha: (i, total) for i, sha in enumerate(order, 1)}
    tag = order[-1][:12]
    subjects = {sha: _subject(listed[sha].subject if sha in listed else "", numbers[sha]) for sha in order}
    left_out: tuple = ()
    checked = order
    if split is not None:
        stand_ins = {sha: _stand_in(sha, subjects[sha], listed.get(sha), numbers[sha], tag) for sha in order}
        kept, left_out = split(Series(title=stand_ins[order[0]].title, version=1, total=total, cover=None,
                                      patches=tuple(stand_ins[sha] for sha in order)))
        keep = {id(p) for p in kept.patches}
        checked = [sha for sha in order if id(stand_ins[sha]) in keep]
        if not checked:  # nothing in scope: the caller says so
            return GitSeries(kept._replace(patches=()), root, notes, range_text, {}, tuple(left_out))
    patches = list(commit_mails(root, checked, numbers, subjects, tag, MAX_MESSAGE_BYTES))
    title = parse_subject(subjects[order[0]]).title
    return _build(root, patches, listed, range_text, notes, left_out, title=title, total=total,
                  numbers=numbers, tag=tag)


def _subject(commit_subject: str, number: tuple[int, int]) -> str:
    """The subject b4 and format-patch give a commit: [PATCH N/M] and its
    own subject, the bracketed words it starts with kept among the prefixes
    (RFC, net-next), a version or counter of its own dropped. Linear in the
    subject, whatever brackets it holds."""
    text = " ".join(commit_subject[:MAX_GIT_SUBJECT].split())
    extra: list[str] = []
    at = 0
    while text.startswith("[", at):
        end = text.find("]", at)
        if end < 0:
            break
        for word in text[at + 1:end].replace(",", " ").split():
            low = word.lower()
            if low.startswith("patch") or _VERSION_WORD.match(word) or _COUNTER_WORD.match(word):
                continue
            if low not in (w.lower() for w in extra) and len(extra) < 8:
                extra.append(word)
        at = end + 1
        while at < len(text) and text[at] == " ":
            at += 1
    index, total = number
    words = ["PATCH"] + extra
    if total > 1:
        words.append(f"{str(index).zfill(len(str(total)))}/{total}")
    return f"[{' '.join(words)}] {text[at:]}"


_VERSION_WORD = lazy_re(r"^v\d+$", re.I)
_COUNTER_WORD = lazy_re(r"^\d{1,4}/\d{1,4}$")


def _stand_in(sha: str, subject: str, listed: Listed | None, number: tuple[int, int], tag: str) -> Patch:
    """What the scope reads of a commit, without its mail: number, subject
    and the paths it changes (the old path of a rename too)."""
    title, tags, version, _index, _total, _ = parse_subject(subject)
    files = tuple(FileDiff(path=path, old_path=old, is_new=status == "A", is_deleted=status == "D",
                           is_binary=False, hunks=()) for status, _m, _b, path, old in
                  (listed.entries if listed else ()))
    return Patch(subject=subject, title=title, tags=tuple(tags), version=version, index=number[0],
                 total=number[1], from_header="", date="",
                 message_id=f"{tag}-{number[0]}-tdxbot-check@localhost", in_reply_to=None, references=(),
                 to_headers=(), cc_headers=(), reply_to_headers=(), changelog_lines=(), trailers=(),
                 files=files, body_lines=())


# -- commits as mails -----------------------------------------------------------------

# `git log` writes each commit as the mail `git format-patch` (and b4, which
# runs `git show --format=email` with these options) would send; numbers,
# subject, Message-ID and threading are put in by commit_mails. What in the
# user's or the repository's configuration would change the diff's form is
# turned off (prefixes, colour, external diff and textconv drivers, notes,
# signatures, a relative diff). --pretty=mboxrd quotes every 'From ' line of
# a commit message, so the unquoted 'From <commit> ...' line that starts
# each mail cannot be forged by what a commit says.
_MAIL_OPTIONS = ("--no-walk=unsorted", "--stdin", "--pretty=mboxrd", "--binary", "--patch-with-stat",
                 "--encoding=utf-8", "--find-renames", "--src-prefix=a/", "--dst-prefix=b/", "--no-color",
                 "--no-ext-diff", "--no-textconv", "--no-notes", "--no-show-signature", "--no-relative")
_MBOX_FROM_TAIL = b" Mon Sep 17 00:00:00 2001\n"
_QUOTED_FROM = lazy_re(rb"^>(>*From )", re.M)


def commit_mails(root: str, commits: list[str], numbers: dict[str, tuple[int, int]],
                 subjects: dict[str, str], tag: str, limit: int):
    """(commit, mail) for each commit, in order: the mail format-patch
    would write, with subjects[commit] as its subject, Message-ID
    <tag-N-tdxbot-check@localhost> for numbers[commit] = (N, M), and every
    patch after the first a reply to patch 1. One `git log` for them all,
    read as it writes; a mail over `limit` bytes is (commit, None), never
    held whole."""
    import subprocess

    if not commits:
        return
    cmd = ["git", "log", *_MAIL_OPTIONS]
    if not _git_bool(root, "sendemail.mailmap"):
        cmd.append("--no-mailmap")
    signature = b"\n-- \n" + _git_version(root) + b"\n"
    first = f"<{tag}-1-tdxbot-check@localhost>"
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        _feed(proc, "".join(c + "\n" for c in commits).encode())
        try:
            yield from _split_mails(proc.stdout, commits, numbers, subjects, tag, first, signature, limit)
        finally:
            proc.stdout.close()
            status = proc.wait()
        if status:
            err.seek(0)
            detail = err.read(65536).decode("utf-8", "replace").strip().splitlines()
            raise UserError(f"git log: {printable(detail[-1] if detail else 'failed')}")


def _split_mails(stream, commits: list[str], numbers, subjects, tag: str, first: str, signature: bytes,
                 limit: int):
    """git's output cut into one mail per commit. A mail starts at the line
    'From <commit> Mon Sep 17 00:00:00 2001' for the commit due next, at
    the start of a line only (a line is read at most `limit` bytes at a
    time, and a piece of a longer line never counts as a line start)."""
    expected = iter(commits)
    current: str | None = None
    chunk: list[bytes] | None = []
    size = 0
    at_start = True
    while True:
        line = stream.readline(limit + 1)
        if not line:
            break
        starts, at_start = at_start, line.endswith(b"\n")
        if starts and line.startswith(b"From ") and line.endswith(_MBOX_FROM_TAIL):
            sha = line[5:-len(_MBOX_FROM_TAIL)].decode("ascii", "replace")
            if current is not None:
                yield current, _mail(chunk, numbers[current], subjects[current], tag, first, signature)
            current = next(expected, None)
            if current != sha:
                raise UserError(f"git log wrote commit {printable(sha)[:12]} where {str(current)[:12]} "
                                "was due")
            chunk, size = [], 0
            continue
        if chunk is None or current is None:
            continue  # over the limit: read on, keep nothing
        size += len(line)
        if size > limit:
            chunk = None
        else:
            chunk.append(line)
    if current is not None:
        yield current, _mail(chunk, numbers[current], subjects[current], tag, first, signature)
    if next(expected, None) is not None:
        raise UserError("git log wrote fewer commits than it was asked for")


def _feed(proc, data: bytes) -> None:
    """Write data to a process's stdin from a thread, so that what it
    writes meanwhile is read and neither side waits on the other."""
    import threading

    def write():
        try:
            proc.stdin.write(data)
        except OSError:
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass
    threading.Thread(target=write, daemon=True).start()


def _mail(lines: list[bytes] | None, number: tuple[int, int], subject: str, tag: str, first: str,
          signature: bytes) -> bytes | None:
    """One mail from git's lines: git's From and Date, the series'
    subject, the MIME headers of a UTF-8 body, the threading headers; the
    body as git wrote it (mboxrd quoting undone, format-patch's signature
    added), bytes that are not UTF-8 kept as they are, as format-patch
    sends them. Any other header git wrote is left out."""
    if lines is None:
        return None
    head, _, body = b"".join(lines).partition(b"\n\n")
    headers: dict[bytes, bytes] = {}
    name = None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and name is not None:
            headers[name] += b" " + line.strip()
            continue
        key, sep, value = line.partition(b":")
        name = key.strip().lower() if sep else None
        if name in (b"from", b"date") and name not in headers:
            headers[name] = value.strip()
        else:
            name = None
    body = _QUOTED_FROM.sub(rb"\1", body)
    if body.find(b"\n-- \n") <= 0:
        body += signature
    out = [b"From: " + headers.get(b"from", b""), b"Date: " + headers.get(b"date", b""),
           b"Subject: " + _header_text(subject), b"MIME-Version: 1.0",
           b'Content-Type: text/plain; charset="utf-8"', b"Content-Transfer-Encoding: 8bit",
           f"Message-Id: <{tag}-{number[0]}-tdxbot-check@localhost>".encode()]
    if number[0] != 1:
        out += [f"In-Reply-To: {first}".encode(), f"References: {first}".encode()]
    return b"\n".join(out) + b"\n\n" + body


def _header_text(text: str) -> bytes:
    """A header value in ASCII: RFC 2047 words for anything else."""
    text = " ".join(text.split())
    if text.isascii():
        return text.encode("ascii")
    from email.header import Header

    return Header(text.encode("utf-8", "replace").decode("utf-8"), "utf-8").encode().encode("ascii")


def _git_bool(root: str, key: str) -> bool:
    import subprocess

    proc = subprocess.run(["git", "config", "--type=bool", "--get", key], cwd=root, capture_output=True)
    return proc.stdout.strip() == b"true"


def _git_version(root: str) -> bytes:
    """What format-patch writes under '-- ': git's version number."""
    import subprocess

    out = subprocess.run(["git", "--version"], cwd=root, capture_output=True).stdout.split()
    return out[-1] if out else b"git"


# -- whole files --------------------------------------------------------------------


def _blobs(root: str, ids: list[str]) -> dict[str, tuple[str | None, bytes]]:
    """Each blob as (its text, or None past MAX_POST_IMAGE or the budget of
    MAX_POST_IMAGES; its first bytes, where git looks for a NUL), from one
    `git cat-file --batch`."""
    import subprocess

    out: dict[str, tuple[str | None, bytes]] = {}
    if not ids:
        return out
    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    _feed(proc, "".join(i + "\n" for i in ids).encode())
    held = 0
    try:
        for want in ids:
            header = proc.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                if not header:
                    break
                continue  # missing, or not a blob
            size = int(header[2])
            if size <= MAX_POST_IMAGE and held + size <= MAX_POST_IMAGES:
                held += size
                data = proc.stdout.read(size)
                out[want] = (data.decode("utf-8", "surrogateescape"), data[:_GIT_BINARY_PROBE])
            else:
                head = proc.stdout.read(_GIT_BINARY_PROBE)
                left = size - len(head)
                while left > 0:
                    step = proc.stdout.read(min(left, 1 << 20))
                    if not step:
                        break
                    left -= len(step)
                out[want] = (None, head)
            proc.stdout.read(1)  # the newline after the content
    finally:
        proc.stdout.close()
        proc.wait()
    return out


def _build(root: str, patches, listed: dict[str, Listed], range_text: str, notes: list[str],
           left_out: tuple, title: str | None = None, total: int | None = None,
           renumber: bool = False, numbers: dict | None = None, tag: str = "",
           with_cover: bool = False) -> GitSeries:
    """The series from (commit, mail) pairs, each changed file with its
    whole content at that commit; what could not be read is noted."""
    ids = sorted({blob for sha, _ in patches if sha in listed for _s, mode, blob, _p, _o in listed[sha].entries
                  if mode in _REGULAR_MODES and blob.strip("0")})
    blobs = _blobs(root, ids)
    cover = None
    out, raws, shas = [], [], []
    unread: list[Unread] = []
    binary: list[tuple[int, str, str]] = []  # (position in out, path, why)
    spent = over_budget = 0
    for commit, raw in patches:
        if raw is None:
            why = f"its mail is larger than {MAX_MESSAGE_BYTES >> 20} MiB"
            notes.append(f"not read: {commit[:12]} ({printable(listed[commit].subject)[:60]}): {why}; "
                         "no rule read it")
            number = (numbers or {}).get(commit, (0, 0))[0]
            unread.append(Unread(number, f"{tag}-{number}-tdxbot-check@localhost" if tag else None, "", why))
            continue
        patch = _read_patch(raw, commit[:12])
        if with_cover and (patch.index == 0 or not patch.files):
            cover = patch
            continue
        if not patch.files:
            notes.append(f"skipped {commit[:12]} ({printable(patch.title)[:60]}): it changes no file")
            continue
        blob_of = {path: (mode, blob) for _s, mode, blob, path, _o in listed[commit].entries} \
            if commit in listed else {}
        files = []
        for diff in patch.files:
            mode, blob = blob_of.get(diff.path, (b"", ""))
            text, head = blobs.get(blob, (None, b""))
            if not (diff.is_deleted or diff.is_binary) and blob in blobs:
                spent += len(text) if text is not None else 0
                if text is None or spent > MAX_POST_IMAGES:
                    over_budget += 1
                    text = None
            if diff.is_binary and not diff.is_deleted:
                binary.append((len(out), diff.path, _binary_why(head, mode)))
            if diff.is_deleted or diff.is_binary or mode not in _REGULAR_MODES:
                text = None
            files.append(diff._replace(post_image_text=text))
        out.append(patch._replace(files=tuple(files)))
        raws.append(raw)
        shas.append(commit)
    if not out:
        raise UserError(f"no patches in {range_text}")
    if renumber:
        count = len(out)
        out = [p if p.total == count and p.index else p._replace(index=i, total=count)
               for i, p in enumerate(out, 1)]
    total = total if total is not None else max(p.total for p in out)
    for at, path, why in binary:
        patch = out[at]
        unread.append(Unread(patch.index, patch.message_id, path, why))
        notes.append(f"not read: {printable(path)} in [{patch.index}/{patch.total}] "
                     f"{printable(patch.title)[:60]}: {why}; no rule read its code")
    if over_budget:
        notes.append(f"{over_budget} changed file(s) were read from their hunks only: whole files are "
                     f"attached up to {MAX_POST_IMAGE >> 20} MiB each and {MAX_POST_IMAGES >> 20} MiB for "
                     "the series")
    title = cover.title if cover is not None else (title if title is not None else out[0].title)
    series = Series(title=title, version=out[0].version, total=total, cover=cover, patches=tuple(out))
    return GitSeries(series, root, notes, range_text, {p.index: raw for p, raw in zip(out, raws)},
                     left_out, tuple(unread), {p.index: sha for p, sha in zip(out, shas) if sha})


def _read_patch(raw: bytes, where: str) -> Patch:
    """The Patch of a mail git wrote. Every CR in git's output is content
    (git ends its lines with LF alone), but the mail reader takes a lone CR
    for a line break, and would number the lines after it unlike git: each
    CR is read as a stand-in character the mail does not hold, and put back
    in the lines afterwards."""
    mark = next((chr(c) for c in range(0xE000, 0xF900) if chr(c).encode() not in raw), None) \
        if b"\r" in raw else None
    patch = patch_from_message(_message(raw.replace(b"\r", mark.encode()) if mark else raw, where), where)
    if mark is None:
        return patch

    def back(text: str) -> str:
        return text.replace(mark, "\r") if mark in text else text
    files = tuple(d._replace(hunks=tuple(h._replace(section=back(h.section), lines=tuple(
        ln._replace(text=back(ln.text)) for ln in h.lines)) for h in d.hunks)) for d in patch.files)
    return patch._replace(changelog_lines=tuple(map(back, patch.changelog_lines)),
                          body_lines=tuple(map(back, patch.body_lines)), files=files,
                          trailers=tuple(t._replace(value=back(t.value)) for t in patch.trailers))


def _message(raw: bytes, where: str):
    """A mail git wrote (one plain part, ASCII headers) read by the small
    reader: what a commit message says is no MIME structure to count."""
    return parse_lite(raw) or parse_message(raw, where)


def _binary_why(head: bytes, mode: bytes) -> str:
    at = head.find(b"\0")
    if at >= 0:
        line = head.count(b"\n", 0, at) + 1
        return f"git takes it for binary, as it has a NUL byte (line {line}, byte {at})"
    if mode and mode not in _REGULAR_MODES:
        return "git shows it as binary"
    return "git takes it for binary (its .gitattributes say so, or it is not text)"


# -- a b4 prep branch ---------------------------------------------------------------


def _touching(root: str, patches, paths: list[str]):
    """The cover letter and the patches whose commits change paths."""
    commits = [c for c, _ in patches if c]
    keep = set(_git_lines(root, "rev-list", "--no-walk=unsorted", *commits, "--", *paths)) \
        if commits else set()
    out = [(c, m) for c, m in patches if c in keep or not _is_patch_mail(m)]
    if not any(_is_patch_mail(m) for _, m in out):
        raise UserError(f"no patch of the b4 prep series changes {' '.join(paths)}")
    return out


def _is_patch_mail(raw: bytes) -> bool:
    return b"diff --git" in raw


def _prep_series(root: str, patches, range_text: str, notes: list[str], renumber: bool) -> GitSeries:
    commits = [c for c, _ in patches if c]
    listed = _listing(root, commits) if commits else {}
    return _build(root, patches, listed, range_text, notes, (), renumber=renumber, with_cover=True)


# -- lines at HEAD ----------------------------------------------------------------------

_HUNK = lazy_re(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class LinesAtHead:
    """Where a line of a file at a commit of the range is in HEAD's tree,
    followed through each later commit as git blame would: shifted by what
    the later commits add and remove above it, None once one of them
    rewrites or removes it (or the file). One `git log -p -U0` over the
    range and whatever follows it up to HEAD, however many findings."""

    def __init__(self, root: str, oldest: str, paths):
        import subprocess

        self.known = False
        self.order: list[str] = []  # commits after oldest^, oldest first
        self.hunks: dict[tuple[str, str], list[tuple[int, int, int]]] = {}  # (commit, path)
        paths = sorted(set(paths))
        if not paths:
            return
        proc = subprocess.run(["git", "log", "--reverse", "--no-renames", "--no-ext-diff", "--no-textconv",
                               "--no-color", "-p", "-U0", "--format=commit %H", f"{oldest}^..HEAD", "--",
                               *paths], cwd=root, capture_output=True)
        commit = path = None
        for line in proc.stdout.decode("utf-8", "replace").split("\n") if not proc.returncode else ():
            if line.startswith("commit "):
                commit, path = line[7:].strip(), None
                self.order.append(commit)
            elif line.startswith("+++ "):
                path = line[6:] if line.startswith("+++ b/") else None
            elif line.startswith("--- a/") and commit is not None:
                path = line[6:]  # a removal names its file here (its '+++' is /dev/null)
            elif line.startswith("@@") and commit is not None and path is not None:
                m = _HUNK.match(line)
                if m:
                    self.hunks.setdefault((commit, path), []).append(
                        (int(m[1]), int(m[2]) if m[2] is not None else 1, int(m[4]) if m[4] is not None else 1))
            elif line.startswith("+++ /dev/null") and commit is not None and path is not None:
                self.hunks.setdefault((commit, path), []).append((1, 1 << 40, 0))  # the file is gone
        self.known = proc.returncode == 0

    def map(self, commit: str, path: str, lines) -> dict[int, int | None]:
        """Each of the lines (post-image numbers of path at commit) at its
        line in HEAD's file, or None."""
        if not self.known or commit not in self.order:
            return {n: None for n in lines}
        later = [self.hunks[(c, path)] for c in self.order[self.order.index(commit) + 1:]
                 if (c, path) in self.hunks]
        out = {}
        for first in lines:
            n = first
            for hunks in later:
                n = _through(n, hunks)
                if n is None:
                    break
            out[first] = n
        return out


def _through(n: int, hunks: list[tuple[int, int, int]]) -> int | None:
    """Line n of a file as one commit's -U0 hunks leave it (None: rewritten)."""
    shift = 0
    for old_start, old_len, new_len in hunks:
        if old_len and old_start <= n < old_start + old_len:
            return None
        if (old_start + old_len - 1 if old_len else old_start) < n:
            shift += new_len - old_len
    return n + shift
