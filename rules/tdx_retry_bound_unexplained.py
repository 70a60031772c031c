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

from ..lazyre import lazy_re
from ..areas import TDX
from ..rulekit import Case, Hit

ID = "tdx-retry-bound-unexplained"
SEVERITY = "warning"
PATHS = TDX

_RETRY_NAME = lazy_re(r"retr|tries|attempt", re.I)
_REASON = lazy_re(
    r"because|since|spec|measur|should|enough|just in case|worst|expect|guarantee|succeed|"
    r"chosen|empiric|observ|based on|derived|match|same as|so that|per |document|arbitrar|"
    r"\d", re.I)


def _number(text: str) -> int | None:
    m = re.fullmatch(r"\(?\s*(\d+)[uUlL]*\s*\)?", text.strip())
    return int(m.group(1)) if m else None


def _explained(region, node) -> bool:
    return any(_REASON.search(c.prose()) for c in region.comments_near(node.start_point[0], above=3))


def _candidates(region):
    for node in region.find("preproc_def"):
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if name is not None and value is not None:
            yield node, region.text(name), region.text(value)
    for node in region.find("init_declarator"):
        name = node.child_by_field_name("declarator")
        value = node.child_by_field_name("value")
        if name is not None and value is not None and name.type == "identifier":
            yield node, region.text(name), region.text(value)


def check_file(source, patch):
    for region in source.regions:
        for node, name, value in _candidates(region):
            number = _number(value)
            if number is None or number < 2 or not _RETRY_NAME.search(name):
                continue
            if name == "RDRAND_RETRY_LOOPS" or "RDRAND_RETRY_LOOPS" in value:
                continue
            line = region.line_no(node.start_point[0])
            if not region.is_added(line) or _explained(region, node):
                continue
            yield Hit(
                f"retry bound {name} = {number} with no comment on where {number} comes from",
                line=line,
                comment=f"Where does {number} come from? Please say in a comment whether it "
                        "is a guarantee (and whose) or a guess, and what happens when the "
                        "retries run out.",
            )


INVALID = [
    Case(code="#define SEAMCALL_RETRY_MAX\t16", path="arch/x86/kvm/vmx/tdx.c",
         at=("#define SEAMCALL_RETRY_MAX",), why="Paolo's question"),
    Case(code="""
        	int retries = 100;

        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY && --retries);
        """, at=("int retries = 100;",), why="local counter with a bare number"),
    Case(code="""
        /* Maximum number of attempts. */
        #define TDX_SHUTDOWN_ATTEMPTS	(50)
        """, at=("#define TDX_SHUTDOWN_ATTEMPTS",), why="comment restates the name"),
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
]
