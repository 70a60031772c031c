"""How far the follow-up review agrees with the labels of fixtures/history.

For every series there and every version N that has a version N+1, review
vN+1.mbox with --previous vN.mbox (the CLI, JSON out) and match each
labelled remark of vN with the bot's follow-up items: the same message,
and one text starting like the other (or the label's
text inside the bot's, where the bot took two paragraphs under one quote
as one remark). Then count, per labelled status,
how often the bot gave the same status, another one, or found no such
remark; and the bot's items no label matches (quotes it took for remarks).

    python3 bench/history_agreement.py            # the table (markdown)
    python3 bench/history_agreement.py --details  # and every disagreement
    python3 bench/history_agreement.py --series-rules  # and the series rules
                                                       # against the labelled facts
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HISTORY = os.path.join(ROOT, "fixtures", "history")
SERIES = ("tdx-kexec", "tdx-dpamt", "tdx-module-update")
STATUSES = ("addressed", "not addressed", "unclear")


def _flat(text: str) -> str:
    return " ".join(text.split()).lower()


def _same_remark(label: dict, item: dict) -> bool:
    """One text starts like the other."""
    if label["message_id"] != item["message_id"]:
        return False
    a, b = _flat(label["remark"]), _flat(item["remark"])
    n = min(len(a), len(b), 40)
    return n > 0 and a[:n] == b[:n]


def _within(label: dict, item: dict) -> bool:
    """The label's remark is part of the bot's (the bot took two paragraphs
    under one quote as one remark, where the label splits them)."""
    a, b = _flat(label["remark"])[:40], _flat(item["remark"])
    return label["message_id"] == item["message_id"] and len(a) >= 20 and a in b


def follow_up(folder: str, old: str, new: str) -> list[dict]:
    """The bot's follow-up items for the review of new with old as the
    previous version."""
    cmd = [sys.executable, "-m", "tdxbot", "review", os.path.join(folder, new),
           "--previous", os.path.join(folder, old), "--format", "json"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if not res.stdout.strip():
        raise SystemExit(f"{' '.join(cmd)} failed: {res.stderr.strip()[-500:]}")
    return json.loads(res.stdout).get("follow_up") or []


def measure() -> tuple[dict, list]:
    """Counts by series and status: {series: {status: Counter(outcome)}},
    and the disagreements."""
    table: dict[str, dict[str, Counter]] = {}
    details = []
    for name in SERIES:
        folder = os.path.join(HISTORY, name)
        with open(os.path.join(folder, "labels.json"), encoding="utf-8") as fh:
            labels = json.load(fh)
        versions = sorted(labels["versions"], key=lambda v: v["version"])
        counts = table[name] = {s: Counter() for s in STATUSES}
        counts["extra"] = Counter()
        for old, new in zip(versions, versions[1:]):
            items = follow_up(folder, old["mbox"], new["mbox"])
            mine = [r for r in labels["remarks"] if r["version"] == old["version"]]
            used = set()
            for label in mine:
                match = next((i for i, it in enumerate(items) if i not in used and _same_remark(label, it)), None)
                if match is None:
                    match = next((i for i, it in enumerate(items) if _within(label, it)), None)
                if match is None:
                    counts[label["status"]]["missed"] += 1
                    details.append((name, old["version"], "missed", label["status"], label["remark"][:70]))
                    continue
                used.add(match)
                got = items[match]["status"]
                counts[label["status"]]["agree" if got == label["status"] else got] += 1
                if got != label["status"]:
                    details.append((name, old["version"], f"bot: {got}", label["status"],
                                    label["remark"][:70] + " | " + items[match]["why"][:90]))
            for i, it in enumerate(items):
                if i not in used and it["version"] == old["version"]:
                    counts["extra"][it["status"]] += 1
                    details.append((name, old["version"], f"extra: {it['status']}", "-", it["remark"][:70]))
    return table, details


def markdown(table: dict) -> str:
    rows = ["| series | labelled status | remarks | bot agrees | bot: addressed | bot: not addressed "
            "| bot: unclear | not found |", "|---|---|---|---|---|---|---|---|"]
    total = {s: Counter() for s in STATUSES}
    for name, counts in table.items():
        for status in STATUSES:
            c = counts[status]
            n = sum(c.values())
            if not n:
                continue
            total[status].update(c)
            rows.append(_row(name, status, c))
    for status in STATUSES:
        rows.append(_row("**all**", status, total[status]))
    extra = sum(sum(c["extra"].values()) for c in table.values())
    n = sum(sum(total[s].values()) for s in STATUSES)
    agree = sum(total[s]["agree"] for s in STATUSES)
    rows.append("")
    rows.append(f"Overall: {agree} of {n} labelled remarks get the labelled status "
                f"({100 * agree / n:.0f}%); {extra} follow-up items match no labelled remark.")
    return "\n".join(rows)


def _row(name: str, status: str, c: Counter) -> str:
    n = sum(c.values())
    cells = [str(c[status if k == "agree" else k]) if k != "agree" else f"{c['agree']} ({100 * c['agree'] / n:.0f}%)"
             for k in ("agree",)]
    others = [("—" if k == status else str(c[k])) for k in STATUSES]
    return f"| {name} | {status} | {n} | {cells[0]} | " + " | ".join(others) + f" | {c['missed']} |"


SERIES_RULES = {"helper-before-user": "helper-before-user", "churn": "series-churn",
                "notes-miss": "version-notes-mismatch"}


def series_findings(folder: str, mbox: str, previous: str | None) -> list[dict]:
    cmd = [sys.executable, "-m", "tdxbot", "review", os.path.join(folder, mbox), "--format", "json",
           "--select", ",".join(SERIES_RULES.values())]
    if previous:
        cmd += ["--previous", os.path.join(folder, previous)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if not res.stdout.strip():
        raise SystemExit(f"{' '.join(cmd)} failed: {res.stderr.strip()[-500:]}")
    return json.loads(res.stdout)["findings"]


def _fact_found(fact: dict, findings: list[dict]) -> bool:
    rule = SERIES_RULES[fact["kind"]]
    mine = [f for f in findings if f["rule"] == rule]
    if fact["kind"] == "helper-before-user":
        return any(f["patch_index"] == fact["defined_in"] and f"{fact['symbol']}()" in f["message"]
                   and f"patch {fact['first_used_in']}/" in f["message"] for f in mine)
    if fact["kind"] == "churn":
        return any(f["patch_index"] == fact["rewritten_in"] and f"patch {fact['added_in']}/" in f["message"]
                   for f in mine)
    return any(f["patch_index"] in fact["patch_index"] for f in mine)


def measure_series_rules() -> tuple[Counter, list]:
    """For each series fact of the labels: the rule's finding is there (a
    fact that should fire), or absent (a helper whose first user is in its
    own patch or outside the series). Then every finding no fact accounts
    for, to be read."""
    counts: Counter = Counter()
    others = []
    for name in SERIES:
        folder = os.path.join(HISTORY, name)
        with open(os.path.join(folder, "labels.json"), encoding="utf-8") as fh:
            labels = json.load(fh)
        versions = sorted(labels["versions"], key=lambda v: v["version"])
        for i, v in enumerate(versions):
            findings = series_findings(folder, v["mbox"], versions[i - 1]["mbox"] if i else None)
            facts = [f for f in labels["series_facts"] if f["version"] == v["version"] and f["kind"] in SERIES_RULES]
            explained = set()
            for fact in facts:
                should = not (fact["kind"] == "helper-before-user" and fact["first_used_in"] in
                              (None, fact["defined_in"]))
                if should:
                    found = _fact_found(fact, findings)
                else:
                    found = any(f["rule"] == "helper-before-user" and f"{fact['symbol']}()" in f["message"]
                                for f in findings)
                counts[(fact["kind"], "should fire" if should else "must not fire",
                        "fired" if found else "silent")] += 1
                for k, f in enumerate(findings):
                    if f["rule"] == SERIES_RULES[fact["kind"]] and should and (
                            fact["kind"] == "notes-miss" and f["patch_index"] in fact["patch_index"]
                            or fact["kind"] != "notes-miss" and _fact_found(fact, [f])):
                        explained.add(k)
            for k, f in enumerate(findings):
                if k not in explained:
                    counts[(f["rule"], "unlabelled finding", "")] += 1
                    others.append((name, v["version"], f["rule"], f["patch_index"], f["message"][:160]))
    return counts, others


def series_markdown(counts: Counter) -> str:
    rows = ["| fact / finding | expected | rule fired | rule silent |", "|---|---|---|---|"]
    keys = sorted({k[:2] for k in counts})
    for kind, expected in keys:
        if expected == "unlabelled finding":
            rows.append(f"| {kind} | (no fact) | {counts[(kind, expected, '')]} | — |")
        else:
            rows.append(f"| {kind} | {expected} | {counts[(kind, expected, 'fired')]} | "
                        f"{counts[(kind, expected, 'silent')]} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    table, details = measure()
    print(markdown(table))
    if "--details" in argv:
        print()
        for d in details:
            print(" | ".join(str(x) for x in d))
    if "--series-rules" in argv:
        counts, others = measure_series_rules()
        print()
        print(series_markdown(counts))
        if "--details" in argv:
            print()
            for o in others:
                print(" | ".join(str(x) for x in o))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
