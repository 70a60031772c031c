"""What a rule module is, and the helpers rules share.

A rule is a module in rules/ with:

- a docstring: first line is the summary `tdxbot rules` shows; the rest says
  what it flags, why, an example that fires and one that must not;
- ID (stable, kebab-case), SEVERITY ("error", "warning" or "info");
- PATHS: fnmatch patterns of the files it reads (None: every file), taken
  from the named areas in bot/lint/areas.py;
- one of check_file(file), check_patch(patch) or check_series(series):
  file is a FileCheck (its regions as Code, each with C facts, TDX facts
  (.tdx) and report()), patch a PatchCheck, series a SeriesCheck. A rule
  says what it found with report(); the context works out the location and
  drops what is not on a line the patch adds;
- INVALID and VALID: lists of Case, the hits and near-misses that the one
  shared test (tests/test_rule_cases.py) runs for every rule.

The engine knows no rule by name; it only reads these attributes.
"""
from __future__ import annotations

from typing import Iterable, Iterator, NamedTuple

from .areas import C_SUFFIXES, path_matches
from .cases import Case  # noqa: F401 - part of the rule contract: rules import it from here
from ..facts.c import Region
from ..common.kept import cached_property
from ..mail.model import FileDiff, Line, Patch

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
    fix: tuple = ()  # Edit records (see fixes.py); only for certain fixes


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
_PATCH_FACTS: dict[int, tuple[Patch, object]] = {}


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


def c_files(patch: Patch, patterns: Iterable[str] | None = None) -> list[FileDiff]:
    return [d for d in patch.files
            if not d.is_deleted and not d.is_binary and d.path.endswith(C_SUFFIXES)
            and path_matches(d.path, patterns)]


def sources_in(patch: Patch, patterns: Iterable[str] | None) -> list[SourceFile]:
    """The C files of a patch that match patterns."""
    return [source_file(d) for d in c_files(patch, patterns)]


def patch_facts(patch: Patch):
    """What every C file of the patch says about TDX wrappers and helpers."""
    from ..facts.tdx import TdxPatchFacts

    entry = _PATCH_FACTS.get(id(patch))
    if entry is not None and entry[0] is patch:
        return entry[1]
    if len(_PATCH_FACTS) > 64:
        _PATCH_FACTS.clear()
    regions = [r for s in sources_in(patch, None) for r in s.regions]
    facts = TdxPatchFacts(regions)
    _PATCH_FACTS[id(patch)] = (patch, facts)
    return facts


_TDX_FACTS: dict[int, tuple[Region, object]] = {}


def tdx_facts(region: Region, patch: Patch):
    """The TDX facts of one region (made once per patch)."""
    entry = _TDX_FACTS.get(id(region))
    if entry is not None and entry[0] is region:
        return entry[1]
    from ..facts.tdx import TdxFacts

    facts = TdxFacts(region, patch_facts(patch))
    _TDX_FACTS[id(region)] = (region, facts)
    return facts


def forget(patch: Patch) -> None:
    """Drop what was worked out for a patch's files once it is checked: a
    big mbox would otherwise keep hundreds of parsed files alive."""
    _PATCH_FACTS.pop(id(patch), None)
    for diff in patch.files:
        entry = _SOURCES.pop(id(diff), None)
        if entry is not None:
            for region in entry[1].regions:
                _TDX_FACTS.pop(id(region), None)


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
            regions.append(Region([ln.text for ln in post], [ln.new_no for ln in post], added,
                                  hunk.section))
    return SourceFile(diff, regions)


# ---------------------------------------------------------------------------
# What a rule's check function receives: the thing to check, the facts about
# it, and report(). Locations are worked out here, never in a rule.


class _Sink:
    def __init__(self):
        self.hits: list[Hit] = []


