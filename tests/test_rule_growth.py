"""A rule's work grows with the code it reads, not with its square.

Red-team round two (redteam/r03_quadratic_rules.py) found three rules that
a patch of a few hundred kilobytes drove into their time budget, each by
asking the facts layer the same question once per line and the answer
walking the whole function every time:
- tdx-error-ignored: 'err = seamcall(...)' a thousand times over; the first
  read after each write walked every later write;
- tdx-status-truncated: a thousand 'u32 eN;' then a thousand assignments;
  each variable's type re-found and re-sorted every declaration;
- tdx-errno-define: a thousand '#define' lines, each fix counting the file's
  lines from its start (a square of fast byte counting: 0.35 s for 2,500
  lines, which this size does not show; kept as a guard).
Each shape is timed at two sizes, four times apart: linear work grows about
4x, quadratic 16x, and past GROWTH the test fails. Before the fixes the
first two grew 15x and 12x here.
"""
from __future__ import annotations

import time

import pytest

from mails import patch_mail
from tdxbot.lint import Options
from tdxbot.lint.engine import check_patch
from tdxbot.mail.parse import patch_from_message
from tdxbot.mail.sources import parse_message

SMALL = 300
GROWTH = 9


def _function(body: list[str]) -> str:
    return "\n".join(["static int tdx_probe_all(void)", "{", *body, "\treturn 0;", "}"])


def _writes(n: int) -> str:
    return _function(["\tu64 err;"] + ["\terr = seamcall(TDH_SYS_LP_INIT, &args);"] * n)


def _declarations(n: int) -> str:
    return _function([f"\tu32 e{i};" for i in range(n)] +
                     [f"\te{i} = seamcall(TDH_SYS_LP_INIT, &args);" for i in range(n)])


def _defines(n: int) -> str:
    return "\n".join(f"#define TDX_E_{i}\t0x{0x8000020000000000 + (i << 32) & 0xFFFFFFFFFFFFFFFF:016X}"
                     for i in range(n))


SHAPES = [
    ("tdx-error-ignored", _writes, "arch/x86/virt/vmx/tdx/tdx.c"),
    ("tdx-status-truncated", _declarations, "arch/x86/virt/vmx/tdx/tdx.c"),
    ("tdx-errno-define", _defines, "arch/x86/include/asm/shared/tdx_errno.h"),
]


def _seconds(rule: str, code: str, path: str) -> tuple[float, int]:
    raw = patch_mail("[PATCH] x86/virt/tdx: Add many", "grow@example.org", code=code, path=path)
    best, found = float("inf"), 0
    for _ in range(3):
        patch = patch_from_message(parse_message(raw.encode(), "grow"))  # facts are per patch: start over
        started = time.perf_counter()
        findings = check_patch(patch, Options(select=frozenset([rule])))
        best = min(best, time.perf_counter() - started)
        found = sum(f.rule == rule for f in findings)
        assert not [f for f in findings if f.rule == "out-of-time"]
    return best, found


@pytest.mark.parametrize("rule,shape,path", SHAPES, ids=[s[0] for s in SHAPES])
def test_rule_work_grows_linearly(rule, shape, path):
    small, found_small = _seconds(rule, shape(SMALL), path)
    large, found_large = _seconds(rule, shape(4 * SMALL), path)
    # The rule does read the shape: it reports on every line or on none
    # the same way at both sizes (a rule that stopped early would be fast).
    assert found_large >= found_small and (found_small == 0) == (found_large == 0)
    if rule != "tdx-error-ignored":
        assert found_small >= SMALL
    assert large / small < GROWTH, f"{rule}: {small:.3f} s at {SMALL}, {large:.3f} s at {4 * SMALL}"
