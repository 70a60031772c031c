"""Accuracy against labelled cases: `tdxbot eval DIR`.

A case is a patch mail (NAME.eml, .patch or .mbox) with NAME.json beside it:
    {"must": [{"rule": ID, "path": PATH or null, "line": N or null,
               "remark": what the reviewer said (optional)}],
     "must_not": [ID, ...],
     "out_of_reach": [{"remark": ..., "why": ...}],  (optional)
     "source": URL of the review (optional)}
A finding hits a "must" entry with the same rule and path and a line within
2; a finding of a "must_not" rule is a false alarm. Findings of rules the
case does not mention are counted as unlabelled, not judged.

The "must" entries are the remarks labelled in reach of a rule; recall is
the share of those caught. "out_of_reach" remarks (judgement no text rule
can make) are counted and listed, never scored.
"""
from __future__ import annotations

import os

from ..common import UserError
from ..lint import review_series
from ..mail import assemble, load_local

SUFFIXES = (".eml", ".patch", ".mbox")
LINE_SLACK = 2


def load_cases(folder: str) -> list[tuple[str, str, dict]]:
    import json

    if not os.path.isdir(folder):
        raise UserError(f"{folder}: not a directory")
    cases = []
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext not in SUFFIXES:
            continue
        expect_path = os.path.join(folder, stem + ".json")
        if not os.path.exists(expect_path):
            raise UserError(f"{os.path.join(folder, name)}: no expectations file {stem}.json")
        try:
            with open(expect_path, encoding="utf-8") as fh:
                expect = json.load(fh)
        except (OSError, ValueError) as exc:
            raise UserError(f"{expect_path}: {exc}") from None
        if not isinstance(expect, dict) or not all(isinstance(expect.get(k, []), list)
                                                   for k in ("must", "must_not", "out_of_reach")):
            raise UserError(f"{expect_path}: expected {{\"must\": [...], \"must_not\": [...]}}")
        cases.append((stem, os.path.join(folder, name), expect))
    if not cases:
        raise UserError(f"{folder}: no cases (NAME.eml with NAME.json)")
    return cases


def score_case(findings, expect: dict) -> dict:
    """Hits, misses and false alarms of one case, per rule."""
    must = expect.get("must", [])
    must_not = set(expect.get("must_not", []))
    used = set()
    out = {"hits": [], "misses": [], "false_alarms": [], "unlabelled": []}
    for want in must:
        match = None
        for i, f in enumerate(findings):
            if i in used or f.rule != want.get("rule") or f.path != want.get("path"):
                continue
            line = want.get("line")
            if line is not None and (f.line is None or abs(f.line - line) > LINE_SLACK):
                continue
            match = i
            break
        if match is None:
            out["misses"].append(want)
        else:
            used.add(match)
            out["hits"].append(want)
    mentioned = {w.get("rule") for w in must}
    for i, f in enumerate(findings):
        if i in used:
            continue
        if f.rule in must_not:
            out["false_alarms"].append(f)
        elif f.rule not in mentioned:
            out["unlabelled"].append(f)
    return out


def evaluate(folder: str) -> dict:
    per_rule: dict[str, dict[str, int]] = {}
    totals = {"hits": 0, "misses": 0, "false_alarms": 0, "added_lines": 0, "cases": 0,
              "out_of_reach": 0}
    details = []
    for stem, path, expect in load_cases(folder):
        series = assemble(load_local(path), None, path)
        review = review_series(series)
        score = score_case(review.findings, expect)
        added = sum(len(d.added_lines()) for p in series.patches for d in p.files)
        totals["added_lines"] += added
        totals["cases"] += 1
        totals["out_of_reach"] += len(expect.get("out_of_reach", []))
        for key, items in (("hits", score["hits"]), ("misses", score["misses"])):
            for want in items:
                per_rule.setdefault(want["rule"], {"hits": 0, "misses": 0, "false_alarms": 0})[key] += 1
                totals[key] += 1
        for f in score["false_alarms"]:
            per_rule.setdefault(f.rule, {"hits": 0, "misses": 0, "false_alarms": 0})["false_alarms"] += 1
            totals["false_alarms"] += 1
        details.append({
            "case": stem,
            "misses": score["misses"],
            "false_alarms": [{"rule": f.rule, "path": f.path, "line": f.line, "message": f.message}
                             for f in score["false_alarms"]],
            "unlabelled": len(score["unlabelled"]),
            "out_of_reach": len(expect.get("out_of_reach", [])),
        })
    wanted = totals["hits"] + totals["misses"]
    totals["in_reach"] = wanted
    totals["recall"] = totals["hits"] / wanted if wanted else 1.0
    totals["false_alarms_per_kloc"] = totals["false_alarms"] * 1000 / max(totals["added_lines"], 1)
    return {"rules": per_rule, "totals": totals, "cases": details}


def render(result: dict) -> str:
    lines = [f"{'rule':<30} {'hits':>5} {'misses':>7} {'false alarms':>13}"]
    for rule, c in sorted(result["rules"].items()):
        lines.append(f"{rule:<30} {c['hits']:>5} {c['misses']:>7} {c['false_alarms']:>13}")
    t = result["totals"]
    lines.append("")
    lines.append(f"{t['cases']} cases, {t['added_lines']} added lines: recall {t['recall']:.1%}, "
                 f"{t['false_alarms']} false alarms ({t['false_alarms_per_kloc']:.2f} per 1,000 added lines)")
    lines.append(f"remarks: {t['in_reach'] + t['out_of_reach']}, {t['in_reach']} labelled in reach, "
                 f"{t['hits']} of them caught ({t['recall']:.1%}); {t['out_of_reach']} out of reach")
    for case in result["cases"]:
        for miss in case["misses"]:
            remark = f" ({miss['remark']})" if miss.get("remark") else ""
            lines.append(f"  miss: {case['case']}: [{miss['rule']}] {miss.get('path')}:{miss.get('line')}"
                         f"{remark}")
        for fa in case["false_alarms"]:
            lines.append(f"  false alarm: {case['case']}: [{fa['rule']}] {fa['path']}:{fa['line']} {fa['message']}")
    return "\n".join(lines) + "\n"
