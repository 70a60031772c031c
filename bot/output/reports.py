"""Render a Review: text for people, JSON for tools, checkpatch-style lines
for b4. Pure functions from a Review to a string."""
from __future__ import annotations

import os

from .. import __version__
from ..mail import printable
from ..lint import Finding, Review

_COLOURS = {"error": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m",
            "bold": "\033[1m", "dim": "\033[2m", "reset": "\033[0m"}


def use_colour(stream, mode: str = "auto") -> bool:
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def _count(n: int, noun: str) -> str:
    """'1 error', '3 errors'."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _where(f: Finding) -> str:
    if f.path is not None:
        return f"{printable(f.path)}:{f.line}"
    if f.on_subject:
        return "subject"
    if f.changelog_line is not None:
        return f"changelog:{f.changelog_line + 1}"
    return "patch" if f.patch_index is not None else "series"


def render_text(review: Review, colour: bool = False) -> str:
    """The report for people. Text from the mail (subjects, changelog and
    code lines, paths) goes through printable(): an escape sequence in a
    subject is shown, not run by the terminal."""
    def c(name: str, text: str) -> str:
        return f"{_COLOURS[name]}{text}{_COLOURS['reset']}" if colour else text

    series = review.series
    out = []
    head = f"Series: {printable(series.title)} (v{series.version}, {len(series.patches)} of {series.total} patches"
    head += ", with cover letter)" if series.cover else ")"
    out.append(c("bold", head))
    for note in review.notes:
        out.append(f"  note: {printable(note)}")
    groups: dict[int | None, list[Finding]] = {}
    for f in review.findings:
        groups.setdefault(f.patch_index, []).append(f)
    if None in groups:
        out.append("")
        out.append(c("bold", "Series"))
        out.extend(_finding_lines(groups[None], c))
    for patch in series.patches:
        found = groups.get(patch.index, [])
        out.append("")
        out.append(c("bold", printable(patch.subject or patch.title)))
        if not found:
            out.append(c("dim", "  no findings"))
        out.extend(_finding_lines(found, c))
    if review.follow_up is not None:
        out.append("")
        out.extend(follow_up_text(review, c))
    counts = {s: sum(1 for f in review.findings if f.severity == s) for s in ("error", "warning", "info")}
    raised = sum(1 for f in review.findings if f.already_raised)
    out.append("")
    summary = f"{_count(counts['error'], 'error')}, {_count(counts['warning'], 'warning')}, {counts['info']} info"
    if raised:
        summary += f" ({raised} already raised by a reviewer in the thread)"
    out.append(summary)
    return "\n".join(out) + "\n"


def _finding_lines(findings: list[Finding], c) -> list[str]:
    out = []
    for f in findings:
        mark = " (already raised in the thread)" if f.already_raised else ""
        out.append(f"  {_where(f)}: {c(f.severity, f.severity)}: [{f.rule}] {printable(f.message)}{mark}")
        if f.source_text is not None:
            out.append(c("dim", "      " + printable(f.source_text.expandtabs(8).rstrip())))
    return out


_STATUS_COLOUR = {"not addressed": "warning", "unclear": "info", "addressed": "dim"}


def _place(report, f) -> str:
    where = "cover letter" if f.patch_index == 0 else (
        f"[{f.patch_index}/{report.previous_total}]" if f.patch_index is not None else "[?]")
    if f.path is not None:
        where += f" {printable(f.path)}" + (f":{f.line}" if f.line is not None else "")
    elif f.anchor == "changelog":
        where += " changelog"
    return where


def follow_up_text(review: Review, c=lambda _name, text: text) -> list[str]:
    """The follow-up on the previous version's review, for the text report:
    each point with its status and why, open points first; then the tags
    given on that version and whether this one carries them."""
    report = review.follow_up
    items = report.open_first()
    counts = {s: sum(1 for f in items if f.status == s) for s in ("not addressed", "unclear", "addressed")}
    head = (f"Follow-up on the v{report.previous_version} review: {len(items)} point"
            f"{'s' * (len(items) != 1)}, {counts['not addressed']} not addressed, {counts['unclear']} unclear, "
            f"{counts['addressed']} addressed")
    out = [c("bold", head)]
    for f in items:
        agreed = " (the author agreed)" if f.author_agreed and f.status != "addressed" else ""
        out.append(f"  {_place(report, f)}: {c(_STATUS_COLOUR[f.status], f.status)}: {printable(f.reviewer)}: "
                   f"\"{printable(_short(f.remark, 100))}\"{agreed}")
        out.append(c("dim", f"      {printable(f.why)}"))
    dropped = [t for t in report.tags if t.carried is False]
    if report.tags:
        kept = sum(1 for t in report.tags if t.carried)
        out.append(f"  tags given on v{report.previous_version}: {len(report.tags)}, {kept} carried, "
                   f"{len(dropped)} not carried")
        for t in dropped:
            on = "the cover letter" if not t.patch_index else f"{t.patch_index}/{report.previous_total}"
            out.append(f"    not carried: {printable(t.tag)} (given on {on} of v{report.previous_version})")
    return out


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def follow_up_json(review: Review, series_index: int = 0) -> tuple[list, list]:
    """The "follow_up" and "tags_given" entries of a review."""
    report = review.follow_up
    items = [{"version": f.version, "reviewer": f.reviewer, "message_id": f.message_id,
              "patch_index": f.patch_index, "path": f.path, "line": f.line, "remark": f.remark,
              "status": f.status, "why": f.why, "author_agreed": f.author_agreed,
              "next_patch_index": f.next_patch_index, "series_index": series_index}
             for f in report.open_first()]
    tags = [{"version": t.version, "patch_index": t.patch_index, "tag": t.tag, "giver": t.giver,
             "message_id": t.message_id, "carried": t.carried, "next_patch_index": t.next_patch_index,
             "series_index": series_index} for t in report.tags]
    return items, tags


def to_json_obj(review: Review, series_index: int = 0) -> dict:
    """The review as JSON data; series_index: the place of its series in
    the output's "series" list, which each finding names."""
    series = review.series
    subjects = {p.index: p.subject for p in series.patches}
    return {
        "tool": "tdxbot",
        "version": __version__,
        "series": [{
            "subject": series.title,
            "version": series.version,
            "message_id": series.message_id,
            "patches": [{"index": p.index, "total": p.total, "subject": p.subject,
                         "message_id": p.message_id} for p in series.patches],
            "missing": list(series.missing),
        }],
        "findings": [{
            "rule": f.rule,
            "severity": f.severity,
            "series_index": series_index,
            "patch_index": f.patch_index,
            "message_id": f.message_id,
            "path": f.path,
            "line": f.line,
            "changelog_line": f.changelog_line + 1 if f.changelog_line is not None else None,
            "on_subject": f.on_subject,
            "patch_subject": subjects.get(f.patch_index),
            "message": f.message,
            "already_raised": f.already_raised,
            "fix": [e.as_json() for e in f.fix],
        } for f in review.findings],
    } | _follow_up_keys(review, series_index)


