"""One test runs every rule's own hits (INVALID) and near-misses (VALID),
the way Fixit runs each rule's examples.

An INVALID case names each finding it expects by its place and a piece of
the flagged text, as clang-tidy's CHECK-MESSAGES does:

    "5:2: } while (ret == TDX_SYS_BUSY);"   line 5 of the case's code (the
                                            first line of `before` is 1),
                                            column 2
    "tdx.h:3:1: #define TDX_X"              another file of the case
    "changelog:4: is being added"           line 4 of the commit message
    "subject: Added a wrapper"              the subject
    "series: placeholder"                   the series as a whole (the text
                                            is looked for in the message)

A series rule's cases may be SeriesCases (bot/lint/cases.py): commits made
in a real git repository and written out by git format-patch. Their
places name the patch first and count the file's own lines:

    "[2] tdx.c:14:6: void tdx_sys_disable"  patch 2, line 14 of tdx.c, column 6
    "[2] changelog:5: Co-developed-by"      line 5 of patch 2's commit message
    "[2] patch: tdx_sys_disable"            patch 2 as a whole (the text is
                                            looked for in the message)
    "series: placeholder"                   the series as a whole
"""
import re

import pytest

from tdxbot.lint import Options, all_rules, review_series
from tdxbot.lint.cases import CASE_FIRST_LINE, Case, SeriesCase, case_patch, case_post_image, series_case_series
from tdxbot.lint.fixes import apply, still_parses, without_overlaps
from tdxbot.mail import Series

RULES = all_rules()
_AT = re.compile(r"^(?:\[(?P<patch>\d+)\] )?(?:(?P<kind>subject|series|patch)|changelog:(?P<changelog>\d+)"
                 r"|(?:(?P<file>[^:\s]+):)?(?P<line>\d+):(?P<column>\d+)):(?: (?P<text>.*))?$", re.S)


def _cases(kind):
    for rule in RULES:
        for i, case in enumerate(getattr(rule.module, kind, [])):
            yield pytest.param(rule, case, id=f"{rule.id}-{kind.lower()}-{i}")


def case_series(case) -> Series:
    """The series a case stands for: one patch, or a SeriesCase's commits."""
    if isinstance(case, SeriesCase):
        return series_case_series(case)
    patch = case_patch(case)
    return Series(title=patch.title, version=patch.version, total=patch.total, cover=None,
                  patches=(patch,))


def _findings(rule, case: Case):
    review = review_series(case_series(case), Options(select=frozenset({rule.id})))
    return [f for f in review.findings if f.rule == rule.id]


def place_of(finding, case: Case) -> str:
    """A finding's place, written as a case names it."""
    if isinstance(case, SeriesCase):
        if finding.patch_index is None:
            return "series"
        head = f"[{finding.patch_index}] "
        if finding.on_subject:
            return head + "subject"
        if finding.changelog_line is not None:
            return head + f"changelog:{finding.changelog_line + 1}"
        if finding.path is None:
            return head + "patch"
        return head + f"{finding.path.rsplit('/', 1)[-1]}:{finding.line}:{finding.column or 0}"
    if finding.on_subject:
        return "subject"
    if finding.changelog_line is not None:
        return f"changelog:{finding.changelog_line + 1}"
    if finding.path is None:
        return "series"
    line = f"{finding.line - CASE_FIRST_LINE + 1}:{finding.column or 0}"
    return line if finding.path == case.path else f"{finding.path.rsplit('/', 1)[-1]}:{line}"


def expected(at: str) -> tuple[str, str]:
    """(place, text) of one entry of a case's `at`."""
    m = _AT.match(at)
    assert m, f"{at!r} does not name a place (see this module's docstring)"
    if m["kind"]:
        place = m["kind"]
    elif m["changelog"]:
        place = f"changelog:{m['changelog']}"
    else:
        place = (f"{m['file']}:" if m["file"] else "") + f"{m['line']}:{m['column']}"
    if m["patch"]:
        place = f"[{m['patch']}] {place}"
    return place, m["text"] or ""


@pytest.mark.parametrize("rule,case", list(_cases("INVALID")))
def test_rule_fires(rule, case):
    found = _findings(rule, case)
    got = sorted((place_of(f, case), f.source_text or f.message) for f in found)
    want = sorted(expected(at) for at in case.at)
    assert len(got) == len(want), f"{case.why}: expected {case.at}, got {got}"
    for (place, text), (got_place, got_text) in zip(want, got):
        assert place == got_place and text in got_text, f"{case.why}: expected {want}, got {got}"


@pytest.mark.parametrize("rule,case", list(_cases("VALID")))
def test_rule_stays_quiet(rule, case):
    found = _findings(rule, case)
    assert not found, f"{case.why}: unexpected {[(f.line, f.message) for f in found]}"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_metadata(rule):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
    assert rule.severity in ("error", "warning", "info")
    doc = rule.doc
    assert "Fires on" in doc and "Must not fire" in doc and "Why" in doc, rule.id
    assert len(getattr(rule.module, "INVALID", [])) >= 3, "at least three hits"
    assert len(getattr(rule.module, "VALID", [])) >= 3, "at least three near-misses"
    for case in rule.module.INVALID:
        assert case.at, "an INVALID case names what it expects flagged"
    module_file = rule.module.__file__
    assert module_file.endswith(rule.id.replace("-", "_") + ".py"), "module named after its id"
    assert rule.violations, "a rule's messages stand next to its docs, as Violation subclasses"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_message_is_said(rule):
    """Each Violation a rule declares is what some INVALID case gets."""
    said = {f.violation for case in rule.module.INVALID for f in _findings(rule, case)}
    unsaid = sorted(v.__name__ for v in rule.violations if v.__name__ not in said)
    assert not unsaid, f"{rule.id}: no INVALID case shows {unsaid}"


def _fix_cases():
    for rule in RULES:
        for i, case in enumerate(getattr(rule.module, "INVALID", [])):
            if getattr(case, "fixed", None) is not None:
                yield pytest.param(rule, case, id=f"{rule.id}-fix-{i}")


@pytest.mark.parametrize("rule,case", list(_fix_cases()))
def test_rule_fix(rule, case):
    """Apply the fixes of a case's findings: the code becomes case.fixed,
    the file still parses, and the rule has nothing left to say."""
    found = _findings(rule, case)
    edits = [e for f in found for e in f.fix]
    assert edits, f"{case.why}: no fix offered"
    assert all(e.path == case.path for e in edits)
    before = case_post_image(case)
    after = apply(before, without_overlaps(edits))
    assert after == case_post_image(case._replace(code=case.fixed)), f"{case.why}: got\n{after[-400:]}"
    assert still_parses(before, after)
    assert not _findings(rule, case._replace(code=case.fixed, at=())), f"{case.why}: still fires"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_certain_fixes_only_where_declared(rule):
    """A rule that offers fixes says so (FIXES = True), and shows them in cases."""
    offers = getattr(rule.module, "FIXES", False)
    has_cases = any(getattr(c, "fixed", None) is not None for c in getattr(rule.module, "INVALID", []))
    assert offers == has_cases, rule.id
