"""A series from a git branch, for the pre-submission check.

gitpython finds the repository and reads whole post-image files;
`git rev-list` picks the commits from whatever the user typed (ranges,
counts, paths); b4 turns commits into the mails `b4 send` or `git
format-patch` would produce (a b4 prep branch with its cover letter and
recipients, or any other set numbered and threaded the same way).
"""
from __future__ import annotations

import os

from ..common import UserError, lazy_re
from .b4glue import prep_branch_patches, range_patches
from .model import Series
from .parse import patch_from_message
from .sources import parse_message


_COUNTER = lazy_re(r"^\[PATCH(?: \d+/\d+)?\]")
# One revision by name: no option, no range (A..B, ^A) and no shorthand for
# one (A^!, A^@, A^-).
_LONE_REVISION = lazy_re(r"^(?![-^])(?!.*\.\.)(?!.*\^[!@-]\d*$).+$")


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


def load_git_series(revs: list[str] | None = None, paths: list[str] | None = None,
                    cwd: str = ".") -> GitSeries:
    """The series a branch would send, with whole post-image files attached.

    revs and paths are what `git rev-list` takes (`HEAD^!`, `-3`, `A..B`,
    `^A B`, options); paths limit the commits, as they do for git. With no
    revs: the b4 prep series, else @{upstream}..HEAD. A lone revision A
    means A..HEAD, as it does for git format-patch."""
    import git

    repo = _repo(cwd)
    root = repo.working_tree_dir
    if root is None:
        raise UserError("a bare repository has no work tree to check")
    revs, paths = list(revs or []), list(paths or [])
    notes: list[str] = []
    old_cwd = os.getcwd()
    os.chdir(root)  # b4 runs git in the current folder
    try:
        patches = None
        if not revs:
            patches = prep_branch_patches()
            if patches is not None:
                range_text = "the b4 prep series on " + repo.active_branch.name
                if paths:
                    patches = _touching(repo, patches, paths)
                    range_text += " -- " + " ".join(paths)
        if patches is None:
            if not revs:
                try:
                    upstream = repo.git.rev_parse("--abbrev-ref", "--symbolic-full-name", "@{upstream}")
                except (git.exc.GitCommandError, TypeError):
                    raise UserError("no range given, and this branch is neither a b4 prep branch nor "
                                    "tracking an upstream: pass one, e.g. 'tdxbot check "
                                    "origin/master..HEAD' or 'tdxbot check -3'") from None
                revs = [f"{upstream}..HEAD"]
            range_text = " ".join(revs + (["--"] + paths if paths else []))
            commits = _rev_list(repo, _as_series_range(repo, revs), paths)
            if not commits:
                raise UserError(f"empty range: {range_text} has no commits to check")
            patches = _commits_as_mails(repo, root, commits, notes)
        # A prep series cut by paths keeps the numbers it will be sent with.
        series, mails = _to_series(repo, patches, range_text, renumber=not (paths and not revs))
    finally:
        os.chdir(old_cwd)
    return GitSeries(series, root, notes, range_text, mails)


def _git_lines(repo, *args, stdin: str | None = None) -> list[str]:
    """A git command's output lines; its complaint as a UserError."""
    import subprocess

    proc = subprocess.run(["git", *args], cwd=repo.working_tree_dir, input=stdin, text=True,
                          capture_output=True, errors="replace")
    if proc.returncode:
        detail = next((ln.removeprefix("fatal: ").strip() for ln in proc.stderr.splitlines()
                       if ln.startswith(("fatal:", "error:"))), proc.stderr.strip()[:200])
        if args[0] in ("rev-list", "rev-parse"):
            raise UserError(f"unknown revision or bad argument for git rev-list: {detail} "
                            "(arguments that are not tdxbot options go to git rev-list)")
        raise UserError(f"git {args[0]}: {detail}")
    return [ln for ln in proc.stdout.splitlines() if ln.strip()]


def _as_series_range(repo, revs: list[str]) -> list[str]:
    """revs as rev-list takes them. A lone positive revision means REV..HEAD
    (format-patch's reading: its whole history is never the series); revs
    with no positive revision, such as `-3`, count back from HEAD."""
    named = _git_lines(repo, "rev-parse", "--revs-only", "--no-flags", *revs, "--")
    positive = [r for r in named if not r.startswith("^")]
    if len(revs) == 1 and _LONE_REVISION.match(revs[0]) and positive:
        return [f"^{positive[0]}", "HEAD"]
    return revs if positive else revs + ["HEAD"]


def _rev_list(repo, revs: list[str], paths: list[str]) -> list[str]:
    """The commits, oldest first, as `git rev-list` picks them."""
    return _git_lines(repo, "rev-list", "--reverse", *revs, "--", *paths)


def _touching(repo, patches, paths: list[str]):
    """The cover letter and the patches whose commits change paths."""
    commits = [c for c, _ in patches if c]
    keep = set(_git_lines(repo, "rev-list", "--no-walk=unsorted", *commits, "--", *paths)) \
        if commits else set()
    out = [(c, m) for c, m in patches if c in keep or not _is_patch_mail(m)]
    if not any(_is_patch_mail(m) for _, m in out):
        raise UserError(f"no patch of the b4 prep series changes {' '.join(paths)}")
    return out


def _is_patch_mail(msg) -> bool:
    return "diff --git" in msg.as_string()


def _commits_as_mails(repo, root: str, commits: list[str], notes: list[str]):
    """(commit, mail) of each non-merge commit, numbered and threaded as one
    series. A run of commits each the parent of the next is one b4 call;
    a set with gaps (paths, several tips) takes one call per run."""
    parents = {}
    for line in _git_lines(repo, "rev-list", "--no-walk=unsorted", "--parents", "--stdin",
                               stdin="\n".join(commits) + "\n"):
        sha, *up = line.split()
        parents[sha] = up
    runs: list[list[str]] = []
    for sha in commits:
        up = parents.get(sha, [])
        if len(up) > 1:
            notes.append(f"skipped merge {sha[:12]} ({repo.commit(sha).summary})")
        elif not up:
            notes.append(f"skipped root commit {sha[:12]} (it has no parent to diff against)")
        elif runs and runs[-1][-1] == up[0]:
            runs[-1].append(sha)
        else:
            runs.append([sha])
    if not runs:
        raise UserError("no commits to check: only merges or a root commit in the range")
    patches = []
    for run in runs:
        patches += range_patches(root, parents[run[0]][0], run[-1], run[-1][:12])
    if len(runs) > 1:
        _renumber(patches)
    return patches


def _renumber(patches) -> None:
    """Number and thread mails made by separate b4 calls as one series,
    the way git send-email would send them."""
    total = len(patches)
    first = patches[0][1]["Message-Id"]
    for i, (_commit, msg) in enumerate(patches, 1):
        counter = f"[PATCH {i}/{total}]" if total > 1 else "[PATCH]"
        subject = _COUNTER.sub(counter, str(msg["Subject"]), count=1)
        del msg["Subject"]
        msg["Subject"] = subject
        del msg["In-Reply-To"]
        del msg["References"]
        if i > 1:
            msg["In-Reply-To"] = first
            msg["References"] = first


def _to_series(repo, patches, range_text: str, renumber: bool = True) -> tuple[Series, dict[int, bytes]]:
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
    out = [p if (p.total == total or not renumber) and p.index else p._replace(index=i, total=total)
           for i, p in enumerate(out, 1)]
    title = cover.title if cover is not None else out[0].title
    if not renumber:
        total = max(p.total for p in out)
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
