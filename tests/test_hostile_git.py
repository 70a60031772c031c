"""`tdxbot check` against a hostile git repository (issue 22): what a branch
holds may not make `--fix` read or write outside the work tree, move an
edit onto another line, stall the check, or leave code unread without a
word. Each case builds a real repository (git init, commits, symbolic
links, `git clone --depth`) and runs the real `tdxbot check`.

Rules in rules/ are being moved to the rule kit; a case that needs a rule
still on the old API is skipped with the rule's name (see _ready)."""
import email
import hashlib
import importlib
import json
import os
import shutil
import stat
import subprocess
from email import policy
from pathlib import Path

import pytest
from conftest import run_cli

TDX_DIR = "arch/x86/virt/vmx/tdx"
TDX_C = f"{TDX_DIR}/tdx.c"
SOB = "\n\nSigned-off-by: Nadia Okafor <nadia@example.com>"
HEAD_C = "// SPDX-License-Identifier: GPL-2.0\n#include <asm/tdx.h>\n"
# The class test tdx-sw-error-mask fixes: `if (ret & TDX_SW_ERROR)` becomes
# `if ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)`.
BAD_SW = """
u64 tdh_sys_disable(void)
{
	struct tdx_module_args args = {};
	u64 ret;

	ret = seamcall(TDH_SYS_DISABLE, &args);
	if (ret & TDX_SW_ERROR)
		return ret;
	return 0;
}
"""
FIXED_SW = "\tif ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)\n"
# What tdx-sw-code-as-mask (on the rule kit) finds: a full code used as a mask.
BAD_UD = """
static bool tdx_ud(u64 err)
{
	if (err & TDX_SEAMCALL_UD)
		return true;
	return false;
}
"""


def _ready(module: str) -> None:
    """Skip unless rules/<module>.py is on the rule kit (it has a Violation)."""
    from tdxbot.lint.kit import Violation

    rule = importlib.import_module(f"tdxbot.rules.{module}")
    if not any(isinstance(v, type) and issubclass(v, Violation) and v is not Violation
               for v in vars(rule).values()):
        pytest.skip(f"rules/{module}.py is not on the rule kit yet")


class Repo:
    def __init__(self, path: Path, home: Path):
        self.path = path
        self.env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                        GIT_CONFIG_NOSYSTEM="1")
        self.env.pop("TDXBOT_DEBUG", None)

    def git(self, *args, check=True) -> str:
        res = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True)
        assert not check or res.returncode == 0, res.stderr.decode()
        return res.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str, data, append: bool = False) -> None:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = data.encode() if isinstance(data, str) else data
        with open(path, "ab" if append else "wb") as fh:
            fh.write(data)

    def read(self, rel: str) -> bytes:
        return (self.path / rel).read_bytes()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def check(self, *args, env=None, timeout=120):
        return run_cli("check", *args, cwd=self.path, env={**self.env, **(env or {})}, timeout=timeout)

    def status(self) -> str:
        return self.git("status", "--porcelain", "--ignored")


def _make(tmp_path, files: dict[str, str | bytes] | None = None, name="linux") -> Repo:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    repo = Repo(tmp_path / name, home)
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "master")
    repo.git("config", "user.name", "Nadia Okafor")
    repo.git("config", "user.email", "nadia@example.com")
    for rel, text in (files or {TDX_C: HEAD_C}).items():
        repo.write(rel, text)
    repo.commit("Initial tree")
    return repo


@pytest.fixture
def repo(tmp_path):
    return _make(tmp_path)


def _digest(folder: Path) -> str:
    """Names, kinds, modes and contents of everything under folder."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            st = path.lstat()
            h.update(f"{path.relative_to(folder)}\0{stat.S_IFMT(st.st_mode)}\0{stat.S_IMODE(st.st_mode)}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(path).encode())
            elif stat.S_ISREG(st.st_mode):
                h.update(path.read_bytes())
    return h.hexdigest()


def _one_line_error(res, needle: str) -> str:
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err, err
    return err


def _no_internal_error(res) -> None:
    err = res.stderr.decode()
    assert "internal error" not in err and "Traceback" not in err, err


# -- --fix stays inside the work tree --------------------------------------------------


def _bad_commit(repo: Repo) -> str:
    repo.write(TDX_C, BAD_SW, append=True)
    return repo.commit("x86/virt/tdx: Add tdh_sys_disable()\n\nAdd a wrapper for TDH.SYS.DISABLE." + SOB)


def _outside(tmp_path, text: bytes) -> Path:
    """A folder outside the repository holding a tdx.c the fix would fit."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tdx.c").write_bytes(text)
    (outside / "keep.txt").write_text("not the repository's\n")
    return outside


