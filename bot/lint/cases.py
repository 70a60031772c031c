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
