"""Discover the rules and run them over a series.

The engine knows no rule by name: it imports every module in rules/, reads
the attributes described in bot/rulekit.py and turns each rule's Hits into
Findings. It also enforces what holds for every rule: a code finding lands on
a line the series adds, or it is dropped.
"""
from __future__ import annotations

import importlib
import os
import re
from functools import lru_cache
from types import ModuleType
from typing import Iterable, NamedTuple

from .errors import UserError
from .lazyre import lazy_re
from .model import SEVERITIES, Finding, Patch, Review, Series
from .areas import C_SUFFIXES, path_matches
from .rulekit import Hit, source_file

_ID = lazy_re(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class Rule(NamedTuple):
    id: str
    severity: str
    paths: tuple[str, ...] | None
    summary: str
    doc: str
    module: ModuleType
    kind: str  # "file", "patch" or "series": which check_* the module defines


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
    if len(kinds) != 1:
        raise ValueError(f"{module.__name__}: define exactly one of check_file/check_patch/check_series")
    paths = getattr(module, "PATHS", None)
    return Rule(rid, severity, tuple(paths) if paths is not None else None,
                doc.splitlines()[0].strip(), doc, module, kinds[0])


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    from . import rules as package

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


class Options(NamedTuple):
    ignore: frozenset[str] = frozenset()
    select: frozenset[str] | None = None  # run only these rule ids
    severity: tuple[tuple[str, str], ...] = ()  # (rule id, severity) overrides


def validate_rule_ids(ids: Iterable[str], where: str) -> None:
    """Unknown ids are the user's error: one line naming them, with the
    closest known id for each typo."""
    unknown = unknown_rule_ids(ids)
    if unknown:
        raise UserError(f"{where}: unknown rule id(s): {describe_unknown(unknown)} (see 'tdxbot rules')")


def unknown_rule_ids(ids: Iterable[str]) -> list[str]:
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
             path: str | None = None, source_text: str | None = None) -> Finding:
    sev = severity.get(rule.id) or hit.severity or rule.severity
    text = source_text
    if patch is not None and hit.changelog_line is not None \
            and 0 <= hit.changelog_line < len(patch.changelog_lines):
        text = patch.changelog_lines[hit.changelog_line]
    elif patch is not None and hit.on_subject:
        text = patch.subject
    return Finding(
        rule=rule.id,
        severity=sev,
        message=hit.message,
        patch_index=patch.index if patch is not None else None,
        message_id=patch.message_id if patch is not None else None,
        path=path,
        line=hit.line if path is not None else None,
        changelog_line=hit.changelog_line,
        on_subject=hit.on_subject,
        source_text=text,
        comment=hit.comment,
    )


def check_patch(patch: Patch, options: Options = Options()) -> list[Finding]:
    """The findings of the file and patch rules on one patch. They depend on
    the patch alone, so they can be worked out before the series is known."""
    from .limits import note, too_large

    if (why := too_large(patch)) is not None:
        return [note(patch, why)]
    severity = dict(options.severity)
    findings: list[Finding] = []
    added_by_path: dict[str, dict[int, str]] = {}
    for diff in patch.files:
        lines = added_by_path.setdefault(diff.path, {})
        lines.update((ln.new_no, ln.text) for ln in diff.added_lines())
    c_files = [d for d in patch.files
               if not d.is_deleted and not d.is_binary and d.path.endswith(C_SUFFIXES)]
    for rule in active_rules(options):
        if rule.kind == "patch":
            if rule.paths is not None and not any(path_matches(f.path, rule.paths) for f in patch.files):
                continue
            for hit in rule.module.check_patch(patch):
                if hit.path is None:
                    findings.append(_finding(rule, hit, patch, severity))
                    continue
                added = added_by_path.get(hit.path, {})
                if hit.line in added:
                    findings.append(_finding(rule, hit, patch, severity, hit.path,
                                             added[hit.line]))
        elif rule.kind == "file":
            for diff in c_files:
                if not path_matches(diff.path, rule.paths):
                    continue
                added_text = added_by_path[diff.path]
                for hit in rule.module.check_file(source_file(diff), patch):
                    if hit.line not in added_text:
                        continue  # findings land only on lines the patch adds
                    findings.append(_finding(rule, hit, patch, severity, diff.path,
                                             added_text[hit.line]))
    return findings