def test_fix_does_not_write_beyond_a_folder_turned_into_a_link(repo, tmp_path):
    """The critical case: a later commit turns the TDX folder into a
    symbolic link to a folder outside, holding the very file the fix fits."""
    _ready("tdx_sw_error_mask")
    first = _bad_commit(repo)
    outside = _outside(tmp_path, repo.read(TDX_C))
    repo.git("rm", "-q", "-r", TDX_DIR)
    (repo.path / TDX_DIR).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, repo.path / TDX_DIR)
    repo.commit("x86/virt/tdx: Move the TDX folder\n\nMove it." + SOB)
    before = _digest(outside)

    for mode in ("--fix", "--diff"):
        res = repo.check(f"{first}^!", mode, "--select", "tdx-sw-error-mask")
        _no_internal_error(res)
        assert res.returncode == 1, res.stderr.decode()
        if mode == "--fix":
            out = res.stdout.decode()
            assert f"not fixed ({TDX_DIR} is a symbolic link; tdxbot does not write beyond one)" in out, out
            assert "[tdx-sw-error-mask]" in out
            assert "0 fix(es) applied" in res.stderr.decode()
        else:
            assert res.stdout == b"", "no diff for a file beyond a link"
        assert _digest(outside) == before, "nothing outside the work tree is written"
        assert repo.status() == "", "the work tree is as it was"
        assert (repo.path / TDX_DIR).is_symlink()
    assert not list(outside.glob(".tdxbot-fix-*"))


@pytest.mark.parametrize("sep", ["\u2028", "\x85", "\x1c", "\n"], ids=["U+2028", "U+0085", "FS", "LF"])
def test_a_line_separator_in_the_work_tree_name_does_not_fix_the_tree_next_door(tmp_path, sep):
    """git prints the top folder as it is; cut at a separator Python
    counts as a line end, it named the repository next door ("linux"
    beside "linux<sep>evil"), which was then checked and fixed instead."""
    _ready("tdx_sw_error_mask")
    victim = _make(tmp_path)
    _bad_commit(victim)
    mine = _make(tmp_path, name="linux" + sep + "evil")
    _bad_commit(mine)
    assert mine.git("rev-parse", "--show-toplevel") == str(mine.path)
    before = _digest(victim.path)
    res = mine.check("HEAD^!", "--fix", "--select", "tdx-sw-error-mask")
    _no_internal_error(res)
    assert "1 fix(es) applied" in res.stderr.decode(), res.stderr.decode()
    assert _digest(victim.path) == before, "the repository next door is left alone"
    assert FIXED_SW.encode() in mine.read(TDX_C)


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_fix_never_turns_a_linked_file_into_a_regular_one(repo, tmp_path, target):
    _ready("tdx_sw_error_mask")
    first = _bad_commit(repo)
    text = repo.read(TDX_C)
    if target == "outside":
        dest = _outside(tmp_path, text) / "tdx.c"
    else:
        dest = repo.path / TDX_DIR / "tdx_real.c"
        dest.write_bytes(text)
    (repo.path / TDX_C).unlink()
    os.symlink(dest if target == "outside" else "tdx_real.c", repo.path / TDX_C)
    repo.commit("x86/virt/tdx: Link tdx.c\n\nLink it." + SOB)
    before = dest.read_bytes()
    res = repo.check(f"{first}^!", "--fix", "--select", "tdx-sw-error-mask")
    _no_internal_error(res)
    assert res.returncode == 1
    assert f"not fixed ({TDX_C} is a symbolic link; tdxbot does not replace one)" in res.stdout.decode()
    assert (repo.path / TDX_C).is_symlink() and dest.read_bytes() == before
    assert repo.status() == ""


def _review_with_fix(repo: Repo, path: str, line: int, column: int, end: int, text: str):
    """The branch's last commit as a review holding one finding with one
    fix: the real series tdxbot loads, an edit made by hand (no rule)."""
    from tdxbot.lint import Edit, Finding, Review
    from tdxbot.mail import load_git_series

    gs = load_git_series(["HEAD^!"], [], cwd=str(repo.path))
    finding = Finding(rule="hand-made", severity="warning", message="a hand-made fix", patch_index=1,
                      message_id=None, path=path, line=line, fix=(Edit(path, line, column, line, end, text),))
    return Review(gs.series, [finding]), gs.root


def _fix_by_hand(review, root):
    from tdxbot.flow.fixgit import plan_fixes, write_fixes

    result = plan_fixes(review, root)
    write_fixes(result, root)
    return result


def _added_line(repo: Repo, needle: str) -> int:
    lines = repo.read(TDX_C).split(b"\n")
    return next(i for i, ln in enumerate(lines, 1) if needle.encode() in ln)


