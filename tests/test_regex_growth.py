"""Every regular expression of tdxbot runs in time linear in its input.

A mail is written by whoever sends it, and a pattern that backtracks turns
a few kilobytes into minutes (issue 22 found 32 KB of changelog costing
18 s in one pattern). This test gathers every pattern of the engine and the
rules (module constants, compiled now or on first use), builds adversarial
strings for each out of its own literal pieces (runs of one character, of
two alternating, of the words it names, each closing on a byte the pattern
cannot take), and times the pattern over each string at two lengths. Work
that grows four times as fast as the input fails the test, with the pattern
and the string that shows it.
"""
from __future__ import annotations

import importlib
import itertools
import pkgutil
import re
import time

import pytest

import tdxbot
import tdxbot.rules
from tdxbot.common.lazyre import LazyPattern

SHORT = 1000  # characters of the first input; the second is 4 times longer
GROWTH = 8  # linear work grows 4x, quadratic 16x: anything past this fails
NOTICE = 0.0004  # seconds: inputs faster than this at SHORT are not timed again


def _modules():
    for pkg in (tdxbot, tdxbot.rules):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not info.name.endswith("__main__"):
                yield importlib.import_module(info.name)


def _patterns():
    """(where, compiled pattern) of every module-level pattern."""
    seen = set()
    for module in _modules():
        for name, value in vars(module).items():
            values = value if isinstance(value, (tuple, list)) else (value,)
            for i, item in enumerate(values):
                if isinstance(item, LazyPattern):
                    item = re.compile(*item._args)
                if isinstance(item, re.Pattern) and (item.pattern, item.flags) not in seen:
                    seen.add((item.pattern, item.flags))
                    where = f"{module.__name__}.{name}" + (f"[{i}]" if len(values) > 1 else "")
                    yield where, item


PATTERNS = list(_patterns())


def _pieces(pattern: re.Pattern) -> list:
    """Literal characters and words of a pattern, and a few generic ones."""
    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    plain = re.sub(r"\\[dDwWsSbBAZ]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\(\?[:!=<#a-zA-Z]*", " ", source)
    chars = {c for c in plain if c.isprintable() and c not in "()|?*+{}^$"}
    chars |= set(re.findall(r"\\(.)", source))
    chars |= {" ", "a", "0", "_", "\t", ".", "/", "%", "x"}
    words = {w for w in re.findall(r"[A-Za-z_][A-Za-z_0-9-]{1,20}", source)}
    return sorted(chars), sorted(words)[:40]


def _inputs(pattern: re.Pattern):
    """(repeated unit, closing text) pairs: the input is unit * n + end."""
    chars, words = _pieces(pattern)
    for c in chars:
        for end in ("\x00", "!", "\n", " ", "(", "-"):
            yield c, end
    core = [c for c in chars if c in " a0_(.-/:%@*x"] + [c for c in chars if c not in " a0_(.-/:%@*x"][:8]
    for a, b in itertools.permutations(core, 2):
        for end in ("\x00", "("):
            yield a + b, end
    for w in words:
        for sep in (" ", "", "(", ",", "\t", "_", "0"):
            yield w + sep, "\x00"
    yield "0", "!"  # a printf conversion that never ends, after its '%'
    yield "%s ", "\x00"
    yield "a(", "\x00"


def _text(unit: str, end: str, length: int, pattern: re.Pattern):
    lead = "%" if (unit, end) == ("0", "!") else "http://" if unit == "a" and end == " " else ""
    text = lead + unit * max(1, length // len(unit)) + end
    return text.encode("latin-1", "replace") if isinstance(pattern.pattern, bytes) else text


def _time(pattern: re.Pattern, text) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _m in pattern.finditer(text):
            pass
        pattern.match(text)
        best = min(best, time.perf_counter() - started)
    return best


def test_the_patterns_are_found():
    names = {where for where, _ in PATTERNS}
    assert len(PATTERNS) > 100, len(PATTERNS)
    assert any(n.startswith("tdxbot.rules.") for n in names)
    assert any(n.startswith("tdxbot.mail.") for n in names)


@pytest.mark.parametrize("where,pattern", PATTERNS, ids=[w for w, _ in PATTERNS])
def test_pattern_is_linear(where, pattern):
    slow = []
    for unit, end in _inputs(pattern):
        first = _time(pattern, _text(unit, end, SHORT, pattern))
        if first < NOTICE:
            continue
        second = _time(pattern, _text(unit, end, 4 * SHORT, pattern))
        if second <= first * GROWTH:
            continue
        # Once more, four times longer again: a busy machine can make one
        # measurement look superlinear, but not two in a row.
        third = _time(pattern, _text(unit, end, 16 * SHORT, pattern))
        if third > second * GROWTH:
            slow.append((f"{unit!r} * n + {end!r}", round(first, 4), round(second, 4), round(third, 4)))
    assert not slow, f"{where} grows faster than its input: {slow[:3]} ({pattern.pattern!r})"


def test_a_format_of_many_conversions_against_a_quoted_line_is_quick():
    """The 662-byte mail of issue 22: a pr_err() of sixteen %s and a quoted
    changelog line that shares its words but cannot be printed by it. The
    format used to become a pattern of sixteen '.+?' (seconds at eight,
    minutes at sixteen); its pieces are now found in order, once each."""
    from mails import patch_mail

    from tdxbot.lint import Options, review_series
    from tdxbot.mail import Series, patch_from_message
    from email import message_from_string

    n = 16
    fmt = "tdx: " + " ".join(["%s"] * n) + " failed\\n"
    code = f'\tpr_err("{fmt}", ' + ", ".join(["x"] * n) + ");"
    mail = patch_mail("[PATCH] x86/virt/tdx: Print more", "lm@example.org", code=code,
                      changelog="The message reads:\n\n  tdx: failed " + " ".join(["a"] * (n + 6))
                      + "\n\nPrint it.")
    assert len(mail) < 700
    patch = patch_from_message(message_from_string(mail))
    series = Series(title=patch.title, version=1, total=1, cover=None, patches=(patch,))
    started = time.perf_counter()
    review = review_series(series, Options(select=frozenset({"changelog-log-mismatch"})))
    assert time.perf_counter() - started < 2
    assert [f.rule for f in review.findings] == ["changelog-log-mismatch"]
