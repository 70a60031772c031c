"""The rule kit: the one module a rule imports.

A rule is a module in rules/ with:

- a docstring: its first line is the summary `tdxbot rules` shows; the rest
  says what it flags, why, an example that fires and one that must not;
- ID (stable, kebab-case) and SEVERITY ("error", "warning" or "info");
- PATHS: the areas of the tree whose files it reads (None: every file),
  from the tables below (TDX, X86, KVM, ...);
- TREES, for a rule that enforces a maintainer tree's conventions (style,
  changelog, tags): {tree: where its document says so}, with the trees
  TIP, KVM_X86 and GENERIC. The rule runs only on what those trees take
  (a file rule on their files, a patch rule on the patches they take, see
  tree_of() and patch_tree()), its documentation names them, and a finding
  of it on a line a later patch of the series removes again is dropped (the
  line never reaches the tree in that form). A rule without TREES makes a
  point of correctness that holds on every tree;
- what it says: a Violation subclass for each remark, next to the docs,
  with the terse `message` for reports and the reviewer's `comment` for
  reply drafts, both templates filled from the fields a check gives;
- one check: check_file(file), check_patch(patch) or check_series(series).
  The check says only the condition, and reports what it finds with
  report(at, Violation(...));
- INVALID and VALID: lists of Case, the hits and near-misses that one
  shared test (tests/test_rule_cases.py) runs for every rule.

What a check gets:
- check_file: a FileCheck, one changed C file the rule's PATHS cover:
  .path, .patch, .whole_file, and .code, its regions as Code;
- check_patch: a PatchCheck: .patch, and .files(PATHS), the patch's C
  files as FileChecks (.file_check(diff) gives one file's); .added_lines()
  and .removed_lines() for text;
- check_series: a SeriesCheck: .series, and .previous, the version before
  it with its review (a Series) when the review has one, else None;
  .files(patch, PATHS) reads one patch's C files as FileChecks.
A Code is one region of a file: .c, its C facts (a Region), .tdx, its TDX
facts (calls, statuses, tests), .loops, its loops, and .abi, what the TDX
module's ABI says about its leaves (the leaf each call issues, the leaves a
tested status came from; module_abi() gives the data itself: leaves,
statuses, numbers). The ABI data is read only when a rule asks a question
that needs it. Every one of them
answers report(at, violation, fix=(), severity=None), where `at` is one
value: a tree-sitter node or a post-image line number (of a Code or a
FileCheck), a list of such candidates (the first on a line the patch adds
counts), CodeLine(path, line) for a line of any file of the patch,
ChangelogLine(index), SUBJECT, or None for the patch or the series as a
whole. A series check names a place in one of the series' patches with
PatchAt(index, place), place being one of the above (None: the patch as a
whole): a finding about patch 4 that belongs on a line of patch 4.

The engine keeps what holds for every rule: a finding on code lands on a
line the patch adds, or it is dropped; a fix edits only what the patch adds.
It knows no rule by name; it reads the attributes above.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..common import NamedTuple, cached_property, lazy_re, re_lower
from ..facts import (BUSY_CODES, BUSY_STATUSES, DETAIL_STATUSES, GUEST, HOST, HYPERCALL, SW_FULL_CODES,
                     TRANSIENT, AbiFacts, LoopFacts, Region, TdxFacts, TdxPatchFacts, ancestor, call_args,
                     call_name, code_of, is_module_status, module_abi, resolve, resolve_all,
                     comment_inner, declaration_type, declared_name, function_name, int_literal,
                     int_of_text, is_imperative, is_masked, iter_nodes, masked_with, parse_expression,
                     passive_change, personal_change, sentences, statement_mood, strip_comment_markers, unwrap,
                     verb_base, WORD)
from ..mail import FileDiff, Line, Patch, notes_text, patch_notes_lines, printable, successors, version_notes
from .areas import (C_SUFFIXES, GENERIC, KVM, KVM_X86, TDX, TDX_HEADERS, TDX_HOST_C, TDX_TIP, TIP, X86, Tree,
                    area_of, patch_tree, path_matches, tree_of)
from .cases import Case, Commit, SeriesCase
from .fixes import Edit, insert_line, line_edit

__all__ = [
    "NamedTuple",
    # the contract
    "Violation", "CodeLine", "ChangelogLine", "SUBJECT", "PatchAt", "Case", "SeriesCase", "Commit", "Edit",
    "insert_line", "line_edit", "Code", "FileCheck", "PatchCheck", "SeriesCheck",
    # a series across its versions
    "notes_text", "patch_notes_lines", "successors", "version_notes",
    # where in the tree
    "C_SUFFIXES", "KVM", "TDX", "TDX_HEADERS", "TDX_HOST_C", "TDX_TIP", "X86", "area_of", "path_matches",
    # which maintainer tree takes it
    "GENERIC", "KVM_X86", "TIP", "Tree", "patch_tree", "tree_of",
    # C facts about a node alone
    "ancestor", "call_args", "call_name", "comment_inner", "declaration_type", "declared_name",
    "function_name", "int_literal", "int_of_text", "iter_nodes", "parse_expression",
    "strip_comment_markers", "unwrap",
    # TDX facts
    "BUSY_CODES", "DETAIL_STATUSES", "GUEST", "HOST", "HYPERCALL", "SW_FULL_CODES", "code_of",
    "is_masked", "masked_with",
    # the TDX module's ABI (read when first asked)
    "BUSY_STATUSES", "TRANSIENT", "is_module_status", "module_abi", "resolve", "resolve_all",
    # prose
    "WORD", "is_imperative", "passive_change", "personal_change", "sentences", "statement_mood",
    "verb_base",
    # patterns
    "lazy_re", "re_lower",
]


# ---- what a rule says -----------------------------------------------------------


class Violation:
    """One remark a rule makes: `message`, the terse line for reports, and
    `comment`, the reviewer's words for reply drafts (None: the message
    is used). Both are str.format templates; their fields are the keyword
    arguments the check gives, or properties of the subclass (for wording
    worked out from them):

        class MaskUsed(Violation):
            message = "{code} is a full 64-bit value, not a mask; compare with =="
            comment = "{code} is an exact value the kernel synthesises, ..."

        code.report(node, MaskUsed(code=name))
    """

    message: str = ""
    comment: str | None = None

    def __init__(self, **fields):
        hidden = set(fields) & _VIOLATION_NAMES
        if hidden:
            raise TypeError(f"{type(self).__name__}: a field may not be named {', '.join(sorted(hidden))}")
        self.__dict__.update(fields)

    def text(self) -> str:
        return self.message.format_map(_Fields(self))

    def reviewer_text(self) -> str | None:
        return self.comment.format_map(_Fields(self)) if self.comment is not None else None


# What a field would hide (a field is an attribute of the violation).
_VIOLATION_NAMES = frozenset({"message", "comment", "text", "reviewer_text"})


class _Fields:
    """A violation's fields and properties, for str.format_map."""

    def __init__(self, violation: Violation):
        self.violation = violation

    def __getitem__(self, name: str):
        value = getattr(self.violation, name)
        # A field holds text from the patch (a format string continued with
        # backslash-newline, say). Its line breaks and control characters
        # are shown, never kept: a reply's comment is split into lines, and a
        # line of the sender's choosing ("Reviewed-by: ...") must not stand
        # on its own in the bot's mail.
        return printable(value) if isinstance(value, str) else value


