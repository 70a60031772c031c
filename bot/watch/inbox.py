"""Read a public-inbox v2 archive through its git epochs (gitpython).

An inbox is a folder with git/0.git, git/1.git, ... (epochs, a new one
about every gigabyte); every commit on an epoch's master adds one message
as the blob `m` (or deletes one, `d`). A high-water mark per epoch says how
far we have read. A remote inbox (lore or a mirror) is followed by
mirroring its epochs with git: the epochs are complete and ordered, while
search-based polling depends on Received/Date headers that lists rewrite
and that public-inbox falls back on when they are missing.

public-inbox-purge and -edit rewrite an epoch's history: every commit from
the erased message on gets a new id, and the old ones are pruned, so the
mark is no longer in the epoch. A purge rewrites the commits one for one,
keeps every other message's blob, and leaves the erased one's commit empty
with the subject "purged <blob>". So the place where reading stopped is the
commit at the mark's depth, checked against the mark's entry (see
_resume_point); failing that, the newest commit whose entry was read
before. Reading goes on from there: what came after the mark, before or
after the purge, is read once, and nothing read before is read again.
"""
from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable, Iterator

from ..common import NamedTuple, UserError
from ..mail import printable

_EPOCH = re.compile(r"^(\d+)\.git$")


class NewMessage(NamedTuple):
    epoch: int
    commit: str
    raw: bytes  # b"" when the commit carries no message to read
    archived: float | None = None  # the commit's time: when the archive took the mail
    skipped: str | None = None  # why a message there was not read
    entry: str | None = None  # the commit's archive entry (entry_key), kept as read
    depth: int | None = None  # how many commits the epoch has up to this one (rev-list --count)
    note: str | None = None  # one line for the log: the epoch's history was rewritten
    purged: frozenset[str] = frozenset()  # blobs the epoch's history says were purged


# The same ceiling as for a mail given on the command line: a blob past it
# is skipped (and recorded), never read into memory.
MAX_BLOB = 64 << 20
# What a purge leaves in place of a message: no entry can be known by it.
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
_PURGED = re.compile(r"^purged((?: [0-9a-f]{40})+)\s*$")


def entry_key(commit) -> str | None:
    """What a commit of an epoch holds, as an id that survives a purge of
    other messages: the blob id of its message 'm', 'd:' and the blob id of
    a deletion 'd', or 'p:' and the blobs a purge commit names; None for
    anything else."""
    tree = commit.tree
    for name, prefix in (("m", ""), ("d", "d:")):
        try:
            sha = tree[name].hexsha
        except KeyError:
            continue
        if sha != EMPTY_BLOB:
            return prefix + sha
        purged = purged_blobs(commit)
        return "p:" + " ".join(purged) if purged else None
    return None


def purged_blobs(commit) -> list[str]:
    """The blobs a purge commit says it erased ("purged <blob> ..."). The
    subject of every other commit is a mail's Subject, which anyone can
    write, so only a commit that looks like what public-inbox-purge writes
    counts: its message entry is the empty blob and its author has no
    address (a mail is never empty)."""
    m = _PURGED.match(commit.summary or "")
    if not m or commit.author.email:
        return []
    tree = commit.tree
    for name in ("m", "d"):
        try:
            if tree[name].hexsha == EMPTY_BLOB:
                return m.group(1).split()
        except KeyError:
            continue
    return []


def epochs(inbox: str) -> list[tuple[int, str]]:
    """(number, path) of every epoch, in order."""
    gitdir = os.path.join(inbox, "git")
    if not os.path.isdir(gitdir):
        raise UserError(f"{inbox}: not a public-inbox v2 inbox (no git/ folder of epochs)")
    found = []
    for name in os.listdir(gitdir):
        m = _EPOCH.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(gitdir, name)))
    return sorted(found)


def _head(repo) -> str | None:
    for ref in ("refs/heads/master", "refs/heads/main", "HEAD"):
        try:
            return repo.git.rev_parse("--verify", "--quiet", ref)
        except Exception:  # noqa: BLE001 - an empty epoch has no master yet
            continue
    return None


def heads(inbox: str) -> dict[int, str]:
    """The newest commit of every epoch: the marks of an archive read to its tip."""
    return {number: place[0] for number, place in positions(inbox).items()}


def positions(inbox: str) -> dict[int, tuple[str, str | None, int]]:
    """(newest commit, its entry_key, its depth) of every epoch."""
    import git

    out = {}
    for number, path in epochs(inbox):
        try:
            repo = git.Repo(path)
            head = _head(repo)
            if head is not None:
                out[number] = (head, entry_key(repo.commit(head)), _depth(repo, head))
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
            continue
        except (git.exc.GitError, ValueError) as exc:
            raise UserError(f"{path}: cannot read the epoch ({_short(exc)})") from None
    return out


