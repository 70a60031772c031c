"""A series from a git branch, for the pre-submission check.

gitpython finds the repository, resolves the range, lists merges and reads
whole post-image files; b4 turns commits into the mails `b4 send` or
`git format-patch` would produce (a b4 prep branch with its cover letter
and recipients, or any other range numbered and threaded the same way).
"""
from __future__ import annotations

import os

from .b4glue import prep_branch_patches, range_patches
from .errors import UserError
from .model import Series


class GitSeries:
    def __init__(self, series: Series, root: str, notes: list[str], range_text: str,
                 mails: dict[int, bytes]):
        self.series = series
        self.root = root  # the work tree's top folder
        self.notes = notes
        self.range_text = range_text
        self.mails = mails  # patch index -> the mail as it would be sent


def _repo(cwd: str):
    import git

    try:
        return git.Repo(cwd, search_parent_directories=True)
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
        raise UserError(f"{os.path.abspath(cwd)}: not inside a git repository") from None


def _rev(repo, rev: str) -> str:
    import git

    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
    except git.exc.GitCommandError:
        raise UserError(f"unknown revision: {rev}") from None


def _split_range(repo, text: str) -> tuple[str, str]:
    if "..." in text:
        raise UserError(f"symmetric ranges are not a series: {text} (use A..B)")
    if ".." in text:
        start, end = text.split("..", 1)
        return _rev(repo, start or "HEAD"), _rev(repo, end or "HEAD")
    return _rev(repo, text), _rev(repo, "HEAD")


def load_git_series(rev_range: str | None, cwd: str = ".") -> GitSeries:
    """The series a branch would send, with whole post-image files attached."""
    import git

    repo = _repo(cwd)
    root = repo.working_tree_dir
    if root is None:
        raise UserError("a bare repository has no work tree to check")
    notes: list[str] = []
    old_cwd = os.getcwd()
    os.chdir(root)  # b4 runs git in the current folder
    try:
        patches = None
        if rev_range is None:
            patches = prep_branch_patches()
            if patches is not None:
                range_text = "the b4 prep series on " + repo.active_branch.name
        if patches is None:
            if rev_range is None:
                try:
                    upstream = repo.git.rev_parse("--abbrev-ref", "--symbolic-full-name", "@{upstream}")
                except (git.exc.GitCommandError, TypeError):
                    raise UserError("no range given, and this branch is neither a b4 prep branch nor "
                                    "tracking an upstream: pass one, e.g. 'tdxbot check "
                                    "origin/master..HEAD'") from None
                rev_range = f"{upstream}..HEAD"
            start, end = _split_range(repo, rev_range)
            range_text = rev_range
            commits = repo.git.rev_list("--no-merges", f"{start}..{end}").split()
            merges = repo.git.rev_list("--merges", f"{start}..{end}").split()
            for sha in merges:
                notes.append(f"skipped merge {sha[:12]} ({repo.commit(sha).summary})")
            if not commits:
                raise UserError(f"empty range: {rev_range} has no commits to check")
            patches = range_patches(root, start, end, end[:12])
        series, mails = _to_series(repo, patches, range_text)
    finally:
        os.chdir(old_cwd)
    return GitSeries(series, root, notes, range_text, mails)


def _to_series(repo, patches, range_text: str) -> tuple[Series, dict[int, bytes]]:
    from .mailparse import patch_from_message
    from .sources import parse_message

    cover = None
    out, raws = [], []
    for commit, msg in patches:
        raw = msg.as_bytes()
        patch = patch_from_message(parse_message(raw, commit[:12]), commit[:12])
        if patch.index == 0 or not patch.files:
            cover = patch
            continue
        out.append(_with_post_images(repo, commit, patch))
        raws.append(raw)
    if not out:
        raise UserError(f"no patches in {range_text}")
    total = len(out)
    out = [p if p.total == total and p.index else p._replace(index=i, total=total)
           for i, p in enumerate(out, 1)]
    title = cover.title if cover is not None else out[0].title
    series = Series(title=title, version=out[0].version, total=total, cover=cover, patches=tuple(out))
    return series, {p.index: raw for p, raw in zip(out, raws)}


def _with_post_images(repo, commit: str, patch):
    """Give each changed file its whole content at this commit, so rules see
    a loop or comment that starts outside the hunk."""
    tree = repo.commit(commit).tree
    files = []
    for diff in patch.files:
        text = None
        if not diff.is_deleted and not diff.is_binary:
            try:
                blob = tree / diff.path
                text = blob.data_stream.read().decode("utf-8", "surrogateescape")
            except (KeyError, ValueError):
                text = None
        files.append(diff._replace(post_image_text=text))
    return patch._replace(files=tuple(files))