@pytest.mark.parametrize("path,why", [
    ("../outside/tdx.c", "is not a path inside the work tree"),
    ("/etc/passwd", "is not a path inside the work tree"),
    (f"{TDX_DIR}/../../../../../outside/tdx.c", "is not a path inside the work tree"),
    (".git/config", "is not a path inside the work tree"),
    (".GIT/hooks/pre-commit", "is not a path inside the work tree"),
    (f"{TDX_DIR}//tdx.c", "is not a path inside the work tree"),
    ("arch/x86/virt/vmx/tdx/nothere.c", "cannot read it to fix it: No such file or directory"),
    ("arch/x86/virt/vmx/tdx/untracked.c", "is not a file git tracks here"),
])
def test_fix_paths_that_leave_the_work_tree_are_refused(repo, tmp_path, path, why):
    """Whatever path a fix names, it is a name inside the work tree that
    git tracks as a file, or the fix is refused with a reason."""
    _bad_commit(repo)
    _outside(tmp_path, repo.read(TDX_C))
    repo.write(f"{TDX_DIR}/untracked.c", repo.read(TDX_C))
    before = _digest(tmp_path / "outside"), _digest(repo.path / ".git"), repo.status()
    line = _added_line(repo, "if (ret & TDX_SW_ERROR)")
    review, root = _review_with_fix(repo, path, line, 5, 23, "(ret & TDX_SW_ERROR) == TDX_SW_ERROR")
    result = _fix_by_hand(review, root)
    (outcome,) = result.outcomes
    assert not outcome.done and why in outcome.why, outcome.why
    assert (_digest(tmp_path / "outside"), _digest(repo.path / ".git"), repo.status()) == before


def test_fix_refuses_a_dotdot_path_git_was_made_to_store(repo, tmp_path):
    """git mktree stores a tree entry named '..', and git log shows the file
    under it as arch/x86/virt/vmx/tdx/../../../../../../outside/tdx.c, which
    the TDX scope takes for a TDX file (fnmatch's '*' spans '/'). Joined to
    the root, that path is the file outside."""
    _ready("tdx_sw_error_mask")
    outside = _outside(tmp_path, (HEAD_C + BAD_SW).encode())
    before = _digest(outside)

    def mktree(*entries):
        text = "".join(f"{mode} {kind} {sha}\t{name}\n" for mode, kind, sha, name in entries)
        return subprocess.run(["git", "mktree"], cwd=repo.path, env=repo.env, input=text.encode(),
                              capture_output=True, check=True).stdout.decode().strip()
    blob = subprocess.run(["git", "hash-object", "-w", str(outside / "tdx.c")], cwd=repo.path, env=repo.env,
                          capture_output=True, check=True).stdout.decode().strip()
    tree = mktree(("040000", "tree", mktree(("100644", "blob", blob, "tdx.c")), "outside"))
    for _ in range(6):  # from arch/x86/virt/vmx/tdx up to the folder that holds the repository
        tree = mktree(("040000", "tree", tree, ".."))
    head = repo.git("rev-parse", "HEAD:arch/x86/virt/vmx/tdx/tdx.c")
    tree = mktree(("040000", "tree", tree, ".."), ("100644", "blob", head, "tdx.c"))
    for name in ("tdx", "vmx", "virt", "x86", "arch"):
        tree = mktree(("040000", "tree", tree, name))
    commit = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "x86/virt/tdx: Add tdh_sys_disable()\n\nAdd it.")
    repo.git("update-ref", "refs/heads/master", commit)
    res = repo.check("HEAD^!", "--fix", "--select", "tdx-sw-error-mask")
    _no_internal_error(res)
    assert "is not a path inside the work tree" in res.stdout.decode(), res.stdout.decode()
    assert res.returncode == 1 and _digest(outside) == before


def test_a_fifo_in_place_of_the_file_does_not_stall_the_fix(repo):
    """A FIFO where the file was: opening it to read would wait forever."""
    _bad_commit(repo)
    line = _added_line(repo, "if (ret & TDX_SW_ERROR)")
    review, root = _review_with_fix(repo, TDX_C, line, 5, 23, "(ret & TDX_SW_ERROR) == TDX_SW_ERROR")
    (repo.path / TDX_C).unlink()
    os.mkfifo(repo.path / TDX_C)
    (outcome,) = _fix_by_hand(review, root).outcomes
    assert not outcome.done and outcome.why == f"{TDX_C} is not a regular file"
    assert stat.S_ISFIFO((repo.path / TDX_C).lstat().st_mode)


def test_a_file_swapped_for_a_link_between_reading_and_writing_is_left(repo, tmp_path):
    """The file is read, then replaced by a link before the write: the
    rename would replace the link, so the fix is given up."""
    from tdxbot.flow.fixgit import plan_fixes, write_fixes

    _bad_commit(repo)
    outside = _outside(tmp_path, repo.read(TDX_C))
    line = _added_line(repo, "if (ret & TDX_SW_ERROR)")
    review, root = _review_with_fix(repo, TDX_C, line, 5, 23, "(ret & TDX_SW_ERROR) == TDX_SW_ERROR")
    result = plan_fixes(review, root)
    assert result.outcomes[0].done
    (repo.path / TDX_C).unlink()
    os.symlink(outside / "tdx.c", repo.path / TDX_C)
    before = _digest(outside)
    write_fixes(result, root)
    (outcome,) = result.outcomes
    assert not outcome.done and "changed while it was being fixed" in outcome.why
    assert (repo.path / TDX_C).is_symlink() and _digest(outside) == before
    assert not result.texts


