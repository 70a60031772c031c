"""What a rule module is, and the helpers rules share.

A rule is a module in rules/ with:

- a docstring: first line is the summary `tdxbot rules` shows; the rest says
  what it flags, why, an example that fires and one that must not;
- ID (stable, kebab-case), SEVERITY ("error", "warning" or "info");
- PATHS: fnmatch patterns of the files it reads (None: every file), taken
  from the named areas in bot/areas.py;
- one of check_file(source, patch), check_patch(patch) or
  check_series(series), each yielding Hit objects;
- INVALID and VALID: lists of Case, the hits and near-misses that the one
  shared test (tests/test_rule_cases.py) runs for every rule.

The engine knows no rule by name; it only reads these attributes.
"""
from __future__ import annotations

from typing import Iterable, Iterator, NamedTuple

from .areas import C_SUFFIXES, path_matches
from .csyntax import Region
from .model import FileDiff, Line, Patch

class Hit(NamedTuple):
    """What a rule reports. Exactly one location: a post-image line of the
    file being checked, a changelog line index, the subject, or none."""

    message: str
    line: int | None = None
    path: str | None = None  # for check_patch rules reporting a code line
    changelog_line: int | None = None
    on_subject: bool = False
    comment: str | None = None  # reviewer prose for the reply draft
    severity: str | None = None  # overrides the rule's default


class SourceFile:
    """A changed C file as rules see it: its diff and its post-image regions."""

    def __init__(self, diff: FileDiff, regions: list[Region]):
        self.diff = diff
        self.regions = regions

    @property
    def path(self) -> str:
        return self.diff.path

    @property
    def added(self) -> frozenset[int]:
        return self.diff.added_line_numbers

    @property
    def whole_file(self) -> bool:
        return self.diff.post_image_text is not None


_SOURCES: dict[int, tuple[FileDiff, SourceFile]] = {}


def source_file(diff: FileDiff) -> SourceFile:
    """The parsed view of a changed file, shared by every rule that reads it."""
    entry = _SOURCES.get(id(diff))
    if entry is not None and entry[0] is diff:
        return entry[1]
    if len(_SOURCES) > 512:
        _SOURCES.clear()
    made = _make_source_file(diff)
    _SOURCES[id(diff)] = (diff, made)
    return made


def sources_in(patch: Patch, patterns: Iterable[str] | None) -> list[SourceFile]:
    """The C files of a patch that match patterns, for check_patch rules."""
    return [source_file(d) for d in patch.files
            if not d.is_deleted and not d.is_binary and d.path.endswith(C_SUFFIXES)
            and path_matches(d.path, patterns)]


def added_lines_in(patch: Patch, patterns: Iterable[str] | None) -> Iterator[tuple[FileDiff, Line]]:
    """(file, line) for each line the patch adds to a file matching patterns,
    for check_patch rules that read added lines as text."""
    for diff in patch.files:
        if path_matches(diff.path, patterns):
            for line in diff.added_lines():
                yield diff, line


def _make_source_file(diff: FileDiff) -> SourceFile:
    added = diff.added_line_numbers
    if diff.post_image_text is not None:
        lines = diff.post_image_text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return SourceFile(diff, [Region(lines, list(range(1, len(lines) + 1)), added)])
    regions = []
    for hunk in diff.hunks:
        post = hunk.post_image()
        if post:
            regions.append(Region([ln.text for ln in post], [ln.new_no for ln in post], added))
    return SourceFile(diff, regions)


# ---------------------------------------------------------------------------
# Cases: each rule's hits and near-misses, built into real patch mails.


class Case(NamedTuple):
    """One example for a rule.

    code: the lines the patch adds; before/after: unchanged context around
    them. at: for INVALID cases, one substring per expected finding, matched
    against the flagged source line, changelog line or subject.
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
        body += _hunk(path, before, code or (["int x;"] if not before + after else []), after, 100,
                      old_path=case.renamed_from if i == 0 else None)
    for path, code in case.removed_files:
        body += _hunk(path, [], [], [], 100, removed=_dedent(code))
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

    from .mailparse import patch_from_message

    msg = BytesParser().parsebytes(case_mail(case))
    patch = patch_from_message(msg, "case")
    if case.whole_file:
        # The case's lines are the whole file: before, code, after, from line 100.
        f = patch.files[0]
        pad = [""] * 99
        text = "\n".join(pad + _dedent(case.before) + _dedent(case.code) + _dedent(case.after)) + "\n"
        patch = patch._replace(files=(f._replace(post_image_text=text),) + patch.files[1:])
    return patch