def review_series(series: Series, options: Options = Options(),
                  checked: dict[int, tuple[Patch, list[Finding]]] | None = None) -> Review:
    """checked: check_patch results worked out earlier, by id() of the patch,
    each with its patch (held so the id stays that patch's)."""
    severity = dict(options.severity)
    rules = active_rules(options)
    findings: list[Finding] = []
    for patch in series.patches:
        earlier = checked.get(id(patch)) if checked else None
        if earlier is not None and earlier[0] is patch:
            findings.extend(earlier[1])
        else:
            findings.extend(check_patch(patch, options))
    for rule in rules:
        if rule.kind == "series":
            for hit in rule.module.check_series(series):
                findings.append(_finding(rule, hit, None, severity))
    findings = _dedupe(findings)
    findings = mark_already_raised(findings, series)
    file_order = {(p.index, d.path): i for p in series.patches for i, d in enumerate(p.files, 1)}
    findings.sort(key=lambda f: _order(f, file_order))
    review = Review(series=series, findings=findings)
    if series.missing:
        review.notes.append("missing patches: " + ", ".join(
            f"{i}/{series.total}" for i in series.missing))
    return review


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.rule, f.patch_index, f.path, f.line, f.changelog_line, f.on_subject, f.message)
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
    """A human reply that quotes a line and comments right below it has made
    a point on that line; a finding there is marked and left out of drafts."""
    commented: dict[str, set[str]] = {}
    for reply in series.replies:
        if reply.in_reply_to:
            commented.setdefault(reply.in_reply_to, set()).update(_commented_lines(reply.body_lines))
    if not commented:
        return findings
    out = []
    for f in findings:
        lines = commented.get(f.message_id or "", set())
        key = _quote_key(f.source_text) if f.source_text else None
        if key and key in lines:
            f = f._replace(already_raised=True)
        out.append(f)
    return out


def _quote_key(text: str) -> str:
    return " ".join(text.lstrip("+").split())


def _commented_lines(body: tuple[str, ...]) -> set[str]:
    """Quoted lines directly followed by the replier's own words."""
    out = set()
    last_quoted = None
    for text in body:
        if text.startswith(">"):
            inner = text[1:]
            inner = inner[1:] if inner.startswith(" ") else inner
            if inner.startswith(">"):
                last_quoted = None  # a quote of a quote is somebody else's point
                continue
            last_quoted = inner
            continue
        if not text.strip():
            continue
        if text.startswith("-- "):
            break
        if last_quoted is not None and _makes_a_point(text):
            content = last_quoted[1:] if last_quoted[:1] in ("+", "-", " ") else last_quoted
            key = _quote_key(content)
            if key:
                out.add(key)
        last_quoted = None
    return out


_ACK = lazy_re(r"^\W*(ok(ay)?|yes|yep|sure|right|agreed|ack(ed)?|nod|fine|good|thanks?|"
               r"looks (good|fine|ok)|lgtm|\+1|same here)\W*$", re.I)


def _makes_a_point(text: str) -> bool:
    """A comment under a quoted line that could be a review point ("And
    here.", "Nit: a new line here."): not a bare acknowledgement ("ok",
    "agreed") and more than one word. (A reply saying "ok" under every
    line must not hide the findings.)"""
    return not _ACK.match(text) and len(text.split()) >= 2


def exit_status(reviews: Iterable[Review], fail_on: str = "warning") -> int:
    """1 when a finding reaches fail_on, else 0."""
    from .model import SEVERITY_RANK

    threshold = SEVERITY_RANK[fail_on]
    return 1 if any(f.rank >= threshold for r in reviews for f in r.findings) else 0