def _read_only(folder: Path):
    """Make folder unwritable (root ignores modes: the immutable flag); returns the undo."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if shutil.which("chattr") is None or \
            subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("no way to make a folder read-only for root here")
    return lambda: subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


def test_a_folder_that_cannot_be_written_is_a_reason_not_a_crash(repo):
    _bad_commit(repo)
    line = _added_line(repo, "if (ret & TDX_SW_ERROR)")
    review, root = _review_with_fix(repo, TDX_C, line, 5, 23, "(ret & TDX_SW_ERROR) == TDX_SW_ERROR")
    undo = _read_only(repo.path / TDX_DIR)
    try:
        (outcome,) = _fix_by_hand(review, root).outcomes
    finally:
        undo()
    assert not outcome.done and outcome.why.startswith(f"cannot write {TDX_C}: "), outcome.why


# -- a carriage return git does not count as a line break ------------------------------


def test_a_bare_cr_above_does_not_move_the_fix(tmp_path):
    """A lone CR in a comment above the code: git counts one line there,
    bytes.splitlines() counted two, and the edit landed on the untouched
    `if (err & TDX_SW_ERROR)` above the line it fixes."""
    base = (HEAD_C + "/* A comment with a stray\r carriage return. */\n\n"
            "static bool tdx_failed(u64 err, u64 ret)\n{\n\tif (err & TDX_SW_ERROR)\n\t\treturn true;\n"
            "\treturn false;\n}\n")
    repo = _make(tmp_path, {TDX_C: base})
    repo.write(TDX_C, base.replace("\tif (err & TDX_SW_ERROR)\n",
                                   "\tif (err & TDX_SW_ERROR)\n\tif (ret & TDX_SW_ERROR)\n"))
    repo.commit("x86/virt/tdx: Check ret too\n\nCheck ret as well." + SOB)
    line = _added_line(repo, "if (ret & TDX_SW_ERROR)")
    review, root = _review_with_fix(repo, TDX_C, line, 5, 23, "(ret & TDX_SW_ERROR) == TDX_SW_ERROR")
    (outcome,) = _fix_by_hand(review, root).outcomes
    assert outcome.done, outcome.why
    diff = repo.git("diff", "-U0")
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed == ["-\tif (ret & TDX_SW_ERROR)", "+" + FIXED_SW.rstrip("\n")], diff
    assert b"\tif (err & TDX_SW_ERROR)\n" in repo.read(TDX_C), "the untouched line stays"
    assert b"stray\r carriage" in repo.read(TDX_C), "the CR itself stays"


def test_a_bare_cr_above_through_check_fix(tmp_path):
    _ready("tdx_sw_error_mask")
    base = HEAD_C + "/* A comment with a stray\r carriage return. */\n"
    repo = _make(tmp_path, {TDX_C: base})
    first = _bad_commit(repo)
    res = repo.check(f"{first}^!", "--fix", "--select", "tdx-sw-error-mask")
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "fixed: " in res.stdout.decode()
    diff = repo.git("diff", "-U0")
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed == ["-\tif (ret & TDX_SW_ERROR)", "+" + FIXED_SW.rstrip("\n")], diff


def test_a_bare_cr_inside_the_patch_is_numbered_as_git_numbers_it(tmp_path):
    """A CR inside the added lines: the mail reader takes a lone CR for a
    line break ("broken diff: Hunk is longer than expected" ended the whole
    check). The branch's mails are read with git's lines."""
    repo = _make(tmp_path)
    repo.write(TDX_C, "/* a stray\r CR in the patch */\n" + BAD_UD, append=True)
    repo.commit("x86/virt/tdx: Add tdx_ud()\n\nAdd it.\rReally." + SOB)
    res = repo.check("HEAD^!", "--select", "tdx-sw-code-as-mask", "--format", "json")
    _no_internal_error(res)
    assert res.returncode == 1, res.stderr.decode()
    (finding,) = json.loads(res.stdout)["findings"]
    assert finding["line"] == _added_line(repo, "if (err & TDX_SEAMCALL_UD)")
    from tdxbot.mail import load_git_series

    (patch,) = load_git_series(["HEAD^!"], [], cwd=str(repo.path)).series.patches
    assert "Add it.\rReally." in patch.changelog_lines
    (diff,) = patch.files
    assert [ln.text for ln in diff.added_lines()] == diff.post_image_text.split("\n")[2:-1]


def test_a_fix_where_the_patch_numbers_lines_unlike_git_is_refused(tmp_path):
    """Were a patch's lines numbered unlike git's (a reader that breaks a
    line at a CR), the edit's line would name another line of the file:
    the fix is refused, never moved."""
    repo = _make(tmp_path)
    repo.write(TDX_C, "/* a stray\r CR in the patch */\n" + BAD_SW, append=True)
    repo.commit("x86/virt/tdx: Add tdh_sys_disable()\n\nAdd it." + SOB)
    before = repo.read(TDX_C)
    line = _added_line(repo, "if (ret & TDX_SW_ERROR)")
    review, root = _review_with_fix(repo, TDX_C, line + 1, 5, 23, "(ret & TDX_SW_ERROR) == TDX_SW_ERROR")
    (patch,) = review.series.patches
    (diff,) = patch.files
    # What a reader breaking lines at the CR shows: each line one further on.
    shifted = tuple(h._replace(lines=tuple(ln._replace(new_no=ln.new_no + 1) if ln.new_no and ln.new_no > 3
                                           else ln for ln in h.lines)) for h in diff.hunks)
    review.series = review.series._replace(patches=(patch._replace(files=(diff._replace(hunks=shifted),)),))
    (outcome,) = _fix_by_hand(review, root).outcomes
    assert not outcome.done and outcome.why.endswith("of the file at its commit"), outcome.why
    assert repo.read(TDX_C) == before


def test_apply_counts_lines_as_git_does():
    from tdxbot.lint import Edit, apply

    text = "a\rb\x0cc\x1cd\x85e\u2028f\nif (x)\n"
    assert apply(text, [Edit("p", 2, 4, 2, 5, "y")]) == "a\rb\x0cc\x1cd\x85e\u2028f\nif (y)\n"
    with pytest.raises(ValueError):
        apply(text, [Edit("p", 2, 40, 2, 41, "y")])  # past its line: never moved to one that fits
    with pytest.raises(ValueError):
        apply(text, [Edit("p", 7, 0, 7, 1, "y")])  # past the file


# -- the cost of a long range ------------------------------------------------------------


def _git_shim(tmp_path) -> tuple[dict, Path]:
    """A `git` first on PATH that logs each call and runs the real one."""
    real = shutil.which("git")
    folder = tmp_path / "shim"
    folder.mkdir()
    log = tmp_path / "git-calls.log"
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, log


def _many_commits(repo: Repo, count: int, tdx_every: int) -> None:
    """count commits; every tdx_every-th touches TDX, the rest a driver."""
    script = []
    for n in range(1, count + 1):
        if n % tdx_every == 0:
            path, subject = f"{TDX_DIR}/part{n % 7}.c", f"x86/virt/tdx: Set part {n}"
        else:
            path, subject = "drivers/block/null_blk/main.c", f"null_blk: Set the timeout to {n}"
        script.append((path, f"int value_{n} = {n};\n", subject))
    for path, text, subject in script:
        repo.write(path, text, append=True)
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", subject + "\n\nSet it." + SOB)


def test_the_number_of_git_processes_does_not_grow_with_the_range(tmp_path):
    """b4 ran `git show` and `git --version` for every commit, and gitpython
    walked each commit's tree: the check now asks git a fixed number of
    times, whatever the length of the range."""
    counts = []
    for count in (6, 36):
        repo = _make(tmp_path / f"r{count}")
        base = repo.git("rev-parse", "HEAD")
        _many_commits(repo, count, tdx_every=3)
        env, log = _git_shim(tmp_path / f"r{count}")
        res = repo.check(f"{base}..HEAD", "--select", "tdx-sw-code-as-mask", "--format", "json", env=env)
        _no_internal_error(res)
        assert res.returncode == 0, res.stderr.decode()
        report = json.loads(res.stdout)
        assert len(report["series"][0]["patches"]) == count // 3, "the TDX commits, in scope"
        counts.append(len(log.read_text().splitlines()))
    assert counts[0] == counts[1], counts


def test_scope_in_git_makes_no_mail_of_a_commit_outside_it(tmp_path):
    """load_git_series(scope=...) judges commits from git's listing alone:
    the ones outside TDX keep their numbers and come back as left_out."""
    from tdxbot.lint import split_by_scope
    from tdxbot.mail import load_git_series

    repo = _make(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    _many_commits(repo, 9, tdx_every=3)
    repo.write("mm/page_alloc.c", "int x;\n", append=True)
    repo.commit("mm: Make TDX memory hotplug safe\n\nA subject that names TDX." + SOB)
    gs = load_git_series([f"{base}..HEAD"], [], cwd=str(repo.path), scope=lambda root: split_by_scope)
    assert [(p.index, p.total) for p in gs.series.patches] == [(3, 10), (6, 10), (9, 10), (10, 10)]
    assert [p.index for p in gs.left_out] == [1, 2, 4, 5, 7, 8]
    assert set(gs.mails) == {3, 6, 9, 10}
    assert all(p.files[0].post_image_text is not None for p in gs.series.patches)
    drivers = load_git_series([f"{base}..HEAD"], ["drivers"], cwd=str(repo.path), scope=lambda root: split_by_scope)
    assert drivers.series.patches == () and [p.index for p in drivers.left_out] == [1, 2, 3, 4, 5, 6]
    everything = load_git_series([f"{base}..HEAD"], [], cwd=str(repo.path))
    assert len(everything.series.patches) == 10 and not everything.left_out
    kept, _ = split_by_scope(everything.series)
    assert [p.index for p in kept.patches] == [p.index for p in gs.series.patches], "the same scope"


@pytest.mark.slow
def test_a_long_range_costs_about_the_same_per_commit(tmp_path):
    """300 and 1,500 commits: the time per commit may not grow much (it
    grew fivefold from 300 to 1,000 commits before)."""
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import check_speed

    per = []
    for count in (300, 1500):
        path = tmp_path / f"r{count}"
        check_speed.make_repo(str(path), count, "tdx")
        env = dict(os.environ, HOME=str(path), GIT_CONFIG_NOSYSTEM="1")
        t0 = time.perf_counter()
        res = run_cli("check", "master..topic", "--select", "tdx-sw-code-as-mask", "--format", "json",
                      cwd=path, env=env, timeout=600)
        per.append((time.perf_counter() - t0) / count)
        assert res.returncode == 0, res.stderr.decode()
    assert per[1] < per[0] * 2, per


# -- shallow clones ------------------------------------------------------------------


def test_a_shallow_clone_says_so(tmp_path):
    origin = _make(tmp_path, name="origin")
    for n in range(5):
        origin.write(TDX_C, BAD_UD.replace("tdx_ud", f"tdx_ud{n}"), append=True)
        origin.commit(f"x86/virt/tdx: Add tdx_ud{n}()\n\nAdd it." + SOB)
    clone = Repo(tmp_path / "shallow", tmp_path / "home")
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{origin.path}", str(clone.path)],
                   check=True, env=clone.env, capture_output=True)
    assert clone.git("rev-parse", "--is-shallow-repository") == "true"
    select = ("--select", "tdx-sw-code-as-mask")
    ok = clone.check("-1", *select)
    _no_internal_error(ok)
    assert ok.returncode == 1, ok.stderr.decode()  # one commit inside the clone: checked
    err = _one_line_error(clone.check("-2", *select), "reaches the cut-off of this shallow clone")
    assert "git fetch --deepen" in err and "root commit" not in err
    err = _one_line_error(clone.check("HEAD~4..HEAD", *select), "unknown revision")
    assert "this is a shallow clone" in err and "--deepen" in err


# -- bytes that are not UTF-8 -----------------------------------------------------------


def test_latin1_in_a_checked_file_is_reviewed(repo):
    repo.write(TDX_C, b"/* Ren\xe9's caf\xe9 */\n" + BAD_UD.encode(), append=True)
    repo.commit("x86/virt/tdx: Add tdx_ud()\n\nAdd it." + SOB)
    res = repo.check("HEAD^!", "--select", "tdx-sw-code-as-mask", "--format", "json")
    _no_internal_error(res)
    assert res.returncode == 1, res.stderr.decode()
    (finding,) = json.loads(res.stdout)["findings"]
    assert finding["rule"] == "tdx-sw-code-as-mask"
    assert finding["line"] == _added_line(repo, "if (err & TDX_SEAMCALL_UD)")


def test_latin1_in_a_commit_message_is_reviewed(repo):
    repo.write(TDX_C, BAD_UD, append=True)
    repo.git("add", "-A")
    message = "x86/virt/tdx: Add tdx_ud() for Ren\xe9\n\nAdd it, caf\xe9." + SOB
    subprocess.run(["git", "-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "-F", "-"], cwd=repo.path,
                   env=repo.env, input=message.encode("latin-1"), check=True)
    res = repo.check("HEAD^!", "--select", "tdx-sw-code-as-mask", "--format", "json")
    _no_internal_error(res)
    report = json.loads(res.stdout)
    assert report["series"][0]["patches"][0]["subject"] == "[PATCH] x86/virt/tdx: Add tdx_ud() for Ren\xe9"
    # And raw bytes with no encoding named at all.
    repo.write(TDX_C, BAD_UD.replace("tdx_ud", "tdx_ud2"), append=True)
    repo.git("add", "-A")
    subprocess.run(["git", "commit", "-q", "-F", "-"], cwd=repo.path, env=repo.env, check=True,
                   input=b"x86/virt/tdx: Add tdx_ud2() \xff\xfe\n\nRaw bytes \xe9." + SOB.encode())
    res = repo.check("HEAD^!", "--select", "tdx-sw-code-as-mask", "--format", "json")
    _no_internal_error(res)
    assert res.returncode == 1 and json.loads(res.stdout)["findings"]


def test_latin1_in_a_b4_prep_branch_is_one_clear_line(repo):
    from conftest import b4_command

    subprocess.run([b4_command(), "prep", "-n", "latin"], cwd=repo.path, env=repo.env, check=True,
                   capture_output=True)
    repo.write(TDX_C, b"/* caf\xe9 */\n" + BAD_UD.encode(), append=True)
    repo.commit("x86/virt/tdx: Add tdx_ud()\n\nAdd it." + SOB)
    res = repo.check("--select", "tdx-sw-code-as-mask")
    err = _one_line_error(res, "b4 cannot turn this prep branch into mails: a commit changes text that is "
                               "not UTF-8; check its commits as a range instead: tdxbot check ")
    instead = err.strip().rsplit("tdxbot check ", 1)[1]
    res = repo.check(instead, "--select", "tdx-sw-code-as-mask", "--format", "json")
    _no_internal_error(res)
    assert res.returncode == 1 and json.loads(res.stdout)["findings"], "the range it names is checked"


# -- a file git takes for binary --------------------------------------------------------


def test_a_nul_byte_is_said_not_passed_quietly(repo):
    repo.write(TDX_C, b"/* \0 */\n" + BAD_UD.encode(), append=True)
    repo.commit("x86/virt/tdx: Add tdx_ud()\n\nAdd it." + SOB)
    res = repo.check("HEAD^!", "--select", "tdx-sw-code-as-mask")
    _no_internal_error(res)
    out = res.stdout.decode()
    line = HEAD_C.count("\n") + 1
    assert (f"not read: {TDX_C} in [1/1] x86/virt/tdx: Add tdx_ud(): git takes it for binary, as it has "
            f"a NUL byte (line {line}, byte {len(HEAD_C) + 3}); no rule read its code") in out, out
    from tdxbot.mail import load_git_series

    gs = load_git_series(["HEAD^!"], [], cwd=str(repo.path))
    assert [(u.patch_index, u.path) for u in gs.unread] == [(1, TDX_C)]


# -- mails as git writes them -------------------------------------------------------------


def test_a_commit_message_cannot_forge_the_next_mail(repo):
    """A commit message line that looks like the line starting a mail in
    git's output (mboxrd quotes it, and it is read back as written)."""
    repo.write(TDX_C, BAD_UD, append=True)
    first = repo.commit("x86/virt/tdx: Add tdx_ud()\n\nAdd it." + SOB)
    repo.write(TDX_C, BAD_UD.replace("tdx_ud", "tdx_ud2"), append=True)
    forged = f"From {first} Mon Sep 17 00:00:00 2001\n>From me\nSubject: [PATCH] forged"
    repo.commit(f"x86/virt/tdx: Add tdx_ud2()\n\n{forged}\n\nAdd it." + SOB)
    from tdxbot.mail import load_git_series

    gs = load_git_series(["-2"], [], cwd=str(repo.path))
    assert [p.title for p in gs.series.patches] == ["x86/virt/tdx: Add tdx_ud()", "x86/virt/tdx: Add tdx_ud2()"]
    assert list(gs.series.patches[1].changelog_lines[:3]) == forged.split("\n")
    msg = email.message_from_bytes(gs.mails[2], policy=policy.default)
    assert msg["Subject"] == "[PATCH 2/2] x86/virt/tdx: Add tdx_ud2()"
    assert msg["In-Reply-To"] == gs.series.patches[0].message_id.join("<>")


