"""SARIF 2.1.0 that GitHub code scanning takes.

GitHub shows a result only where it has a physical location, and matches
results between runs by their partialFingerprints. A finding on code has
its file and line. A finding on a commit message (changelog, subject) or
on the series has none, so it is placed on the first line its patch adds
(the first patch's, for the series): GitHub shows it in the diff of that
change, and a logical location names the commit message it is about.

Fingerprints hash what stays put when unrelated lines move: the rule, the
file (or the commit's title), the offending line's text with its spacing
normalised, and the how-many-th such finding it is; never a line number.

Paths come from mail, which anyone can write. An artifact URI is always a
relative reference under %SRCROOT%: backslashes count as separators, '..',
'.' and empty steps are dropped (never climbed), and every byte a URI path
may not hold as is is percent-encoded, ':' included, so no scheme, drive
letter or absolute path survives. A path that needed more than encoding
keeps no fix, and the path as written is named in the result's properties.
"""
from __future__ import annotations


from .. import __version__
from ..lint import Finding, Review, sarif_fix
from ..mail import Patch
from .rulesdoc import help_uri

LEVEL = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "tdxbotFinding/v1"


def render_sarif(reviews: list[Review], rules, help_base: str | None = None,
                 extra_rules: dict[str, str] | None = None) -> str:
    """One run holding every review's results. rules: the active rules,
    whose metadata each result refers to; extra_rules: ids of findings
    that come from elsewhere (checkpatch), with a description."""
    import json

    extra_rules = extra_rules or {}
    descriptors, index = [], {}
    for rule in rules:
        index[rule.id] = len(descriptors)
        descriptor = {
            "id": rule.id,
            "name": "".join(w.capitalize() for w in rule.id.split("-")),
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.doc},
            "help": {"text": rule.doc},
            "defaultConfiguration": {"level": LEVEL[rule.severity]},
            "properties": {"tags": ["tdx" if rule.id.startswith("tdx-") else "style"]},
        }
        uri = help_uri(help_base, rule.id)
        if uri:
            descriptor["helpUri"] = uri
        descriptors.append(descriptor)
    used = {f.rule for r in reviews for f in r.findings}
    for rid in sorted(used - set(index)):
        index[rid] = len(descriptors)
        text = extra_rules.get(rid, rid)
        descriptors.append({"id": rid, "shortDescription": {"text": text},
                            "fullDescription": {"text": text}, "help": {"text": text},
                            "defaultConfiguration": {"level": "warning"}})
    results: list[dict] = []
    seen: dict[str, int] = {}
    for review in reviews:
        for f in review.findings:
            results.append(_result(f, review, index[f.rule], seen))
    log = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {"name": "tdxbot", "version": __version__,
                                "semanticVersion": __version__, "rules": descriptors}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository root"}}},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"


def _result(f: Finding, review: Review, rule_index: int, seen: dict[str, int]) -> dict:
    series = review.series
    patch = next((p for p in series.patches if p.index == f.patch_index), None)
    result = {"ruleId": f.rule, "ruleIndex": rule_index, "level": LEVEL[f.severity],
              "message": {"text": f.message}}
    properties: dict = {}
    if f.path is not None and f.line is not None:
        region: dict = {"startLine": max(f.line, 1)}
        if f.source_text is not None:
            region["snippet"] = {"text": f.source_text}
        location = {"physicalLocation": _physical(f.path, region)}
        where = f.path
        if not _plain(f.path):
            properties["pathAsWritten"] = f.path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    else:
        what, where = _commit_place(f, patch, series.title)
        result["message"]["text"] = f"{what}: {f.message}"
        holder = patch or (series.patches[0] if series.patches else None)
        location = {"physicalLocation": _physical(*_first_added(holder)),
                    "logicalLocations": [{"name": what, "fullyQualifiedName": where, "kind": "text"}],
                    "message": {"text": f"about {what}, shown at the first line the change adds"}}
    result["locations"] = [location]
    base = _digest(f.rule, where, _normalised(f.source_text if f.source_text is not None else f.message))
    occurrence = seen.get(base, 0) + 1
    seen[base] = occurrence
    result["partialFingerprints"] = {FINGERPRINT_KEY: f"{base}:{occurrence}"}
    if patch is not None:
        properties.update({"patch": f"{patch.index}/{patch.total}", "subject": patch.title})
    if f.changelog_line is not None:
        properties["changelogLine"] = f.changelog_line + 1
    if f.already_raised:
        properties["alreadyRaised"] = True
    if f.fix and patch is not None and all(_plain(e.path) for e in f.fix):
        lines = {(d.path, ln.new_no): ln.text for d in patch.files for ln in d.added_lines()}
        fix = sarif_fix(list(f.fix), f"Fix: {f.message}", lambda path, line: lines.get((path, line), ""))
        for change in fix["artifactChanges"]:
            change["artifactLocation"]["uri"] = artifact_uri(change["artifactLocation"]["uri"])
        result["fixes"] = [fix]
    if properties:
        result["properties"] = properties
    return result


def _commit_place(f: Finding, patch: Patch | None, series_title: str) -> tuple[str, str]:
    """A readable name of the commit-message spot, and its stable key."""
    if patch is None:
        return "the series", f"series: {series_title}"
    label = f"[{patch.index}/{patch.total}] {patch.title}"
    if f.on_subject:
        return f"{label}: subject", f"subject: {patch.title}"
    if f.changelog_line is not None:
        return f"{label}: changelog line {f.changelog_line + 1}", f"changelog: {patch.title}"
    return f"{label}: commit message", f"commit message: {patch.title}"


def _physical(path: str, region: dict) -> dict:
    return {"artifactLocation": {"uri": artifact_uri(path), "uriBaseId": "%SRCROOT%"}, "region": region}


_UNSAFE_STEPS = ("", ".", "..")


def artifact_uri(path: str) -> str:
    """A relative URI reference for a repository path, that cannot point
    outside %SRCROOT%: see the module's docstring."""
    from urllib.parse import quote

    steps = [s for s in path.replace("\\", "/").split("/") if s not in _UNSAFE_STEPS]
    if not steps:
        return "COMMIT_MSG"
    return "/".join(quote(s.encode("utf-8", "surrogateescape"), safe="") for s in steps)


def _plain(path: str) -> bool:
    """A path its URI names without any step dropped (only encoded)."""
    return bool(path) and "\\" not in path and not any(s in _UNSAFE_STEPS for s in path.split("/"))


def _first_added(patch: Patch | None) -> tuple[str, dict]:
    """The first line the patch adds, else line 1 of its first file."""
    if patch is None or not patch.files:
        return "COMMIT_MSG", {"startLine": 1}
    for diff in patch.files:
        if diff.is_deleted or diff.is_binary:
            continue
        added = diff.added_lines()
        if added and added[0].new_no:
            return diff.path, {"startLine": added[0].new_no}
    return patch.files[0].path, {"startLine": 1}


def _normalised(text: str) -> str:
    return " ".join(text.lstrip("+").split())


def _digest(*parts: str) -> str:
    import hashlib

    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()[:32]
