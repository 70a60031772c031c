"""Certain fixes: text edits a rule attaches to a finding when the change is
mechanical (a blank ' *' line, a ULL suffix, the file's own export macro),
and never where the rule would have to guess intent.

An Edit replaces a span of a post-image file, given as (line, byte column)
positions, 1-based lines and 0-based columns into the line's UTF-8 bytes
(what tree-sitter gives). Applying edits to a file's text, checking that the
result still parses, and rendering them for JSON and SARIF live here; the
git side (`tdxbot check --fix` and `--diff`) is in fixgit.py. Lines are
counted as git counts them (only a newline ends one), so a line number from
a patch or from `git diff` names the same line here.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..common import NamedTuple
from ..facts import parser


class Edit(NamedTuple):
    path: str
    line: int  # where the replaced span starts (1-based post-image line)
    column: int  # byte column in that line (0-based)
    end_line: int  # where it ends (exclusive column)
    end_column: int
    text: str  # the new text

    @property
    def lines(self) -> range:
        return range(self.line, self.end_line + 1)

    def as_json(self) -> dict:
        return {"path": self.path, "start": {"line": self.line, "column": self.column},
                "end": {"line": self.end_line, "column": self.end_column}, "text": self.text}


def line_edit(path: str, line: int, line_text: str, start: int, end: int, text: str) -> Edit:
    """An edit of one line, given by character positions in its text."""
    def column(i: int) -> int:
        return len(line_text[:i].encode("utf-8", "surrogateescape"))
    return Edit(path, line, column(start), line, column(end), text)


def insert_line(path: str, before: int, text: str) -> Edit:
    """An edit that puts a new line (text, without its newline) above line `before`."""
    return Edit(path, before, 0, before, 0, text + "\n")


def _line_starts(data: bytes) -> list[int]:
    """The byte offset where each line starts, counting lines the way git
    does: only '\\n' ends a line (a lone '\\r', a form feed or any other
    break is part of its line). One more entry: the end of the data."""
    starts = [0]
    at = data.find(b"\n")
    while at >= 0:
        starts.append(at + 1)
        at = data.find(b"\n", at + 1)
    if starts[-1] != len(data):
        starts.append(len(data))  # a last line without its newline
    return starts


def _span(data: bytes, starts: list[int], edit: Edit) -> tuple[int, int]:
    """The byte span an edit replaces. A position past the end of its line
    or of the file is an error, never moved to somewhere that fits."""
    def offset(line: int, column: int) -> int:
        if line == len(starts) and column == 0:
            return len(data)  # an insertion at the very end
        if not 1 <= line < len(starts):
            raise ValueError(f"{edit.path}:{line}: the fix is past the end of the file")
        start, end = starts[line - 1], starts[line]
        if not 0 <= column <= end - start:
            raise ValueError(f"{edit.path}:{line}: the fix is past the end of the line")
        return start + column
    start, end = offset(edit.line, edit.column), offset(edit.end_line, edit.end_column)
    if end < start:
        raise ValueError(f"{edit.path}:{edit.line}: the fix ends before it starts")
    return start, end


def apply(text: str, edits: Iterable[Edit]) -> str:
    """text with the edits applied; edits must not overlap (later ones in
    the file go first, so earlier positions stay valid). Lines are counted
    as git counts them, so an edit lands on the line `git diff` and the
    patch number it; a position that is not in the text is a ValueError."""
    data = text.encode("utf-8", "surrogateescape")
    starts = _line_starts(data)
    spans = sorted((_span(data, starts, e) + (e,) for e in edits), key=lambda s: s[0], reverse=True)
    last = len(data) + 1
    for start, end, edit in spans:
        if end > last:
            raise ValueError(f"overlapping fixes at {edit.path}:{edit.line}")
        data = data[:start] + edit.text.encode("utf-8", "surrogateescape") + data[end:]
        last = start
    return data.decode("utf-8", "surrogateescape")


def without_overlaps(edits: list[Edit]) -> list[Edit]:
    """The edits in file order, dropping any that overlaps one before it."""
    out: list[Edit] = []
    for e in sorted(edits, key=lambda e: (e.path, e.line, e.column)):
        prev = out[-1] if out else None
        if prev is not None and prev.path == e.path and \
                (e.line, e.column) < (prev.end_line, prev.end_column):
            continue
        if prev is not None and prev.path == e.path and e == prev:
            continue
        out.append(e)
    return out


def preview(edits: list[Edit], line_text, limit: int = 6) -> list[str] | None:
    """The edits of one file as a few diff lines ('-old', '+new', ' context'),
    for a reply; None when they do not fit in `limit` lines. line_text(line)
    gives a post-image line."""
    import difflib

    if not edits or len({e.path for e in edits}) != 1:
        return None
    # A new line is shown between its neighbours; a changed one alone.
    inserts = all((e.line, e.column) == (e.end_line, e.end_column) == (e.line, 0) for e in edits)
    context = 1 if inserts else 0
    first = min(e.line for e in edits)
    last = max(e.end_line for e in edits) - (1 if inserts else 0)
    lo = max(first - context, 1)
    old = [line_text(n) for n in range(lo, last + 1 + context)]
    if any(t is None for t in old):
        return None
    shifted = [e._replace(line=e.line - lo + 1, end_line=e.end_line - lo + 1) for e in edits]
    try:
        new = apply("\n".join(old) + "\n", shifted).split("\n")[:-1]
    except ValueError:  # an edit that does not fit the lines shown: no preview
        return None
    body = [ln for ln in difflib.unified_diff(old, new, lineterm="", n=context)][2:]
    body = [ln for ln in body if not ln.startswith("@@")]
    return body if 0 < len(body) <= limit else None


def error_count(text: str) -> int:
    """ERROR and MISSING nodes tree-sitter finds in a C file."""
    tree = parser().parse(text.encode("utf-8", "surrogateescape"))
    count, stack = 0, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def still_parses(before: str, after: str) -> bool:
    """The fixed text has no more parse errors than the text it came from."""
    return error_count(after) <= error_count(before)


def sarif_fix(edits: list[Edit], description: str, line_text) -> dict:
    """A SARIF 2.1.0 fix object; line_text(path, line) gives a line's text,
    for turning byte columns into the character columns SARIF counts."""
    changes: dict[str, list] = {}
    for e in edits:
        def char_col(line: int, column: int) -> int:
            raw = (line_text(e.path, line) or "").encode("utf-8", "surrogateescape")
            return len(raw[:column].decode("utf-8", "replace")) + 1
        changes.setdefault(e.path, []).append({
            "deletedRegion": {"startLine": e.line, "startColumn": char_col(e.line, e.column),
                              "endLine": e.end_line, "endColumn": char_col(e.end_line, e.end_column)},
            "insertedContent": {"text": e.text},
        })
    return {"description": {"text": description},
            "artifactChanges": [{"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                                 "replacements": reps} for path, reps in changes.items()]}