def _follow_up_keys(review: Review, series_index: int) -> dict:
    """"follow_up" and "tags_given", only for a review that had a previous
    version to compare with: every other output stays as it was."""
    if review.follow_up is None:
        return {}
    items, tags = follow_up_json(review, series_index)
    return {"follow_up": items, "tags_given": tags}


def render_json(review: Review) -> str:
    import json

    return json.dumps(to_json_obj(review), indent=2) + "\n"


def render_checkpatch(review: Review, label_patches: bool = True) -> str:
    """One line per finding in the shape b4's check runners read:
    'path:line: LEVEL: [rule] message' for code; a commit-message finding
    names its patch first, '[2/5 title] changelog:15: LEVEL: [rule] ...'
    (label_patches=False leaves the patch out, for lists already grouped by
    patch). b4 0.16 counts a line holding 'ERROR:' as a failure and any
    other line as a warning, so that word is defused in titles and messages.
    Info findings are left out, as checkpatch leaves out CHECKs."""
    titles = {p.index: f"{p.index}/{p.total} {p.title}" for p in review.series.patches}
    out = []
    for f in review.findings:
        if f.severity == "info":
            continue
        level = "ERROR" if f.severity == "error" else "WARNING"
        if f.path is not None:
            where = f"{f.path}:{f.line}: "
        else:
            label = titles.get(f.patch_index) if label_patches else None
            where = f"[{_one_line(label)}] " if label else ""
            if f.on_subject:
                where += "subject: "
            elif f.changelog_line is not None:
                where += f"changelog:{f.changelog_line + 1}: "
        out.append(printable(f"{where}{level}: [{f.rule}] {_one_line(f.message)}"))
    return "\n".join(out) + ("\n" if out else "")


