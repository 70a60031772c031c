"""Discover the rules and run them over a series.

The engine knows no rule by name: it imports every module in rules/, reads
the attributes described in bot/lint/kit.py and turns each rule's Hits into
Findings. It also enforces what holds for every rule: a code finding lands on
a line the series adds, or it is dropped; a fix edits only what it adds.
"""
from __future__ import annotations

import importlib
import os
import time
from functools import lru_cache
from types import ModuleType
from collections.abc import Iterable

from .. import rules as package
from ..common import NamedTuple, UserError, lazy_re
from ..facts import on_topic, topic_terms
from ..mail import Patch, Series, quote_key
from .areas import Tree, patch_tree, path_matches, tree_of
from .findings import SEVERITIES, SEVERITY_RANK, Finding, Options, Review
from .kit import SUBJECT, ChangelogLine, CodeLine, Hit, PatchAt, PatchCheck, SeriesCheck, Violation, c_files
from . import limits
from .limits import OutOfTime, note, out_of_time, time_budget, too_large

_ID = lazy_re(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class Rule(NamedTuple):
    id: str
    severity: str
    paths: tuple[str, ...] | None
    summary: str
    doc: str
    module: ModuleType
    kind: str  # "file", "patch" or "series": which check_* the module defines
    violations: tuple[type, ...]  # what the rule says: its Violation subclasses
    # The maintainer trees whose convention it enforces, with where their
    # documents say so (None: a point of correctness, on every tree).
    trees: dict | None = None

    @property
    def tree_names(self) -> frozenset[str] | None:
        return frozenset(t.name for t in self.trees) if self.trees is not None else None


def _rule_from_module(module: ModuleType) -> Rule:
    rid = getattr(module, "ID")
    if not _ID.match(rid):
        raise ValueError(f"{module.__name__}: rule id {rid!r} is not kebab-case")
    severity = getattr(module, "SEVERITY", "warning")
    if severity not in SEVERITIES:
        raise ValueError(f"{module.__name__}: unknown severity {severity!r}")
    doc = (module.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"{module.__name__}: a rule needs a docstring")
    kinds = [k for k in ("file", "patch", "series") if hasattr(module, f"check_{k}")]
    if kinds and getattr(module, f"check_{kinds[0]}").__code__.co_flags & 0x20:  # CO_GENERATOR
        raise ValueError(f"{module.__name__}: check_{kinds[0]}() reports through its context; "
                         "it must not yield")
    if len(kinds) != 1:
        raise ValueError(f"{module.__name__}: define exactly one of check_file/check_patch/check_series")
    # Names starting with "_" are shared bases of a rule's violations.
    violations = tuple(v for name, v in vars(module).items() if isinstance(v, type) and not name.startswith("_")
                       and issubclass(v, Violation) and v.__module__ == module.__name__)
    for v in violations:
        if not v.message:
            raise ValueError(f"{module.__name__}: {v.__name__} has no message")
    paths = getattr(module, "PATHS", None)
    trees = getattr(module, "TREES", None)
    if trees is not None and (not isinstance(trees, dict) or not trees
                              or not all(isinstance(t, Tree) and isinstance(w, str) and w for t, w in trees.items())):
        raise ValueError(f"{module.__name__}: TREES maps each tree (TIP, KVM_X86, GENERIC) to where its "
                         "document says so")
    return Rule(rid, severity, tuple(paths) if paths is not None else None,
                doc.splitlines()[0].strip(), doc, module, kinds[0], violations, dict(trees) if trees else None)


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    found = []
    # A directory listing, not pkgutil: pkgutil pulls in inspect, which the
    # per-patch b4 check would pay for on every patch.
    names = sorted({entry.name[:-3] for folder in package.__path__ for entry in os.scandir(folder)
                    if entry.name.endswith(".py") and not entry.name.startswith("_")})
    for name in names:
        module = importlib.import_module(f"{package.__name__}.{name}")
        if hasattr(module, "ID"):
            found.append(_rule_from_module(module))
    ids = [r.id for r in found]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate rule ids: {sorted(dupes)}")
    return tuple(sorted(found, key=lambda r: r.id))


def validate_rule_ids(ids: Iterable[str], where: str) -> None:
    """Unknown ids are the user's error: one line naming them, with the
    closest known id for each typo."""
    unknown = unknown_rule_ids(ids)
    if unknown:
        raise UserError(f"{where}: unknown rule id(s): {describe_unknown(unknown)} (see 'tdxbot rules')")


def unknown_rule_ids(ids: Iterable[str]) -> list[str]:
    ids = set(ids)
    if not ids:  # nothing to look up: the rules need not be loaded
        return []
    known = {r.id for r in all_rules()}
    return sorted(set(ids) - known)


def describe_unknown(unknown: Iterable[str]) -> str:
    """'no-such-rule, comment-tial (did you mean comment-tail?)'."""
    import difflib

    known = [r.id for r in all_rules()]
    parts = []
    for rid in unknown:
        close = difflib.get_close_matches(rid, known, n=1, cutoff=0.6)
        parts.append(f"{rid} (did you mean {close[0]}?)" if close else rid)
    return ", ".join(parts)


@lru_cache(maxsize=8)
def active_rules(options: Options) -> tuple[Rule, ...]:
    out = []
    for rule in all_rules():
        if rule.id in options.ignore:
            continue
        if options.select is not None and rule.id not in options.select:
            continue
        out.append(rule)
    return tuple(out)


def _finding(rule: Rule, hit: Hit, patch: Patch | None, severity: dict[str, str],
             source_text: str | None = None) -> Finding:
    at = hit.at
    changelog_line = at.index if isinstance(at, ChangelogLine) else None
    text = source_text
    if changelog_line is not None and 0 <= changelog_line < len(patch.changelog_lines):
        text = patch.changelog_lines[changelog_line]
    elif at is SUBJECT:
        text = patch.subject
    code = at if isinstance(at, CodeLine) else None
    return Finding(
        rule=rule.id,
        severity=severity.get(rule.id) or hit.severity or rule.severity,
        message=hit.violation.text(),
        patch_index=patch.index if patch is not None else None,
        message_id=patch.message_id if patch is not None else None,
        path=code.path if code else None,
        line=code.line if code else None,
        changelog_line=changelog_line,
        on_subject=at is SUBJECT,
        source_text=text,
        comment=hit.violation.reviewer_text(),
        fix=hit.fix,
        column=code.column if code else None,
        violation=type(hit.violation).__name__,
    )


class _AddedLines(dict):
    """The text of each line a patch adds, by path and post-image number;
    a path's table is made when a finding first asks for it (most files of
    a review get none)."""

    def __init__(self, patch: Patch):
        super().__init__()
        self.patch = patch

    def __missing__(self, path: str) -> dict[int, str]:
        lines = self[path] = {ln.new_no: ln.text for diff in self.patch.files if diff.path == path
                              for ln in diff.added_lines()}
        return lines


def _fixes_added_lines(edit, added_by_path: _AddedLines) -> bool:
    """An edit may change only lines the patch adds, or insert a line right
    after one."""
    added = added_by_path[edit.path]
    if (edit.line, edit.column) == (edit.end_line, edit.end_column) and edit.column == 0:
        return edit.line - 1 in added or edit.line in added
    return all(n in added for n in edit.lines)


@lru_cache(maxsize=8)
def _patch_plan(options: Options) -> tuple:
    """(rule, its check function, its PATHS, (id of PATHS, C files only))
    for each patch and file rule: worked out once, not for every patch."""
    return tuple((rule, rule.module.check_file if rule.kind == "file" else rule.module.check_patch,
                  rule.paths, (id(rule.paths), rule.kind == "file"), rule.tree_names)
                 for rule in active_rules(options) if rule.kind in ("patch", "file"))


def check_patch(patch: Patch, options: Options = Options(), until: float | None = None) -> list[Finding]:
    """The findings of the file and patch rules on one patch. They depend on
    the patch alone, so they can be worked out before the series is known.
    until: the series' deadline (time.monotonic()), see SERIES_SECONDS."""
    if (why := too_large(patch)) is not None:
        return [note(patch, why)]
    if until is not None and time.monotonic() >= until:
        return [out_of_time(patch, "", limits.SERIES_SECONDS, what="the review of this series")]
    severity = dict(options.severity)
    findings: list[Finding] = []
    added_by_path = _AddedLines(patch)
    c_diffs = c_files(patch)
    # One context serves every rule of the patch (each file's Code objects
    # with it); each rule's hits are taken out of the sink before the next runs.
    context = PatchCheck(patch)
    sink = context._sink
    covers: dict[tuple[int, bool], list] = {}  # the files each (PATHS, C only) covers
    taken_by = None  # the tree that takes the patch, asked once
    deadline = time.monotonic() + limits.PATCH_SECONDS
    if until is not None:
        deadline = min(deadline, until)
    for rule, check, paths, key, trees in _patch_plan(options):
        files = covers.get(key)
        if files is None:  # few rules' PATHS differ: each is matched once
            files = covers[key] = [d for d in (c_diffs if key[1] else patch.files)
                                   if path_matches(d.path, paths)]
        if not key[1] and paths is not None and not files:
            continue
        if trees is not None:  # a tree's convention: only where that tree takes the code
            if key[1]:
                files = [d for d in files if tree_of(d.path).name in trees]
            else:
                taken_by = taken_by or patch_tree(patch)
                if taken_by.name not in trees:
                    continue
        left = deadline - time.monotonic()
        if left <= 0:
            findings.append(out_of_time(patch, rule.id))
            continue
        try:
            with time_budget(min(limits.RULE_SECONDS, left)):
                if not key[1]:
                    check(context)
                else:
                    for diff in files:
                        check(context.file_check(diff))
        except OutOfTime:
            findings.append(out_of_time(patch, rule.id))
            # What the rule left half worked out must not serve the rules after it.
            context = PatchCheck(patch)
            sink = context._sink
            continue
        hits, sink.hits = sink.hits, []
        for hit in hits:
            if not isinstance(hit.at, CodeLine):
                findings.append(_finding(rule, hit, patch, severity))
                continue
            added = added_by_path[hit.at.path]
            if hit.at.line in added:  # findings land only on lines the patch adds
                if hit.fix and not all(_fixes_added_lines(e, added_by_path) for e in hit.fix):
                    hit = hit._replace(fix=())  # a fix touches only what the patch adds
                findings.append(_finding(rule, hit, patch, severity, added[hit.at.line]))
    return findings


def review_series(series: Series, options: Options = Options(),
                  checked: dict[int, tuple[Patch, list[Finding]]] | None = None) -> Review:
    """checked: check_patch results worked out earlier, by id() of the patch,
    each with its patch (held so the id stays that patch's)."""
    severity = dict(options.severity)
    rules = active_rules(options)
    findings: list[Finding] = []
    until = time.monotonic() + limits.SERIES_SECONDS
    for patch in series.patches:
        earlier = checked.get(id(patch)) if checked else None
        if earlier is not None and earlier[0] is patch:
            findings.extend(earlier[1])
        else:
            findings.extend(check_patch(patch, options, until))
    parsed: dict = {}  # the series rules share each patch's parse
    for rule in rules:
        if rule.kind == "series":
            left = until - time.monotonic()
            if left <= 0:
                findings.append(out_of_time(None, rule.id, limits.SERIES_SECONDS))
                continue
            context = SeriesCheck(series, parsed)
            try:
                with time_budget(min(limits.RULE_SECONDS, left)):
                    rule.module.check_series(context)
            except OutOfTime:
                findings.append(out_of_time(None, rule.id))
                continue
            findings += _series_findings(rule, context._sink.hits, series, severity)
    findings = _dedupe(findings)
    findings = _without_temporary_lines(findings, series, rules)
    findings = mark_already_raised(findings, series)
    file_order = {(p.index, d.path): i for p in series.patches for i, d in enumerate(p.files, 1)}
    findings.sort(key=lambda f: _order(f, file_order))
    review = Review(series=series, findings=findings)
    if series.previous is not None:
        # Imported here: most reviews (every b4-check) have no previous version.
        from .followup import follow_up

        review.follow_up = follow_up(series, series.previous)
    if series.missing:
        review.notes.append("missing patches: " + ", ".join(
            f"{i}/{series.total}" for i in series.missing))
    return review


def _without_temporary_lines(findings: list[Finding], series: Series, rules) -> list[Finding]:
    """Drops the code findings of tree-convention rules (style) on lines
    that a later patch of the series removes again: a stub that a later
    patch replaces never reaches the tree in that form, and the style of a
    line nobody will merge is nobody's concern."""
    style = {r.id for r in rules if r.trees is not None}
    if len(series.patches) < 2 or not any(f.rule in style and f.path for f in findings):
        return findings
    removed_later: dict[int, set[tuple[str, str]]] = {}  # patch index -> (path, text) removed after it
    seen: set[tuple[str, str]] = set()
    for patch in reversed(series.patches):
        removed_later[patch.index] = set(seen)
        for diff in patch.files:
            for hunk in diff.hunks:
                seen.update((diff.path, ln.text.rstrip()) for ln in hunk.lines
                            if ln.kind == "-" and len(ln.text.strip()) > 3)
    return [f for f in findings
            if not (f.rule in style and f.path and f.source_text is not None
                    and (f.path, f.source_text.rstrip()) in removed_later.get(f.patch_index, ()))]


def _series_findings(rule: Rule, hits: list[Hit], series: Series, severity: dict[str, str]) -> list[Finding]:
    """A series rule's findings: about the series, or placed in one of its
    patches (PatchAt); one on code lands on a line that patch adds, or it
    is dropped, as for every rule."""
    by_index = {p.index: p for p in series.patches}
    added: dict[int, _AddedLines] = {}
    out = []
    for hit in hits:
        if not isinstance(hit.at, PatchAt):
            out.append(_finding(rule, hit, None, severity))
            continue
        patch = by_index.get(hit.at.patch)
        if patch is None:
            continue
        inner = hit._replace(at=hit.at.at)
        if isinstance(inner.at, CodeLine):
            lines = added.setdefault(patch.index, _AddedLines(patch))[inner.at.path]
            if inner.at.line not in lines:
                continue
            if inner.fix and not all(_fixes_added_lines(e, added[patch.index]) for e in inner.fix):
                inner = inner._replace(fix=())
            out.append(_finding(rule, inner, patch, severity, lines[inner.at.line]))
        else:
            out.append(_finding(rule, inner, patch, severity))
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        # The Message-ID too: two mails can carry one number (a "[PATCH 2/2]"
        # posted into someone else's series), and each keeps its findings.
        key = (f.rule, f.patch_index, f.message_id, f.path, f.line, f.changelog_line, f.on_subject, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _order(f: Finding, file_order: dict) -> tuple:
    order = file_order.get((f.patch_index, f.path), 0)
    place = (0, 0) if f.on_subject else (1, f.changelog_line) if f.changelog_line is not None \
        else (2 + order, f.line or 0)
    return (f.patch_index if f.patch_index is not None else -1, place, f.rule)


def mark_already_raised(findings: list[Finding], series: Series) -> list[Finding]:
    """A finding on a line a human reviewer already commented on (a remark
    of the thread, see mail.remarks) on the same topic (the rule's TOPICS,
    else the words of its id and message) is marked and left out of
    drafts; a finding on another topic stays: "add a new line here" says
    nothing about a loop bound."""
    said: dict[tuple[str, str], list[str]] = {}  # (message id, quoted line) -> remarks
    for remark in series.remarks:
        said.setdefault((remark.in_reply_to, remark.quoted), []).append(remark.text)
    if not said:
        return findings
    modules = {r.id: r.module for r in all_rules()}
    out = []
    for f in findings:
        texts = said.get((f.message_id or "", quote_key(f.source_text))) if f.source_text else None
        if texts:
            terms = topic_terms(f.rule, f.message, getattr(modules.get(f.rule), "TOPICS", None))
            if any(on_topic(text, terms) for text in texts):
                f = f._replace(already_raised=True)
        out.append(f)
    return out


def exit_status(reviews: Iterable[Review], fail_on: str = "warning") -> int:
    """1 when a finding reaches fail_on, else 0."""
    threshold = SEVERITY_RANK[fail_on]
    return 1 if any(f.rank >= threshold for r in reviews for f in r.findings) else 0
