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

from .errors import UserError

_EPOCH = re.compile(r"^(\d+)\.git$")


class NewMessage(NamedTuple):
    epoch: int
    commit: str
    raw: bytes


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


def new_messages(inbox: str, marks: dict[int, str]) -> Iterator[NewMessage]:
    """Messages committed after the marks, epoch by epoch, oldest first."""
    import git

    for number, path in epochs(inbox):
        try:
            repo = git.Repo(path)
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
            continue
        head = _head(repo)
        if head is None:
            continue
        since = marks.get(number)
        if since == head:
            continue
        rev = f"{since}..{head}" if since else head
        shas = repo.git.rev_list("--reverse", rev).split()
        for sha in shas:
            tree = repo.commit(sha).tree
            try:
                blob = tree["m"]
            except KeyError:
                continue  # a deletion ('d') or something else: nothing to read
            yield NewMessage(number, sha, blob.data_stream.read())
        # Commits that carried no message still move the mark.
        if shas:
            yield NewMessage(number, shas[-1], b"")


def mirror(url: str, cache: str, timeout: float = 120.0) -> str:
    """Mirror a remote inbox's epochs into cache; return the local inbox path."""
    import git

    parts = urllib.parse.urlsplit(url.rstrip("/"))
    if parts.scheme not in ("http", "https", "file") or not parts.path:
        raise UserError(f"not an inbox URL: {url!r}")
    local = os.path.join(cache, re.sub(r"[^A-Za-z0-9._-]+", "_", parts.netloc + parts.path))
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
                    reason = (exc.stderr or str(exc)).strip().splitlines()[-1][:160]
                    raise UserError(f"{url}: cannot mirror the inbox ({reason})") from None
                raise UserError(f"{url}: fetching epoch {number} failed") from None
            break  # no such epoch yet: we have them all
        number += 1
    return local