def _depth(repo, commit: str) -> int:
    """How many commits the epoch has up to commit (it included)."""
    return int(repo.git.rev_list("--count", commit))


def _short(exc: BaseException) -> str:
    """One line for a git error (GitCommandError's text spans lines)."""
    import git

    if isinstance(exc, git.exc.GitCommandError):
        lines = [ln.strip() for ln in str(exc.stderr or "").splitlines() if ln.strip()]
        text = lines[-1] if lines else f"git exited with {exc.status}"
    else:
        text = " ".join(str(exc).split()) or type(exc).__name__
    return printable(redact(text.removeprefix("stderr: ").strip("'")))[:160]


def _descends(repo, mark: str, head: str) -> bool:
    """Is mark a commit of head's history (the epoch only grew since)?"""
    import git

    try:
        repo.git.merge_base("--is-ancestor", mark, head)
        return True
    except git.exc.GitCommandError:
        return False  # status 1: not an ancestor; 128: no such commit any more


def _resume_point(repo, number: int, mark: str, head: str, known: Callable[[str], bool],
                  depth: int | None, mark_entry: str | None) -> tuple[str, int, str, frozenset[str]]:
    """Where to go on reading an epoch whose history was rewritten under
    the mark: (commit to read after, its depth, one line for the log, the
    blobs its history says were purged).

    A purge or an edit rewrites every commit one for one (the erased mail's
    commit stays, empty, as "purged <blob>"), so the commit at the mark's
    depth in the new history is the mark rewritten: it is taken when it
    holds the mark's entry, or is the purge of it. Otherwise (a state from
    before depths were kept, a history rewritten some other way), walk back
    from the head to the newest entry read before."""
    count = _depth(repo, head)
    found = None
    if depth is not None and mark_entry is not None and 0 < depth <= count:
        candidate = repo.commit(repo.git.rev_list(f"--skip={count - depth}", "--max-count=1", head))
        key = entry_key(candidate)
        if key == mark_entry or mark_entry.removeprefix("d:") in purged_blobs(candidate):
            found, how = candidate, "the same place"
    if found is None:
        for commit in repo.iter_commits(head):
            key = entry_key(commit)
            if (key is not None and known(key)) or any(known(b) for b in purged_blobs(commit)):
                found, how = commit, "the last entry already read"
                break
    purged = frozenset(b for sha in repo.git.log("--format=%H", "--grep=^purged [0-9a-f]", head).split()
                       for b in purged_blobs(repo.commit(sha)))
    what = f"epoch {number} was rewritten (public-inbox-purge or -edit): the mark {mark[:12]} is not in its history"
    if found is not None:
        at = _depth(repo, found.hexsha)
        new = count - at
        return found.hexsha, at, (f"{what}; reading on after {found.hexsha[:12]}, {how} "
                                  f"({new} new commit{'s' if new != 1 else ''})"), purged
    return head, count, (f"{what}, and no entry read before is; going on from its tip {head[:12]}, "
                         f"the {count} commits there are not read"), purged


def new_messages(inbox: str, marks: dict[int, str], since: float | None = None,
                 known: Callable[[str], bool] | None = None,
                 places: dict[int, tuple[int | None, str | None]] | None = None) -> Iterator[NewMessage]:
    """Messages committed after the marks, epoch by epoch, oldest first.
    since: commits older than this (seconds since the epoch) only move the
    mark. A tree entry 'm' that is no blob, or a blob over MAX_BLOB, is
    reported as skipped with its reason instead of being read. known: does
    the state hold this entry_key as read? places: (depth, entry_key) of
    each mark. Both find the place again in a rewritten epoch."""
    import git

    for number, path in epochs(inbox):
        try:
            repo = git.Repo(path)
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
            continue
        depth, entry = (places or {}).get(number, (None, None))
        try:
            yield from _epoch_messages(repo, number, marks.get(number), since, known or (lambda key: False),
                                       depth, entry)
        except (git.exc.GitError, ValueError) as exc:
            raise UserError(f"{path}: cannot read the epoch ({_short(exc)})") from None


