"""The bounds on the work one patch may ask for (limits.py): each is
reached without a note and passed with one, whatever the shape that
passes it, and a review of a patch past a bound is that one note."""
from __future__ import annotations

import pytest

from mails import patch_mail
from tdxbot.lint import limits
from tdxbot.lint.engine import check_patch
from tdxbot.mail.parse import patch_from_message
from tdxbot.mail.sources import parse_message


def _patch(code: str = "int x;", diff: str | None = None):
    return patch_from_message(parse_message(patch_mail("[PATCH] x86/virt/tdx: Grow", "lim@x",
                                                       code=code, diff=diff).encode(), "test"), "test")


def _files(n: int, lines: int = 1) -> str:
    out = []
    for i in range(n):
        path = f"arch/x86/virt/vmx/tdx/f{i}.c"
        out += [f"diff --git a/{path} b/{path}", "new file mode 100644", "index 0000000..1111111",
                "--- /dev/null", f"+++ b/{path}", f"@@ -0,0 +1,{lines} @@"]
        out += ["+int a;"] * lines
    return "\n".join(out)


# One loop keyword a line (the bound counts keywords, as a scan of text can).
_KEYWORD_LINES = ("\tfor (;;) break;", "\twhile (1) break;", "\t/* do */")


def _loops(n: int) -> str:
    return "\n".join(["void f(void)", "{"] + [_KEYWORD_LINES[i % 3] for i in range(n)] + ["}"])


def _nested(depth: int) -> str:
    return "void f(void)\n" + "{\n" * depth + "}\n" * depth


@pytest.mark.parametrize("at_bound, past_bound, why", [
    (_patch(diff=_files(limits.MAX_FILES)), _patch(diff=_files(limits.MAX_FILES + 1)), "files"),
    (_patch(code="\n".join(["int a;"] * limits.MAX_ADDED_LINES)),
     _patch(code="\n".join(["int a;"] * (limits.MAX_ADDED_LINES + 1))), "lines"),
    (_patch(code="int a = " + "1" * (limits.MAX_LINE - 9) + ";"),
     _patch(code="int a = " + "1" * (limits.MAX_LINE - 8) + ";"), "characters"),
    (_patch(code=_nested(limits.MAX_DEPTH)), _patch(code=_nested(limits.MAX_DEPTH + 1)), "nests"),
    (_patch(code=_loops(limits.MAX_LOOPS)), _patch(code=_loops(limits.MAX_LOOPS + 1)), "loops"),
])
def test_each_bound_is_reached_without_a_note_and_passed_with_one(at_bound, past_bound, why):
    assert limits.too_large(at_bound) is None
    reason = limits.too_large(past_bound)
    assert reason is not None and why in reason
    assert [f.rule for f in check_patch(past_bound)] == [limits.NOTE_ID]


def test_loops_spread_over_files_count_together():
    """The loop bound is for the patch, not per file; words that only look
    like loop keywords ("format", "domain", "whileloop") do not count."""
    def files(loops_each: int, n: int, noise: str = "") -> str:
        out = []
        for i in range(n):
            path = f"arch/x86/virt/vmx/tdx/g{i}.c"
            body = ["void f(void)", "{"] + [f"{_KEYWORD_LINES[k % 3]} {noise}" for k in range(loops_each)] + ["}"]
            out += [f"diff --git a/{path} b/{path}", "new file mode 100644", "index 0000000..1111111",
                    "--- /dev/null", f"+++ b/{path}", f"@@ -0,0 +1,{len(body)} @@"] + ["+" + b for b in body]
        return "\n".join(out)

    noise = "/* format domain whileloop dodo */"
    assert limits.too_large(_patch(diff=files(limits.MAX_LOOPS // 4, 4, noise))) is None
    reason = limits.too_large(_patch(diff=files(limits.MAX_LOOPS // 4 + 1, 4, noise)))
    assert reason is not None and "loops" in reason


def test_nesting_is_counted_in_any_text_a_mail_can_decode_to():
    """Brackets among multi-byte characters and lone surrogates (what a
    badly encoded mail decodes to) count the same; a closer with nothing
    open is ignored, as a hunk may start inside a block."""
    odd = "\u00e9\u4e2d\udcff\ud800"
    deep = odd.join(["{"] * (limits.MAX_DEPTH + 1)) + odd
    assert limits._too_deep(deep)
    assert not limits._too_deep(deep[:-len(odd) * 2 - 1])
    assert not limits._too_deep("}" * 500 + "{" * limits.MAX_DEPTH + "}" * limits.MAX_DEPTH)
    assert limits._too_deep("}" * 500 + "(" * (limits.MAX_DEPTH + 1))