# ---- where a remark goes ----------------------------------------------------------


class CodeLine(NamedTuple):
    """A post-image line of a file of the patch (column: 1-based, 0 when
    the remark is about the line as a whole)."""
    path: str
    line: int
    column: int = 0


class ChangelogLine(NamedTuple):
    """A line of the commit message, by its index in Patch.changelog_lines."""
    index: int


class _Subject:
    def __repr__(self):
        return "SUBJECT"


SUBJECT = _Subject()  # the subject line of the patch


class PatchAt(NamedTuple):
    """A place in one patch of the series, for a series check: the patch's
    index (N of N/M) and a CodeLine, ChangelogLine, SUBJECT or None (the
    patch as a whole) in it."""
    patch: int
    at: object = None


class Hit(NamedTuple):
    """A remark as a check reported it: the violation and its one place."""
    violation: Violation
    at: CodeLine | ChangelogLine | _Subject | None
    severity: str | None = None  # overrides the rule's default
    fix: tuple = ()  # Edit records; only for certain fixes


class _Sink:
    """Where the checks of one patch leave their hits (the engine empties
    it after each rule)."""

    def __init__(self):
        self.hits: list[Hit] = []


class _ReadOnly:
    """The sink of the FileChecks a series check reads: it takes no hits."""

    @property
    def hits(self):
        raise TypeError("a series check reports with SeriesCheck.report(PatchAt(index, place), ...)")


_READ_ONLY = _ReadOnly()


class _Reporter:
    """report(at, violation): the one way every check context reports."""

    _sink: _Sink

    def report(self, at, violation: Violation, *, fix: Iterable = (), severity: str | None = None) -> None:
        where = self._locate(at)
        if where is not False:
            self._sink.hits.append(Hit(violation, where, severity, tuple(e for e in fix if e)))

    def _locate(self, at):
        """The place at names (False: nowhere)."""
        if at is None or isinstance(at, (CodeLine, ChangelogLine, _Subject)):
            return at
        raise TypeError(f"{type(self).__name__}.report() takes no {type(at).__name__} as a place")