def test_a_commit_message_is_no_mime_structure(repo):
    """Lines of a commit message that look like MIME headers: the mail
    reader of `review` refuses more than 32 multiparts in a mail, which
    ended the whole check; a mail git wrote is read as the one part it is."""
    repo.write(TDX_C, BAD_UD, append=True)
    repo.commit("x86/virt/tdx: Add tdx_ud()\n\n" + "Content-Type: multipart/mixed; boundary=x\n" * 40
                + "\nAdd it." + SOB)
    res = repo.check("HEAD^!", "--select", "tdx-sw-code-as-mask", "--format", "json")
    _no_internal_error(res)
    assert res.returncode == 1 and json.loads(res.stdout)["findings"], res.stderr.decode()


def test_a_piece_of_a_long_line_is_no_mail_start():
    """git's output is read a bounded piece at a time; the piece after a
    cut is not the start of a line, whatever it says."""
    import io

    from tdxbot.mail import gitsource

    a, b = "a" * 40, "b" * 40
    tail = b" Mon Sep 17 00:00:00 2001\n"
    limit = 200
    forged = b"+" + b"x" * limit + b"From " + b.encode() + tail
    stream = io.BytesIO(b"From " + a.encode() + tail + b"From: N <n@example.org>\nDate: now\n\nbody\n---\n"
                        + forged + b"From " + b.encode() + tail + b"From: N <n@example.org>\n\nsecond\n")
    mails = list(gitsource._split_mails(stream, [a, b], {a: (1, 2), b: (2, 2)}, {a: "[PATCH 1/2] A",
                                                                               b: "[PATCH 2/2] B"},
                                        "t", "<t-1>", b"\n-- \n2\n", limit))
    assert [c for c, _ in mails] == [a, b]
    assert mails[0][1] is None, "over the limit: left out, not cut at the forged line"
    assert b"second" in mails[1][1]


