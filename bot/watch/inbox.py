"""Read a public-inbox v2 archive through its git epochs (gitpython).

An inbox is a folder with git/0.git, git/1.git, ... (epochs, a new one
about every gigabyte); every commit on an epoch's master adds one message
as the blob `m` (or deletes one, `d`). A high-water mark per epoch says how
far we have read. A remote inbox (lore or a mirror) is followed by
mirroring its epochs with git: the epochs are complete and ordered, while
search-based polling depends on Received/Date headers that lists rewrite
and that public-inbox falls back on when they are missing.
"""
from __future__ import annotations

import os
import re
import urllib.parse
from typing import Iterator, NamedTuple

from ..common import UserError

_EPOCH = re.compile(r"^(\d+)\.git$")


class NewMessage(NamedTuple):
    epoch: int
    commit: str
    raw: bytes  # b"" when the commit carries no message to read
    archived: float | None = None  # the commit's time: when the archive took the mail
    skipped: str | None = None  # why a message there was not read


# The same ceiling as for a mail given on the command line: a blob past it
# is skipped (and recorded), never read into memory.
MAX_BLOB = 64 << 20


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
    import git

    out = {}
    for number, path in epochs(inbox):
        try:
            head = _head(git.Repo(path))
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
            continue
        if head is not None:
            out[number] = head
    return out


def new_messages(inbox: str, marks: dict[int, str], since: float | None = None) -> Iterator[NewMessage]:
    """Messages committed after the marks, epoch by epoch, oldest first.
    since: commits older than this (seconds since the epoch) only move the
    mark. A tree entry 'm' that is no blob, or a blob over MAX_BLOB, is
    reported as skipped with its reason instead of being read."""
    import git

    for number, path in epochs(inbox):
        try:
            repo = git.Repo(path)
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
            continue
        head = _head(repo)
        if head is None:
            continue
        mark = marks.get(number)
        if mark == head:
            continue
        rev = f"{mark}..{head}" if mark else head
        shas = repo.git.rev_list("--reverse", rev).split()
        for sha in shas:
            commit = repo.commit(sha)
            when = float(commit.committed_date)
            if since is not None and when < since:
                continue
            try:
                entry = commit.tree["m"]
            except KeyError:
                continue  # a deletion ('d') or something else: nothing to read
            if getattr(entry, "type", None) != "blob":
                yield NewMessage(number, sha, b"", when, f"entry 'm' is a {getattr(entry, 'type', '?')}, "
                                                         "not a blob")
                continue
            if entry.size > MAX_BLOB:
                yield NewMessage(number, sha, b"", when,
                                 f"message of {entry.size} bytes, over the {MAX_BLOB >> 20} MiB limit")
                continue
            yield NewMessage(number, sha, entry.data_stream.read(), when)
        # Commits that carried no message still move the mark.
        if shas:
            yield NewMessage(number, shas[-1], b"")


def redact(text: str) -> str:
    """A URL or message with any user:password@ taken out."""
    return re.sub(r"(//)[^/@\s]*@", r"\1", text)


def mirror(url: str, cache: str, timeout: float = 120.0) -> str:
    """Mirror a remote inbox's epochs into cache; return the local inbox path."""
    import git

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
        try:
            if os.path.isdir(target):
                git.Repo(target).git.fetch("--quiet", "--prune", "origin", env=env)
            else:
                git.Repo.clone_from(remote, target, mirror=True, env=env)
        except git.exc.GitCommandError as exc:
            if os.path.isdir(target) or number == 0:
                if number == 0 and not os.path.isdir(target):
                    reason = redact((exc.stderr or str(exc)).strip().splitlines()[-1][:160])
                    raise UserError(f"{redact(url)}: cannot mirror the inbox ({reason})") from None
                raise UserError(f"{redact(url)}: fetching epoch {number} failed") from None
            break  # no such epoch yet: we have them all
        number += 1
    return local