# ---- the C files of a patch ---------------------------------------------------------


def c_files(patch: Patch, patterns: Iterable[str] | None = None) -> list[FileDiff]:
    """The C files the patch leaves in the tree (not deleted, not binary)
    that match patterns."""
    return [d for d in patch.files
            if not d.is_deleted and not d.is_binary and d.path.endswith(C_SUFFIXES)
            and path_matches(d.path, patterns)]


def _regions(diff: FileDiff) -> list[Region]:
    """A changed file's post-image as Regions: the whole file when it is
    known, else one region per hunk."""
    added = diff.added_line_numbers
    if diff.post_image_text is not None:
        lines = diff.post_image_text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [Region(lines, list(range(1, len(lines) + 1)), added)]
    regions = []
    for hunk in diff.hunks:
        post = hunk.post_image()
        if post:
            regions.append(Region([ln.text for ln in post], [ln.new_no for ln in post], added, hunk.section))
    return regions


class _ParsedPatch:
    """The C files of one patch, each parsed once, and their TDX facts;
    shared by every check of the patch. It refers to nothing that refers
    back to it, so it goes with the patch's checks (the collector rests
    while a big mbox is reviewed)."""

    def __init__(self, patch: Patch):
        self.patch = patch
        self._regions: dict[int, list[Region]] = {}  # by id() of the FileDiff (held by the patch)
        self._tdx: dict[int, TdxFacts] = {}  # by id() of the Region (held in _regions)

    def regions(self, diff: FileDiff) -> list[Region]:
        found = self._regions.get(id(diff))
        if found is None:
            found = self._regions[id(diff)] = _regions(diff)
        return found

    @cached_property
    def tdx_patch(self) -> TdxPatchFacts:
        """What every C file of the patch says about TDX wrappers and
        helpers, and what its changelog says about loops."""
        return TdxPatchFacts([r for d in c_files(self.patch) for r in self.regions(d)], self.patch.prose_lines)

    def tdx(self, region: Region) -> TdxFacts:
        found = self._tdx.get(id(region))
        if found is None:
            found = self._tdx[id(region)] = TdxFacts(region, self.tdx_patch)
        return found


# ---- what a check gets ----------------------------------------------------------------


class Code(_Reporter):
    """One region of a changed C file: its C facts (.c), its TDX facts
    (.tdx) and its loops (.loops), and report()."""

    def __init__(self, region: Region, path: str, parsed: _ParsedPatch, sink: _Sink):
        self.c = region
        self.path = path
        self._parsed = parsed
        self._sink = sink

    @cached_property
    def tdx(self) -> TdxFacts:
        return self._parsed.tdx(self.c)

    @cached_property
    def loops(self) -> LoopFacts:
        return LoopFacts(self.tdx)

    @cached_property
    def abi(self) -> AbiFacts:
        return AbiFacts(self.tdx)

    def _locate(self, at):
        if isinstance(at, (list, tuple)) and not isinstance(at, CodeLine):
            places = [self._locate(a) for a in at if a is not None]
            places = [p for p in places if p]
            # A list names candidates: the first on a line the patch adds.
            return next((p for p in places if self.c.is_added(p.line)), places[0] if places else False)
        if isinstance(at, int):
            return CodeLine(self.path, at) if self.c.row_of(at) is not None else False
        if at is None or isinstance(at, (CodeLine, ChangelogLine, _Subject)):
            return super()._locate(at)
        return self._node_place(at)

    def _node_place(self, node) -> CodeLine | bool:
        """A node's place: its first line, or the first line of it the
        patch adds when its first line is context (a loop whose body the
        patch changes)."""
        region = self.c
        start = region.line_no(node.start_point[0])
        if start is not None and region.is_added(start):
            return CodeLine(self.path, start, node.start_point[1] + 1)
        added = region.first_added(node)
        if added is not None:
            return CodeLine(self.path, added)
        return CodeLine(self.path, start, node.start_point[1] + 1) if start is not None else False

    def edit(self, node, text: str, start: int | None = None, end: int | None = None) -> Edit | None:
        """An Edit replacing node's text (or the bytes start..end of it) with
        text; None when the span lies outside the real lines."""
        lo = node.start_byte + (start or 0)
        hi = node.start_byte + end if end is not None else node.end_byte
        first, last = self._point(lo), self._point(hi)
        if first is None or last is None:
            return None
        return Edit(self.path, first[0], first[1], last[0], last[1], text)

    def _point(self, byte: int):
        """(post-image line, byte column) of a byte of the region's source."""
        row, column = self.c.row_and_column(byte)
        line = self.c.line_no(row)
        return (line, column) if line is not None else None


