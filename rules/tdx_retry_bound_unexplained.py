"""A numeric retry bound with no comment saying where the number comes from.

What it flags: on added lines in TDX code, a `#define` whose name speaks of
retries (RETRY, RETRIES, TRIES, ATTEMPTS) with a number above 1, or a local
retry counter initialised to such a number, when no comment on that line or
just above it explains the number (a spec guarantee, a measurement, "a
second try should succeed; use 3 just in case"). RDRAND_RETRY_LOOPS is the
kernel's own documented bound and passes.

Why: a bare bound only moves the question. Paolo on a SEPT retry patch:
"How is the 16 determined?" Whoever hits the limit needs to know whether it
was a guess or a guarantee.

Fires on:
    #define SEAMCALL_RETRY_MAX	16
Must not fire on:
    /* Retrying the hypercall a second time should succeed; use 3 just in case */
    const int max_retries_per_page = 3;
"""
from __future__ import annotations

import re

from ..lint.kit import TDX, Case, Violation, int_of_text, lazy_re

ID = "tdx-retry-bound-unexplained"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("bound", "number", "retries", "where does", "come from", "magic")

_RETRY_NAME = lazy_re(r"retr|tries|attempt|loops?$", re.I)
# What tells where a number comes from (a bare "so that" only says why
# there is a bound at all).
_SOURCE = lazy_re(
    r"\bspec\b|specification|measur|empiric|observ|guarantee|document|worst[- ]case|"
    r"just in case|arbitrar|derived|based on|same as|chosen|per the|according to|"
    r"at most|within", re.I)


_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()


class Unexplained(Violation):
    message = "retry bound {bound} with no comment on where {number} comes from"
    comment = ("Where does {number} come from? Please say in a comment whether it is a guarantee "
               "(and whose) or a guess, and what happens when the retries run out.")

    @property
    def bound(self) -> str:
        return f"{self.name} = {self.number}" if self.name else str(self.number)


def check_file(file):
    for code in file.code:
        for node, name, value in code.c.define_nodes():
            if not _RETRY_NAME.search(name) or "RDRAND_RETRY_LOOPS" in (name, value):
                continue  # the name first: a value may take a parse to work out
            number = int_of_text(value, code.c)
            if number is not None and number > 1 and not _explained(code, node, number):
                code.report(node, Unexplained(name=name, number=number))
        for node, target, value, *_, is_init in code.c.assignments():
            if not is_init or target is None or target.type != "identifier" \
                    or not _RETRY_NAME.search(code.c.text(target)):
                continue
            number = code.c.int_value(value, {})  # a named constant carries its own comment
            if number is not None and number > 1 and not _explained(code, node, number):
                code.report(node, Unexplained(name=code.c.text(target), number=number))
        for loop in code.loops.retry_loops():
            bound = loop.bound
            if bound is None or bound.kind != "counter":
                continue
            for expr in loop.deciding():
                for literal in code.c.find("number_literal", within=expr):
                    number = code.c.int_value(literal, {})
                    if number is not None and number > 1 and \
                            not _explained(code, loop.node, number) and not _explained(code, expr, number):
                        code.report(literal, Unexplained(name="", number=number))


def _names_number(text: str, number: int) -> bool:
    if re.search(rf"(?<![\w.]){number}(?![\w.])", text):
        return True
    return number < len(_WORDS) and bool(re.search(rf"\b{_WORDS[number]}\b", text, re.I))


def _explained(code, node, number: int) -> bool:
    """A comment just above names this number, or says where a bound comes
    from without naming another number (a comment about 3 does not explain
    a 32)."""
    for c in code.c.comments_near(node.start_point[0], above=3):
        prose = c.prose()
        if _names_number(prose, number):
            return True
        if _SOURCE.search(prose) and not re.search(r"(?<![\w.])\d+(?![\w.])", prose):
            return True
    return False


INVALID = [
    Case(code="#define SEAMCALL_RETRY_MAX\t16", path="arch/x86/kvm/vmx/tdx.c",
         at=('1:1: #define SEAMCALL_RETRY_MAX',), why="Paolo's question"),
    Case(code="""
        	int retries = 100;

        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY && --retries);
        """, at=('1:5: int retries = 100;',), why="local counter with a bare number"),
    Case(code="""
        /* Maximum number of attempts. */
        #define TDX_SHUTDOWN_ATTEMPTS	(50)
        """, at=('2:1: #define TDX_SHUTDOWN_ATTEMPTS',), why="comment restates the name"),
    Case(code="""
        	for (i = 0; i < 16; i++) {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        		if (ret != TDX_INTERRUPTED_RESUMABLE)
        			break;
        	}
        """, at=('1:17: for (i = 0; i < 16; i++) {',), why="a literal bound in the loop header"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	do {
        		err = tdh_mem_track(&kvm_tdx->td);
        	} while (err == TDX_INTERRUPTED_RESUMABLE && tries++ < 1000);
        """, at=('3:56: tries++ < 1000',), why="a literal bound in the loop condition"),
]

VALID = [
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        	/* Retrying the hypercall a second time should succeed; use 3 just in case */
        	const int max_retries_per_page = 3;
        """, why="tdx_map_gpa()'s explained bound"),
    Case(path="arch/x86/virt/vmx/tdx/seamcall_internal.h",
         code="\tint retry = RDRAND_RETRY_LOOPS;", why="the kernel's RDRAND bound"),
    Case(code="""
        /*
         * The module finishes a cache flush within 10000 interrupted
         * calls per the TDX module spec; give up after that.
         */
        #define TDX_SEAMCALL_RETRIES	10000
        """, why="bound with its source"),
    Case(code="#define TDX_MAX_NR_CPUID_CONFIGS\t6", why="not a retry bound"),
    Case(code="\tint retry = 1;", why="a single retry needs no justification of its number"),
    Case(code="""
        	/* The spec bounds TDH.SYS.DISABLE at 16 interrupted calls. */
        	for (i = 0; i < 16; i++) {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        		if (ret != TDX_INTERRUPTED_RESUMABLE)
        			break;
        	}
        """, why="the number's source is given"),
    Case(code="""
        	for (i = 0; i < 16; i++)
        		tdmr_init_one(&tdmr_list[i]);
        """, why="not a retry loop"),
]
