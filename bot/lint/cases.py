"""Cases: each rule's hits and near-misses (its INVALID and VALID lists),
built into the patch mails that git format-patch would write. The shared
rule test, the snapshots, the eval and the benchmarks read them."""
from __future__ import annotations


from ..common import NamedTuple
from ..mail import Patch, patch_from_message


# The post-image line number of a case's first line (its `before`, else its code).
CASE_FIRST_LINE = 100


class Case(NamedTuple):
    """One example for a rule.

    code: the lines the patch adds; before/after: unchanged context around
    them. at: for INVALID cases, one entry per expected finding: its place
    and a piece of the flagged text, "LINE:COLUMN: text" for code (lines
    counted from the first line of `before`), "FILE:LINE:COLUMN: text" in
    another file, "changelog:N: text", "subject: text" or "series: text"
    (see tests/test_rule_cases.py).
    """

    code: str = ""
    path: str = "arch/x86/virt/vmx/tdx/tdx.c"
    before: str = ""
    after: str = ""
    subject: str = "x86/virt/tdx: Tidy up the SEAMCALL error path"
    changelog: str = ("Make the error path print the failing status so there is a\n"
                      "breadcrumb when the SEAMCALL fails.")
    trailers: str = "Signed-off-by: Alice Example <alice@example.org>"
    notes: str = ""  # text between the '---' line and the diff
    tag: str = "PATCH"  # the subject's bracket, e.g. "PATCH v2"
    extra_files: tuple[tuple[str, str], ...] = ()  # (path, added code)
    removed_files: tuple[tuple[str, str], ...] = ()  # (path, code the patch removes)
    renamed_from: str | None = None  # the main file's pre-image path, for a rename
    at: tuple[str, ...] = ()
    whole_file: bool = False  # give rules the post-image of the whole file
    why: str = ""
    # For a rule with a certain fix: the case's `code` once the fixes of
    # its findings are applied (the shared test applies them, re-runs the
    # rule on the result and expects silence).
    fixed: str | None = None


def _dedent(text: str) -> list[str]:
    import textwrap

    text = textwrap.dedent(text).strip("\n")
    return text.split("\n") if text else []


def _hunk(path: str, before: list[str], code: list[str], after: list[str], start: int,
          old_path: str | None = None, removed: list[str] = ()) -> list[str]:
    old_len = len(before) + len(after) + len(removed)
    new_len = len(before) + len(after) + len(code)
    old_path = old_path or path
    out = [f"diff --git a/{old_path} b/{path}"]
    if old_path != path:
        out += ["similarity index 90%", f"rename from {old_path}", f"rename to {path}"]
    out += [
        "index 1111111..2222222 100644",
        f"--- a/{old_path}",
        f"+++ b/{path}",
        f"@@ -{start},{old_len} +{start if new_len else start - 1},{new_len} @@",
    ]
    out += [" " + ln for ln in before] + ["-" + ln for ln in removed] + ["+" + ln for ln in code] \
        + [" " + ln for ln in after]
    return out