class FileCheck(_Reporter):
    """A changed C file as check_file sees it: its regions as Code."""

    def __init__(self, diff: FileDiff, parsed: _ParsedPatch, sink: _Sink):
        self.diff = diff
        self.path = diff.path
        self.patch = parsed.patch
        self._parsed = parsed
        self._sink = sink
        self.code = [Code(r, diff.path, parsed, sink) for r in parsed.regions(diff)]

    @property
    def whole_file(self) -> bool:
        """Is the whole post-image file in sight (a local check), not only hunks?"""
        return self.diff.post_image_text is not None

    def others(self, patterns: Iterable[str] | None = None) -> list[FileCheck]:
        """The patch's other C files that match patterns (a header's
        stubs for the functions this file declares, say)."""
        return [FileCheck(d, self._parsed, self._sink) for d in c_files(self.patch, patterns)
                if d is not self.diff]

    def _locate(self, at):
        if isinstance(at, int):
            in_sight = any(c.c.row_of(at) is not None for c in self.code)
            return CodeLine(self.path, at) if in_sight else False
        return super()._locate(at)


class PatchCheck(_Reporter):
    """One patch as check_patch sees it. The engine hands one PatchCheck to
    every rule of a patch, so each file is parsed once and each Code's
    facts serve them all."""

    def __init__(self, patch: Patch):
        self.patch = patch
        self._parsed = _ParsedPatch(patch)
        self._sink = _Sink()
        self._file_checks: dict[int, FileCheck] = {}  # by id() of the FileDiff
        self._files: dict[int, tuple] = {}  # by id() of the patterns: (patterns, FileChecks)

    def files(self, patterns: Iterable[str] | None = None) -> list[FileCheck]:
        """The C files of the patch that match patterns (kept by patterns:
        the rules of a patch ask with a few constants)."""
        key = id(patterns)
        found = self._files.get(key)
        if found is None or found[0] is not patterns:
            found = self._files[key] = (patterns, [self.file_check(d) for d in c_files(self.patch, patterns)])
        return found[1]

    def file_check(self, diff: FileDiff) -> FileCheck:
        check = self._file_checks.get(id(diff))
        if check is None:
            check = self._file_checks[id(diff)] = FileCheck(diff, self._parsed, self._sink)
        return check

    def added_lines(self, patterns: Iterable[str] | None = None) -> Iterator[tuple[FileDiff, Line]]:
        """(file, line) for each line the patch adds to a file matching
        patterns, for rules that read added lines as text."""
        for diff in self.patch.files:
            if path_matches(diff.path, patterns):
                for line in diff.added_lines():
                    yield diff, line

    def removed_lines(self, patterns: Iterable[str] | None = None) -> Iterator[str]:
        """The text of each line the patch removes from a C file matching patterns."""
        for diff in self.patch.files:
            if diff.path.endswith(C_SUFFIXES) and not diff.is_binary and path_matches(diff.path, patterns):
                for hunk in diff.hunks:
                    for ln in hunk.lines:
                        if ln.kind == "-":
                            yield ln.text


class SeriesCheck(_Reporter):
    """A series as check_series sees it: findings about the series as a
    whole (report(None, ...)) or about one of its patches
    (report(PatchAt(index, place), ...))."""

    def __init__(self, series, parsed: dict | None = None):
        self.series = series
        self._sink = _Sink()
        # by id() of the Patch; the engine gives every series rule the same
        self._parsed: dict[int, _ParsedPatch] = parsed if parsed is not None else {}

    @property
    def previous(self):
        """The version before this one (a Series, with its replies), or None."""
        return self.series.previous

    def files(self, patch: Patch, patterns: Iterable[str] | None = None) -> list[FileCheck]:
        """The C files of one patch (of this series or of .previous) that
        match patterns, as FileChecks to read: each parsed once per check.
        A series check reports with report(PatchAt(...)), not through them."""
        parsed = self._parsed.get(id(patch))
        if parsed is None or parsed.patch is not patch:
            parsed = self._parsed[id(patch)] = _ParsedPatch(patch)
        return [FileCheck(d, parsed, _READ_ONLY) for d in c_files(patch, patterns)]

    def _locate(self, at):
        if at is None:
            return None
        if isinstance(at, PatchAt) and isinstance(at.patch, int) and (
                at.at is None or isinstance(at.at, (CodeLine, ChangelogLine, _Subject))):
            return at
        raise TypeError("SeriesCheck.report() takes None (the series as a whole) or PatchAt(index, place)")
