"""One test runs every rule's own hits (INVALID) and near-misses (VALID),
the way Fixit runs each rule's examples."""
import re

import pytest

from tdxbot.lint.engine import Options, all_rules, review_series
from tdxbot.mail.model import Series
from tdxbot.lint import fixes
from tdxbot.lint.cases import Case, case_patch, case_post_image

RULES = all_rules()


def _cases(kind):
    for rule in RULES:
        for i, case in enumerate(getattr(rule.module, kind, [])):
            yield pytest.param(rule, case, id=f"{rule.id}-{kind.lower()}-{i}")


def _findings(rule, case: Case):
    patch = case_patch(case)
    series = Series(title=patch.title, version=patch.version, total=patch.total, cover=None,
                    patches=(patch,))
    review = review_series(series, Options(select=frozenset({rule.id})))
    return [f for f in review.findings if f.rule == rule.id]


@pytest.mark.parametrize("rule,case", list(_cases("INVALID")))
def test_rule_fires(rule, case):
    found = _findings(rule, case)
    texts = [f.source_text or "" for f in found]
    assert len(found) == len(case.at), f"{case.why}: expected {case.at}, got {texts}"
    for want in set(case.at):
        expected = case.at.count(want)
        assert sum(want in t for t in texts) == expected, \
            f"{case.why}: {want!r} not flagged {expected}x in {texts}"


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


def _fix_cases():
    for rule in RULES:
        for i, case in enumerate(getattr(rule.module, "INVALID", [])):
            if case.fixed is not None:
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
    after = fixes.apply(before, fixes.without_overlaps(edits))
    assert after == case_post_image(case._replace(code=case.fixed)), f"{case.why}: got\n{after[-400:]}"
    assert fixes.still_parses(before, after)
    assert not _findings(rule, case._replace(code=case.fixed, at=())), f"{case.why}: still fires"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_certain_fixes_only_where_declared(rule):
    """A rule that offers fixes says so (FIXES = True), and shows them in cases."""
    offers = getattr(rule.module, "FIXES", False)
    has_cases = any(c.fixed is not None for c in getattr(rule.module, "INVALID", []))
    assert offers == has_cases, rule.id