def case_mail(case: Case) -> bytes:
    """The patch mail a Case stands for, as git format-patch would write it."""
    body = _dedent(case.changelog) + [""] + _dedent(case.trailers) + ["---"]
    body += (_dedent(case.notes) + [""]) if case.notes else [""]
    files = [(case.path, _dedent(case.before), _dedent(case.code), _dedent(case.after))]
    files += [(p, [], _dedent(c), []) for p, c in case.extra_files]
    for i, (path, before, code, after) in enumerate(files):
        body += _hunk(path, before, code or (["int x;"] if not before + after else []), after, CASE_FIRST_LINE,
                      old_path=case.renamed_from if i == 0 else None)
    for path, code in case.removed_files:
        body += _hunk(path, [], [], [], CASE_FIRST_LINE, removed=_dedent(code))
    body += ["-- ", "2.53.0", ""]
    headers = [
        "From: Alice Example <alice@example.org>",
        "To: linux-kernel@vger.kernel.org",
        "Date: Mon, 23 Mar 2026 14:59:06 -0600",
        f"Subject: [{case.tag}] {case.subject}",
        "Message-ID: <case@example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return ("\n".join(headers) + "\n\n" + "\n".join(body)).encode("utf-8")


def case_patch(case: Case) -> Patch:
    from email.parser import BytesParser


    msg = BytesParser().parsebytes(case_mail(case))
    patch = patch_from_message(msg, "case")
    if case.whole_file:
        # The case's lines are the whole file: before, code, after, from line 100.
        f = patch.files[0]
        patch = patch._replace(files=(f._replace(post_image_text=case_post_image(case)),)
                               + patch.files[1:])
    return patch


def case_post_image(case: Case) -> str:
    """The main file of a case as the patch leaves it: blank lines up to
    line 99, then before, code and after from line 100."""
    return "\n".join([""] * (CASE_FIRST_LINE - 1) + _dedent(case.before) + _dedent(case.code) + _dedent(case.after)) + "\n"


# -- cases of a whole series, from a real git repository --------------------------------

class Commit(NamedTuple):
    """One commit of a SeriesCase: its subject, the files it leaves (path,
    whole text after the commit; None deletes the file), its message below
    the subject (changelog and trailers) and its notes (what b4 and
    format-patch users write between the '---' and the diffstat)."""
    subject: str
    files: tuple[tuple[str, str | None], ...]
    message: str = "Do what the subject says.\n\nSigned-off-by: Alice Example <alice@example.org>"
    notes: str = ""


class SeriesCase(NamedTuple):
    """One example for a series rule: commits made in a real git
    repository and written out by `git format-patch`, so that hunks, line
    numbers and context are git's own.

    base: the tree the series applies to (path, text); commits: the series;
    version: its version; cover: the cover letter's text (with its
    "Changes in vN:" notes), "" for none; previous: the commits of version
    N-1 on the same base (for the rules that compare with it).

    at: for INVALID cases, one entry per expected finding:
    "[N] FILE:LINE:COLUMN: text" (patch N, the file's own line number),
    "[N] changelog:K: text", "[N] patch: text" (patch N as a whole), or
    "series: text" (see tests/test_rule_cases.py)."""
    commits: tuple[Commit, ...]
    base: tuple[tuple[str, str], ...] = ()
    version: int = 1
    cover: str = ""
    previous: tuple[Commit, ...] | None = None
    at: tuple[str, ...] = ()
    why: str = ""


_GIT_DATE = "1789000000 +0000"  # a fixed time: the same case gives the same mails


def _git_env(home: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=home, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Alice Example",
               GIT_AUTHOR_EMAIL="alice@example.org", GIT_COMMITTER_NAME="Alice Example",
               GIT_COMMITTER_EMAIL="alice@example.org", GIT_AUTHOR_DATE=_GIT_DATE,
               GIT_COMMITTER_DATE=_GIT_DATE, LC_ALL="C")
    return env


def _write(root: str, files) -> None:
    import os
    import textwrap

    for path, text in files:
        full = os.path.join(root, path)
        if text is None:
            if os.path.exists(full):
                os.remove(full)
            continue
        os.makedirs(os.path.dirname(full), exist_ok=True)
        body = textwrap.dedent(text).lstrip("\n")
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(body if body.endswith("\n") else body + "\n")


def _format_series(git, root: str, out: str, commits: tuple[Commit, ...], version: int, cover: str,
                   base: str) -> list[bytes]:
    import os
    import textwrap

    git("checkout", "-q", "--detach", base)
    for c in commits:
        _write(root, c.files)
        git("add", "-A")
        git("commit", "-q", "--allow-empty", "-m", c.subject + "\n\n" + textwrap.dedent(c.message).strip("\n"))
    prefix = "PATCH" if version == 1 else f"PATCH v{version}"
    args = ["format-patch", "-q", "-o", out, f"--subject-prefix={prefix}", "--numbered"]
    if cover:
        args.append("--cover-letter")
    git(*args, f"{base}..HEAD")
    names = sorted(n for n in os.listdir(out) if n.endswith(".patch"))
    mails = []
    for name in names:
        with open(os.path.join(out, name), "rb") as fh:
            mails.append(fh.read())
        os.remove(os.path.join(out, name))
    if cover:
        text = textwrap.dedent(cover).strip("\n")
        title, _, blurb = text.partition("\n\n")
        mails[0] = mails[0].replace(b"*** SUBJECT HERE ***", title.encode()).replace(
            b"*** BLURB HERE ***", blurb.encode())
    for i, c in enumerate(commits):
        if c.notes:
            k = i + 1 if cover else i
            mails[k] = _with_notes(mails[k], textwrap.dedent(c.notes).strip("\n"))
    return mails


def _with_notes(mail: bytes, notes: str) -> bytes:
    """The notes below the '---' that ends the commit message, then a
    second '---' above the diffstat, as `b4 send` and hand-written notes
    put them."""
    head, sep, rest = mail.partition(b"\n---\n")
    return head + sep + notes.encode() + b"\n---\n" + rest


_BUILT: dict = {}


def series_case_series(case: SeriesCase):
    """The Series a SeriesCase stands for (its previous version attached),
    made once per case and process."""
    found = _BUILT.get(case)
    if found is not None:
        return found
    import os
    import subprocess
    import tempfile
    from email.parser import BytesParser

    from ..mail import build_series

    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "repo")
        out = os.path.join(tmp, "out")
        os.makedirs(root)
        env = _git_env(tmp)

        def git(*args):
            subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

        git("init", "-q", "-b", "master")
        _write(root, case.base or (("README", "A tree for a rule case.\n"),))
        git("add", "-A")
        git("commit", "-q", "-m", "Base tree")
        base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

        def series_of(commits, version, cover):
            mails = _format_series(git, root, out, commits, version, cover, base)
            messages = [BytesParser().parsebytes(m) for m in mails]
            return build_series(messages, None, "case", None)

        series = series_of(case.commits, case.version, case.cover)
        if case.previous is not None:
            series = series._replace(previous=series_of(case.previous, max(1, case.version - 1), ""))
    _BUILT[case] = series
    return series