def _one_line(text: str) -> str:
    """Text fit for one checkpatch line: no line breaks or control
    characters, and no 'ERROR:' that b4 would count as a failure."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text.replace("ERROR:", "ERROR :")


def b4_review_records(review: Review, series_level: bool = False, left_out: int = 0) -> list[dict]:
    """The JSON records of b4's review check contract, one per patch (or one
    for the series): {tool, status, summary, url, details}. left_out: how
    many patches of the series the scope left out."""
    def record(findings, label: str) -> dict:
        errors = sum(1 for f in findings if f.severity == "error")
        warnings = sum(1 for f in findings if f.severity == "warning")
        status = "fail" if errors else "warn" if warnings else "pass"
        parts = []
        if errors:
            parts.append(f"{errors} error{'s' * (errors != 1)}")
        if warnings:
            parts.append(f"{warnings} warning{'s' * (warnings != 1)}")
        summary = (", ".join(parts) or "no findings") + label
        details = render_checkpatch(Review(series=review.series, findings=list(findings)))
        return {"tool": "tdxbot", "status": status, "summary": summary, "url": "",
                "details": details.rstrip("\n")}

    if series_level:
        missing = review.series.missing
        count = len(review.series.patches)
        label = f" in {count} patch{'es' * (count != 1)}"
        if left_out:
            label += f" ({left_out} not touching TDX left out)"
        if missing:
            label += f" (missing: {', '.join(str(i) for i in missing)})"
        rec = record(review.findings, label)
        if not review.findings:
            rec["details"] = ""
        by_patch = []
        whole = [f for f in review.findings if f.patch_index is None]
        if whole:
            by_patch.append("[series]")
            by_patch.extend("  " + ln for ln in render_checkpatch(
                Review(series=review.series, findings=whole)).splitlines())
        for patch in review.series.patches:
            mine = [f for f in review.findings if f.patch_index == patch.index]
            if mine:
                by_patch.append(f"[{patch.index}/{patch.total}] {patch.title}")
                by_patch.extend("  " + ln for ln in render_checkpatch(
                    Review(series=review.series, findings=mine)).splitlines())
        rec["details"] = "\n".join(by_patch)
        return [rec]
    return [record(review.findings, "")]


def render(reviews: list[Review], fmt: str, colour: bool = False, rules=(),
           help_url: str | None = None) -> str:
    """The reviews in one output format: text, json, checkpatch or sarif
    (rules: the active rules, whose metadata SARIF carries; help_url: where
    SARIF's rule links point, see rulesdoc)."""
    if fmt == "json":
        if len(reviews) == 1:
            return render_json(reviews[0])
        import json

        objs = [to_json_obj(r, n) for n, r in enumerate(reviews)]
        merged = dict(objs[0])
        merged["series"] = [s for o in objs for s in o["series"]]
        merged["findings"] = [f for o in objs for f in o["findings"]]
        if any("follow_up" in o for o in objs):
            merged["follow_up"] = [f for o in objs for f in o.get("follow_up", [])]
            merged["tags_given"] = [t for o in objs for t in o.get("tags_given", [])]
        return json.dumps(merged, indent=2) + "\n"
    if fmt == "sarif":
        # Imported here: the b4 check command prints checkpatch lines only.
        from .sarif import render_sarif

        return render_sarif(reviews, rules, help_url)
    if fmt == "checkpatch":
        return "".join(render_checkpatch(r) for r in reviews)
    return "\n".join(render_text(r, colour) for r in reviews)