def test_subjects_with_many_brackets_cost_little(repo):
    """b4's subject parser is cubic in unmatched brackets (']' * 400 +
    '[' * 400 took 5 s); the commit's subject is read in one pass."""
    import time

    repo.write(TDX_C, BAD_UD, append=True)
    repo.commit("]" * 3000 + "[" * 3000 + " x86/virt/tdx: brackets\n\nAdd it." + SOB)
    repo.write(TDX_C, BAD_UD.replace("tdx_ud", "tdx_ud2"), append=True)
    repo.commit("[RFC] [PATCH v3 2/5] [net-next] x86/virt/tdx: Add tdx_ud2()\n\nAdd it." + SOB)
    t0 = time.perf_counter()
    res = repo.check("-2", "--select", "tdx-sw-code-as-mask", "--format", "json")
    assert time.perf_counter() - t0 < 20
    _no_internal_error(res)
    subjects = [p["subject"] for p in json.loads(res.stdout)["series"][0]["patches"]]
    assert subjects[1] == "[PATCH RFC net-next 2/2] x86/virt/tdx: Add tdx_ud2()"


# -- SARIF paths --------------------------------------------------------------------------

HOSTILE_PATHS = ["../../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "https://evil.example/x.c",
                 "..\\..\\windows\\win.ini", "C:\\Windows\\x.c", "a/./b/../../../c.c", "..", "%2e%2e/x.c",
                 "arch/x86/virt/vmx/tdx/caf\u00e9 1.c"]