class Code:
    """One region of a changed C file: the Region's C facts (every Region
    method is available here), its TDX facts (.tdx), and report()."""

    def __init__(self, region: Region, path: str, patch: Patch, sink: "_Sink"):
        # No reference back to the FileCheck: objects that point at each
        # other outlive their patch until a garbage-collector pass.
        self.region = region
        self.path = path
        self.patch = patch
        self.sink = sink

    def __getattr__(self, name):
        # The Region's methods and properties, looked up once and then kept
        # here (a Code serves every rule of its patch).
        value = getattr(self.region, name)
        if callable(value):
            self.__dict__[name] = value
        return value

    @cached_property
    def tdx(self):
        return tdx_facts(self.region, self.patch)

    @cached_property
    def loops(self):
        from ..facts.tdx import LoopFacts

        return LoopFacts(self.tdx)

    def line_of(self, where) -> int | None:
        """The added post-image line a node (or line number, or the first
        of several candidates that has one) stands for; None if none."""
        if where is None:
            return None
        if isinstance(where, (list, tuple)):
            return next((ln for ln in (self.line_of(w) for w in where if w is not None)
                         if ln is not None), None)
        if isinstance(where, int):
            return where if self.region.is_added(where) else None
        start = self.region.line_no(where.start_point[0])
        if self.region.is_added(start):
            return start
        return self.region.first_added(where)

    def edit(self, node, text: str, start: int | None = None, end: int | None = None):
        """An Edit replacing node's text (or the bytes start..end of it) with
        text; None when the span lies outside the real lines."""
        from .fixes import Edit

        lo = node.start_byte + (start or 0)
        hi = node.start_byte + end if end is not None else node.end_byte
        first, last = self._point(lo), self._point(hi)
        if first is None or last is None:
            return None
        return Edit(self.path, first[0], first[1], last[0], last[1], text)

    def _point(self, byte: int):
        """(post-image line, byte column) of a byte of the region's source."""
        source = self.region.source
        row = source.count(b"\n", 0, byte)
        column = byte - (source.rfind(b"\n", 0, byte) + 1)
        line = self.region.line_no(row)
        return (line, column) if line is not None else None

    def report(self, where, message: str, comment: str | None = None, *, fix=(),
               severity: str | None = None) -> None:
        """Report at a node or line; dropped when it is not on an added line."""
        line = self.line_of(where)
        if line is not None:
            self.sink.hits.append(Hit(message, line=line, path=self.path, comment=comment,
                                           severity=severity, fix=tuple(e for e in fix if e)))


class FileCheck:
    """A changed C file as a check_file rule sees it."""

    def __init__(self, source: SourceFile, patch: Patch, sink: _Sink | None = None):
        self.source = source
        self.patch = patch
        self.sink = sink or _Sink()
        self.code = [Code(r, source.path, patch, self.sink) for r in source.regions]

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def whole_file(self) -> bool:
        return self.source.whole_file

    @property
    def regions(self) -> list[Region]:
        return self.source.regions

    def report(self, line: int, message: str, comment: str | None = None, **kw) -> None:
        for code in self.code:
            if code.region.row_of(line) is not None:
                code.report(line, message, comment, **kw)
                return


class PatchCheck:
    """One patch as a check_patch rule sees it."""

    def __init__(self, patch: Patch):
        self.patch = patch
        self.sink = _Sink()
        self._file_checks: dict[int, FileCheck] = {}  # by id() of the FileDiff
        self._files: dict[int, tuple] = {}  # by id() of the patterns: (patterns, FileChecks)

    def files(self, patterns: Iterable[str] | None) -> list[FileCheck]:
        """The C files of the patch that match patterns, sharing this sink
        (kept by patterns: the rules of a patch ask with a few constants)."""
        key = id(patterns)
        found = self._files.get(key)
        if found is None or found[0] is not patterns:
            found = self._files[key] = (patterns, [self.file_check(d) for d in c_files(self.patch, patterns)])
        return found[1]

    def file_check(self, diff: FileDiff) -> FileCheck:
        """The FileCheck of one changed file of the patch. The engine hands
        one PatchCheck to every rule of a patch, so each file's Code objects
        (and what they keep) serve them all."""
        check = self._file_checks.get(id(diff))
        if check is None:
            check = self._file_checks[id(diff)] = FileCheck(source_file(diff), self.patch, self.sink)
        return check

    def report(self, message: str, comment: str | None = None, **where) -> None:
        """A remark at a place the rule names: changelog_line=, on_subject=,
        or path= and line= (an added line); with none, the patch as a whole."""
        self.sink.hits.append(Hit(message, comment=comment, **where))

    def report_changelog(self, index: int, message: str, comment: str | None = None, **kw) -> None:
        self.sink.hits.append(Hit(message, changelog_line=index, comment=comment, **kw))

    def report_subject(self, message: str, comment: str | None = None, **kw) -> None:
        self.sink.hits.append(Hit(message, on_subject=True, comment=comment, **kw))

    def report_patch(self, message: str, comment: str | None = None, **kw) -> None:
        """A remark on the patch as a whole (no line)."""
        self.sink.hits.append(Hit(message, comment=comment, **kw))

    def report_line(self, path: str, line: int, message: str, comment: str | None = None,
                    **kw) -> None:
        """A remark on an added line of any file of the patch."""
        self.sink.hits.append(Hit(message, line=line, path=path, comment=comment, **kw))


class SeriesCheck:
    """A series as a check_series rule sees it."""

    def __init__(self, series):
        self.series = series
        self.sink = _Sink()

    def report(self, message: str, comment: str | None = None, **kw) -> None:
        self.sink.hits.append(Hit(message, comment=comment, **kw))