def _epoch_messages(repo, number: int, mark: str | None, since: float | None, known: Callable[[str], bool],
                    depth: int | None, mark_entry: str | None) -> Iterator[NewMessage]:
    head = _head(repo)
    if head is None or mark == head:
        return
    if mark and not _descends(repo, mark, head):
        mark, depth, note, purged = _resume_point(repo, number, mark, head, known, depth, mark_entry)
        yield NewMessage(number, mark, b"", entry=entry_key(repo.commit(mark)), note=note, purged=purged,
                         depth=depth)
        if mark == head:
            return
    if not mark:
        depth = 0
    elif depth is None:
        depth = _depth(repo, mark)  # a mark from before depths were kept: counted once
    rev = f"{mark}..{head}" if mark else head
    shas = repo.git.rev_list("--reverse", rev).split()
    for i, sha in enumerate(shas, start=depth + 1):
        commit = repo.commit(sha)
        when = float(commit.committed_date)
        if since is not None and when < since:
            continue
        try:
            entry = commit.tree["m"]
        except KeyError:
            continue  # a deletion ('d') or something else: nothing to read
        key = entry_key(commit)
        if getattr(entry, "type", None) != "blob":
            yield NewMessage(number, sha, b"", when, f"entry 'm' is a {getattr(entry, 'type', '?')}, "
                                                     "not a blob", key, depth=i)
            continue
        if entry.size > MAX_BLOB:
            yield NewMessage(number, sha, b"", when,
                             f"message of {entry.size} bytes, over the {MAX_BLOB >> 20} MiB limit", key, depth=i)
            continue
        yield NewMessage(number, sha, entry.data_stream.read(), when, entry=key, depth=i)
    # Commits that carried no message still move the mark.
    if shas:
        yield NewMessage(number, shas[-1], b"", entry=entry_key(repo.commit(shas[-1])), depth=depth + len(shas))


def redact(text: str) -> str:
    """A URL or message with any user:password@ taken out."""
    return re.sub(r"(//)[^/@\s]*@", r"\1", text)


# One git clone or fetch of an epoch, start to end. git's own low-speed
# check (GIT_HTTP_LOW_SPEED_*) ends a transfer that stops, but not one that
# trickles: a server sending a few bytes a second of endless refs keeps it
# above any low-speed limit forever, and the watcher (holding its lock)
# with it. A first clone of a large lore epoch takes minutes, not hours.
MIRROR_SECONDS = 3600.0


def _git_transfer(args: list[str], env: dict, deadline: float) -> tuple[int, str]:
    """Run git (clone or fetch) to its end or to the deadline; (status,
    stderr). Its whole process group goes at the deadline: the transfer
    itself runs in git-remote-http, a child of git."""
    import signal
    import subprocess

    proc = subprocess.Popen(["git", *args], env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return -1, f"timed out after {deadline:g}s"
    return proc.returncode, err.decode("utf-8", "replace")


def mirror(url: str, cache: str, timeout: float = 120.0) -> str:
    """Mirror a remote inbox's epochs into cache; return the local inbox path."""
    parts = urllib.parse.urlsplit(url.rstrip("/"))
    if parts.scheme not in ("http", "https", "file") or not parts.path:
        raise UserError(f"not an inbox URL: {redact(url)!r}")
    where = parts.hostname or ""
    if parts.port:
        where += f"_{parts.port}"
    local = os.path.join(cache, re.sub(r"[^A-Za-z0-9._-]+", "_", where + parts.path))
    os.makedirs(os.path.join(local, "git"), exist_ok=True)
    number = 0
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_HTTP_LOW_SPEED_LIMIT": "1",
           "GIT_HTTP_LOW_SPEED_TIME": str(int(timeout))}
    while True:
        remote = f"{url.rstrip('/')}/git/{number}.git"
        target = os.path.join(local, "git", f"{number}.git")
        exists = os.path.isdir(target)
        if exists:
            status, err = _git_transfer(["-C", target, "fetch", "--quiet", "--prune", "origin"], env,
                                        MIRROR_SECONDS)
        else:
            status, err = _git_transfer(["clone", "--quiet", "--mirror", "--", remote, target], env, MIRROR_SECONDS)
        if status:
            timed_out = status == -1
            if not exists and os.path.isdir(target):
                import shutil

                shutil.rmtree(target, ignore_errors=True)  # a cut clone is no mirror
            if exists or number == 0 or timed_out:
                lines = [ln for ln in err.strip().splitlines() if ln.strip()]
                reason = redact(printable(lines[-1][:160])) if lines else f"git exited with status {status}"
                if number == 0 and not exists:
                    raise UserError(f"{redact(url)}: cannot mirror the inbox ({reason})")
                raise UserError(f"{redact(url)}: fetching epoch {number} failed ({reason})")
            break  # no such epoch yet: we have them all
        number += 1
    return local