def _uri_is_inside(uri: str) -> None:
    from urllib.parse import unquote, urlsplit

    assert uri and not urlsplit(uri).scheme and not urlsplit(uri).netloc, uri
    assert not uri.startswith("/") and "\\" not in uri, uri
    steps = unquote(uri).replace("\\", "/").split("/")
    assert not any(s in ("", ".", "..") for s in steps), uri
    assert ":" not in uri.split("/")[0], uri


def test_sarif_never_points_outside_the_repository(tmp_path):
    from test_sarif import assert_github_accepts

    from tdxbot.lint import Edit, Finding, Review
    from tdxbot.mail import Series
    from tdxbot.output.sarif import render_sarif

    repo = _make(tmp_path)
    repo.write(TDX_C, BAD_UD, append=True)
    repo.commit("x86/virt/tdx: Add tdx_ud()\n\nAdd it." + SOB)
    from tdxbot.mail import load_git_series

    series: Series = load_git_series(["HEAD^!"], [], cwd=str(repo.path)).series
    findings = [Finding(rule="hand-made", severity="warning", message=f"at {p}", patch_index=1, message_id=None,
                        path=p, line=3, source_text="x", fix=(Edit(p, 3, 0, 3, 1, "y"),))
                for p in HOSTILE_PATHS]
    log = json.loads(render_sarif([Review(series, findings)], []))
    assert_github_accepts(log)
    results = log["runs"][0]["results"]
    for path, result in zip(HOSTILE_PATHS, results):
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        _uri_is_inside(uri)
        plain = not any(s in ("", ".", "..") for s in path.split("/")) and "\\" not in path
        assert ("fixes" in result) == plain, (path, result.get("fixes"))
        assert ("pathAsWritten" in result.get("properties", {})) == (not plain)
        for fix in result.get("fixes", []):
            for change in fix["artifactChanges"]:
                _uri_is_inside(change["artifactLocation"]["uri"])
    by_path = dict(zip(HOSTILE_PATHS, results))
    assert by_path["arch/x86/virt/vmx/tdx/caf\u00e9 1.c"]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"] == "arch/x86/virt/vmx/tdx/caf%C3%A9%201.c"


def test_review_of_a_mail_with_dotdot_paths_gives_sarif_inside_the_repository(tmp_path):
    from mails import patch_mail
    from test_sarif import assert_github_accepts

    diff = "\n".join(["diff --git a/../../../etc/passwd b/../../../etc/passwd", "index 1111111..2222222 100644",
                      "--- a/../../../etc/passwd", "+++ b/../../../etc/passwd", "@@ -1,1 +1,2 @@", " root",
                      "+evil"])
    mail = tmp_path / "evil.eml"
    mail.write_text(patch_mail("[PATCH] x86/virt/tdx: Add evil", "evil@example.org",
                               changelog="We add the evil line here.", diff=diff))
    res = run_cli("review", mail, "--format", "sarif", "--select", "changelog-voice",
                  env={"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"})
    _no_internal_error(res)
    log = json.loads(res.stdout)
    assert_github_accepts(log)
    results = log["runs"][0]["results"]
    assert results, res.stderr.decode()
    for result in results:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        _uri_is_inside(uri)
        assert uri == "etc/passwd"
