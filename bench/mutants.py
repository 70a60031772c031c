"""Recall of the TDX rules on defects seeded into real TDX code.

    python bench/mutants.py                 # downloads Debian's linux-source-6.12
    python bench/mutants.py --tree DIR      # an unpacked kernel tree
    python bench/mutants.py --show RULE     # also print the mutants RULE misses

Every mutation operator below writes one kind of defect a TDX rule exists
for, the way a developer would write it, at every site in the real host and
guest TDX sources where it applies (a SEAMCALL, TDCALL or hypercall whose
status is stored, an existing status compare, a bounded loop, a status
#define). Each mutant is presented as a patch, twice: as a list mail with
three lines of context (what `tdxbot review` sees) and with the whole
post-image file (what `tdxbot check` sees). A mutant is caught when its
rule reports a finding on one of the lines the mutant adds.

Near-miss operators write the correct form of the same code; a finding on
those, or on the unmutated files (each presented as a whole-file
addition), counts as a false alarm. Goals: every rule at least 95% on its
operators; false alarms at most 0.5 per 1,000 lines.
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections import defaultdict
from email.parser import BytesParser
from email.policy import compat32
from typing import Callable, NamedTuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from false_alarms import fetch_tree, tdx_files, whole_file_patch  # noqa: E402

from tdxbot.facts.c import Region, ancestor, call_name, enclosing_function  # noqa: E402
from tdxbot.lint.engine import Options, all_rules, review_series  # noqa: E402
from tdxbot.mail.parse import patch_from_message  # noqa: E402
from tdxbot.mail.model import Series  # noqa: E402
from tdxbot.facts.tdx import call_kind  # noqa: E402

TDX_RULES = ("tdx-unbounded-retry", "tdx-busy-retry", "tdx-retry-bound-unexplained",
             "comment-contradicts-code", "tdx-sw-error-mask", "tdx-sw-code-as-mask",
             "tdx-status-unmasked", "tdx-status-truncated", "tdx-error-ignored", "tdx-errno-define")


class Site(NamedTuple):
    """A SEAMCALL, TDCALL or hypercall in a statement of a function."""
    start: int  # where the statement starts (the mutant's code goes before it)
    call_start: int  # the call, which the mutant replaces with its result
    call_end: int
    call: str  # the call, as one that returns the raw status
    kind: str  # "host", "guest" or "hypercall"
    returns: str  # the enclosing function's return type
    errno: bool  # the original call returned an errno (seamcall_prerr())
    function_start: int  # where the enclosing function starts (helpers go above it)
    var: str = "mut_st"  # the variable the mutant keeps the status in


class Mutant(NamedTuple):
    rule: str
    operator: str
    path: str
    text: str  # the mutated file
    good: bool  # a near miss: the rule must stay quiet
    changelog: str = "Change the code."
    base: str | None = None  # what the patch changes (None: the real file)


# ---- finding sites ----------------------------------------------------------------


def _region(text: str) -> Region:
    lines = text.split("\n")
    return Region(lines, list(range(1, len(lines) + 1)), frozenset())


_STATEMENTS = ("expression_statement", "declaration", "return_statement", "if_statement")
_ERRNO_TO_RAW = {"seamcall_prerr": "seamcall", "seamcall_prerr_ret": "seamcall_ret"}


_UNBRACED_PARENTS = ("while_statement", "for_statement", "do_statement", "if_statement", "else_clause")


def status_sites(text: str) -> list[Site]:
    region = _region(text)
    out = []
    for call in region.find("call_expression"):
        name = call_name(call)
        raw = _ERRNO_TO_RAW.get(name, name)
        kind = call_kind(raw)
        func = enclosing_function(call)
        stmt = ancestor(call, _STATEMENTS)
        if kind not in ("host", "guest", "hypercall") or func is None or stmt is None \
                or ancestor(stmt, ("function_definition",)) != func:
            continue
        if stmt.type == "if_statement" and call.start_byte >= stmt.child_by_field_name("condition").end_byte:
            continue  # a call in the branch: its own statement is the site
        if stmt.parent is not None and stmt.parent.type in _UNBRACED_PARENTS:
            continue  # the body of a loop or branch with no braces: no room for code before it
        text_call = region.text(call)
        out.append(Site(stmt.start_byte, call.start_byte, call.end_byte,
                        raw + text_call[len(name):], kind, region.return_type(func) or "void",
                        name != raw, func.start_byte))
    return out


def _indent(text: str, at: int) -> str:
    line_start = text.rfind("\n", 0, at) + 1
    return re.match(r"[ \t]*", text[line_start:]).group(0)


def _mutate(text: str, site: Site, snippet: str, result: str) -> str:
    """Put snippet (tab-indented lines) before the site's statement, indented
    like it, and the snippet's result where the call was."""
    ind = _indent(text, site.start)
    lines = snippet.strip("\n").split("\n")
    body = "\n".join([lines[0]] + [(ind + ln) if ln else "" for ln in lines[1:]])
    value = f"({result} ? -EIO : 0)" if site.errno and result != "0" else result
    return (text[:site.start] + body + "\n\n" + ind + text[site.start:site.call_start] + value
            + text[site.call_end:])


# ---- operators --------------------------------------------------------------------

# Codes a retry loop might wait out, by the kind of call.
_CODES = {"host": ("TDX_INTERRUPTED_RESUMABLE", "TDX_SYS_BUSY", "TDX_RND_NO_ENTROPY"),
          "guest": ("TDX_INTERRUPTED_RESUMABLE", "TDX_RND_NO_ENTROPY"),
          "hypercall": ("TDVMCALL_STATUS_RETRY",)}


def _code(site: Site, n: int) -> str:
    codes = _CODES[site.kind]
    return codes[n % len(codes)]


def _errno_return(site: Site) -> str:
    return "return;" if site.returns.strip() == "void" else \
        "return false;" if "bool" in site.returns else "return -EBUSY;"


SiteOp = Callable[[Site, int], str]
# Operators whose code leaves no status behind put this where the call was.
_NO_RESULT = ("call-compare", "discard", "void-cast", "call-in-condition", "busy-only-check",
              "checked (near miss)", "int-local", "long-assign", "u32-local", "u64-local (near miss)",
              "retry-only")

# Each: (rule, operator name, good?, kinds it applies to, snippet builder).
SITE_OPS: list[tuple[str, str, bool, tuple[str, ...], SiteOp]] = [
    ("tdx-unbounded-retry", "do-while", False, ("host", "guest", "hypercall"), lambda s, n: f"""
do {{
	{s.var} = {s.call};
}} while ({s.var} == {_code(s, n)});"""),
    ("tdx-unbounded-retry", "for-ever-break", False, ("host", "guest", "hypercall"), lambda s, n: f"""
for (;;) {{
	{s.var} = {s.call};
	if ({s.var} != {_code(s, n)})
		break;
}}"""),
    ("tdx-unbounded-retry", "goto-retry", False, ("host", "guest", "hypercall"), lambda s, n: f"""
retry_{n}:
	{s.var} = {s.call};
	if ({s.var} == {_code(s, n)})
		goto retry_{n};"""),
    ("tdx-unbounded-retry", "half-justified", False, ("host",), lambda s, n: f"""
/*
 * TDX_INTERRUPTED_RESUMABLE guarantees forward progress between calls;
 * TDX_SYS_BUSY shows up while another TDH.SYS.* SEAMCALL runs.
 */
do {{
	{s.var} = {s.call};
}} while ({s.var} == TDX_INTERRUPTED_RESUMABLE || {s.var} == TDX_SYS_BUSY);"""),
    ("tdx-unbounded-retry", "counted (near miss)", True, ("host", "guest"), lambda s, n: f"""
do {{
	{s.var} = {s.call};
}} while ({s.var} == {_code(s, n)} && --retries);"""),
    ("tdx-unbounded-retry", "justified (near miss)", True, ("host",), lambda s, n: f"""
/*
 * TDX_INTERRUPTED_RESUMABLE guarantees forward progress between calls,
 * so this ends.
 */
do {{
	{s.var} = {s.call};
}} while ({s.var} == TDX_INTERRUPTED_RESUMABLE);"""),

    ("tdx-busy-retry", "raw-busy-loop", False, ("host", "guest"), lambda s, n: f"""
do {{
	{s.var} = {s.call};
}} while ({s.var} == TDX_OPERAND_BUSY);"""),
    ("tdx-busy-retry", "helper-busy-loop", False, ("host", "guest"), lambda s, n: f"""
do {{
	{s.var} = {s.call};
}} while (unlikely(IS_TDX_OPERAND_BUSY({s.var})));"""),
    ("tdx-busy-retry", "masked-busy-bounded", False, ("host", "guest"), lambda s, n: f"""
for (i = 0; i < MAX_TRIES; i++) {{
	{s.var} = {s.call};
	if (({s.var} & TDX_SEAMCALL_STATUS_MASK) != TDX_OPERAND_BUSY)
		break;
}}"""),
    ("tdx-busy-retry", "busy-call-again", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if (tdx_operand_busy({s.var}))
	{s.var} = {s.call};"""),
    ("tdx-busy-retry", "busy-ebusy (near miss)", True, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if (IS_TDX_OPERAND_BUSY({s.var}))
	{_errno_return(s)}"""),

    ("tdx-retry-bound-unexplained", "literal-for-bound", False, ("host", "guest", "hypercall"),
     lambda s, n: f"""
for (i = 0; i < {16 + n % 50}; i++) {{
	{s.var} = {s.call};
	if ({s.var} != {_code(s, n)})
		break;
}}"""),
    ("tdx-retry-bound-unexplained", "literal-condition-bound", False, ("host", "guest", "hypercall"),
     lambda s, n: f"""
do {{
	{s.var} = {s.call};
}} while ({s.var} == {_code(s, n)} && tries++ < {5 + n % 20});"""),
    ("tdx-retry-bound-unexplained", "bare-counter", False, ("host", "guest", "hypercall"), lambda s, n: f"""
int retries = {8 + n % 90};

do {{
	{s.var} = {s.call};
}} while ({s.var} == {_code(s, n)} && --retries);"""),
    ("tdx-retry-bound-unexplained", "explained (near miss)", True, ("host", "guest", "hypercall"),
     lambda s, n: f"""
/* The TDX module spec says the call completes within 4 interrupted tries. */
for (i = 0; i < 4; i++) {{
	{s.var} = {s.call};
	if ({s.var} != {_code(s, n)})
		break;
}}"""),

    ("comment-contradicts-code", "no-forever-claim", False, ("host", "guest", "hypercall"), lambda s, n: f"""
/* Don't loop forever. */
do {{
	{s.var} = {s.call};
}} while ({s.var} == {_code(s, n)});"""),
    ("comment-contradicts-code", "at-most-claim", False, ("host", "guest", "hypercall"), lambda s, n: f"""
/* Retry at most 3 times. */
for (;;) {{
	{s.var} = {s.call};
	if ({s.var} != {_code(s, n)})
		break;
}}"""),
    ("comment-contradicts-code", "forever-claim-bounded", False, ("host", "guest", "hypercall"),
     lambda s, n: f"""
/* Loop forever: the call always completes eventually. */
do {{
	{s.var} = {s.call};
}} while ({s.var} == {_code(s, n)} && --retries);"""),
    ("comment-contradicts-code", "honest (near miss)", True, ("host", "guest", "hypercall"),
     lambda s, n: f"""
/* Loop until the call stops asking for a retry; it makes progress each time. */
do {{
	{s.var} = {s.call};
}} while ({s.var} == {_code(s, n)});"""),

    ("tdx-sw-error-mask", "if-mask", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if ({s.var} & TDX_SW_ERROR)
	{_errno_return(s)}"""),
    ("tdx-sw-error-mask", "warn-mask", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
WARN_ON_ONCE({s.var} & TDX_SW_ERROR);"""),
    ("tdx-sw-error-mask", "unlikely-split", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if (unlikely({s.var} &
	     TDX_SW_ERROR))
	{_errno_return(s)}"""),
    ("tdx-sw-error-mask", "class-test (near miss)", True, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if (({s.var} & TDX_SW_ERROR) == TDX_SW_ERROR)
	{_errno_return(s)}"""),

    ("tdx-sw-code-as-mask", "masked-compare", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if (({s.var} & TDX_SEAMCALL_UD) == TDX_SEAMCALL_UD)
	{_errno_return(s)}"""),
    ("tdx-sw-code-as-mask", "truth-mask", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if ({s.var} & TDX_SEAMCALL_GP)
	{_errno_return(s)}"""),
    ("tdx-sw-code-as-mask", "warn-mask", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
WARN_ON_ONCE({s.var} & TDX_SEAMCALL_VMFAILINVALID);"""),
    ("tdx-sw-code-as-mask", "exact (near miss)", True, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if ({s.var} == TDX_SEAMCALL_UD)
	{_errno_return(s)}"""),

    ("tdx-status-unmasked", "raw-eq", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if ({s.var} == TDX_OPERAND_BUSY)
	{_errno_return(s)}"""),
    ("tdx-status-unmasked", "raw-switch", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
switch ({s.var}) {{
case TDX_OPERAND_INVALID:
	{_errno_return(s)}
default:
	break;
}}"""),
    ("tdx-status-unmasked", "call-compare", False, ("host", "guest"), lambda s, n: f"""
if ({s.call} == TDX_EPT_WALK_FAILED)
	{_errno_return(s)}"""),
    ("tdx-status-unmasked", "masked (near miss)", True, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if (({s.var} & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY)
	{_errno_return(s)}"""),

    ("tdx-status-truncated", "int-local", False, ("host", "guest"), lambda s, n: f"""
int mut_ret = {s.call};"""),
    ("tdx-status-truncated", "long-assign", False, ("host", "guest"), lambda s, n: f"""
long mut_ret;

mut_ret = {s.call};"""),
    ("tdx-status-truncated", "u32-local", False, ("host", "guest"), lambda s, n: f"""
u32 mut_ret = {s.call};"""),
    ("tdx-status-truncated", "u64-local (near miss)", True, ("host", "guest"), lambda s, n: f"""
u64 mut_ret = {s.call};"""),

    ("tdx-error-ignored", "discard", False, ("host",), lambda s, n: f"""
{s.call};"""),
    ("tdx-error-ignored", "void-cast", False, ("host",), lambda s, n: f"""
(void){s.call};"""),
    ("tdx-error-ignored", "call-in-condition", False, ("host",), lambda s, n: f"""
while ({s.call} == TDX_INTERRUPTED_RESUMABLE)
	;"""),
    ("tdx-error-ignored", "busy-only-check", False, ("host",), lambda s, n: f"""
{{
	u64 mut_err = {s.call};

	if (IS_TDX_OPERAND_BUSY(mut_err))
		{_errno_return(s)}
}}"""),
    ("tdx-error-ignored", "checked (near miss)", True, ("host",), lambda s, n: f"""
{{
	u64 mut_err = {s.call};

	if (IS_TDX_OPERAND_BUSY(mut_err))
		{_errno_return(s)}
	WARN_ON_ONCE(mut_err);
}}"""),
    # Operators that also add a helper function above the enclosing one:
    # the builder returns (helper, code).
    ("tdx-unbounded-retry", "helper-test", False, ("host", "guest", "hypercall"), lambda s, n: (f"""
static bool mut_again_{n}(u64 err)
{{
	return err == {_code(s, n)};
}}""", f"""
do {{
	{s.var} = {s.call};
}} while (mut_again_{n}({s.var}));""")),
    ("tdx-busy-retry", "local-busy-helper", False, ("host", "guest"), lambda s, n: (f"""
static bool mut_contended_{n}(u64 err)
{{
	return (err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY;
}}""", f"""
while (mut_contended_{n}({s.var} = {s.call}))
	cpu_relax();""")),
    ("tdx-sw-error-mask", "bool-helper", False, ("host", "guest"), lambda s, n: (f"""
static bool mut_sw_failed_{n}(u64 err)
{{
	return err & TDX_SW_ERROR;
}}""", f"""
{s.var} = {s.call};
if (mut_sw_failed_{n}({s.var}))
	{_errno_return(s)}""")),
    ("tdx-sw-error-mask", "bool-local", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
bool mut_bad = {s.var} & TDX_SW_ERROR;"""),
    ("tdx-status-unmasked", "ne-compare", False, ("host", "guest"), lambda s, n: f"""
{s.var} = {s.call};
if ({s.var} != TDX_OPERAND_INVALID)
	{_errno_return(s)}"""),
    ("tdx-status-unmasked", "masking-helper (near miss)", True, ("host", "guest"), lambda s, n: (f"""
static u64 mut_status_{n}(u64 err)
{{
	return err & TDX_SEAMCALL_STATUS_MASK;
}}""", f"""
{s.var} = {s.call};
if (mut_status_{n}({s.var}) == TDX_OPERAND_INVALID)
	{_errno_return(s)}""")),
    ("tdx-status-truncated", "int-param", False, ("host", "guest"), lambda s, n: (f"""
static void mut_note_{n}(int err)
{{
	pr_debug("status %d\\n", err);
}}""", f"""
{s.var} = {s.call};
mut_note_{n}({s.var});""")),
    ("tdx-status-truncated", "int-return", False, ("host", "guest"), lambda s, n: (f"""
static int mut_pass_{n}(u64 err)
{{
	return err;
}}""", f"""
{s.var} = {s.call};
{s.var} = mut_pass_{n}({s.var});""")),
    ("tdx-error-ignored", "retry-only", False, ("host",), lambda s, n: f"""
do {{
	{s.var} = {s.call};
}} while ({s.var} == TDX_INTERRUPTED_RESUMABLE);"""),
]

# ---- termination arguments (tdx-unbounded-retry) ---------------------------------
#
# The same unbounded loop under a comment (or a changelog) that argues why the
# retry ends, in several wordings, and under one that argues nothing. The
# status the loop retries on matches what the wording speaks of.

def _argue_loop(s: Site, code: str, above: str = "", inside: str = "") -> str:
    head = f"{above}\n" if above else ""
    inner = f"\t{inside}\n" if inside else ""
    return f"\n{head}do {{\n{inner}\t{s.var} = {s.call};\n}} while ({s.var} == {code});"


def _other_code(s: Site) -> str:
    return {"host": "TDX_SYS_BUSY", "guest": "TDX_RND_NO_ENTROPY", "hypercall": "TDVMCALL_STATUS_RETRY"}[s.kind]


ARGUMENT_OPS: list[tuple] = [
    # (operator, good?, kinds, code builder, changelog builder or None)
    ("argued: picks up where it left off (near miss)", True, ("host", "guest"), lambda s, n: _argue_loop(
        s, "TDX_INTERRUPTED_RESUMABLE",
        "/* An interrupted call picks up where it left off, so this loop ends. */"), None),
    ("argued: keeps its place, inside the loop (near miss)", True, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), inside="/* The module keeps its place between calls. */"), None),
    ("argued: busy only while a named call runs (near miss)", True, ("host",), lambda s, n: _argue_loop(
        s, "TDX_SYS_BUSY", "/* TDX_SYS_BUSY comes back only while another TDH.SYS.* SEAMCALL runs. */"), None),
    ("argued: shuts new callers out (near miss)", True, ("host",), lambda s, n: _argue_loop(
        s, "TDX_SYS_BUSY", "/*\n * TDX_SYS_BUSY: once this call starts, it keeps new TDH.SYS.* calls\n * out.\n */"),
     None),
    ("argued: callers hold a named lock (near miss)", True, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), "/* Callers hold tdx_module_lock, so no other call runs beside "
                                              "this one. */"), None),
    ("argued: the caller's deadline (near miss)", True, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), "/* The caller's watchdog gives up on this after 10 seconds. */"),
     None),
    ("argued: a bound the module keeps (near miss)", True, ("host", "guest"), lambda s, n: _argue_loop(
        s, _code(s, n), "/* The TDX module returns this status at most a few times per call. */"), None),
    ("argued: in the changelog (near miss)", True, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n)),
     lambda s, n: f"Retry while the call returns {_code(s, n)}: callers hold tdx_module_lock,\n"
                  "so no other call competes with this one."),
    ("not argued: says what, not why", False, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), "/* Keep calling it until it works. */"), None),
    ("not argued: try again, inside the loop", False, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), inside="/* Try again if it did not finish. */"), None),
    ("not argued: the reason is denied", False, ("host", "guest", "hypercall"), lambda s, n: _argue_loop(
        s, _code(s, n), f"/* {_code(s, n)} does not guarantee forward progress, but it is rare. */"), None),
    ("not argued: short-lived, no reason", False, ("host", "guest", "hypercall"), lambda s, n: _argue_loop(
        s, _code(s, n), f"/* {_code(s, n)} is short-lived. */"), None),
    ("not argued: serialized by no named lock", False, ("host", "guest", "hypercall"), lambda s, n: _argue_loop(
        s, _code(s, n), "/* Callers are serialized, so this is fine. */"), None),
    ("not argued: argues for another status", False, ("host", "guest", "hypercall"), lambda s, n: _argue_loop(
        s, _other_code(s), "/* TDX_INTERRUPTED_RESUMABLE guarantees forward progress. */"), None),
    ("not argued: a question", False, ("host", "guest", "hypercall"), lambda s, n: _argue_loop(
        s, _code(s, n), f"/* Does {_code(s, n)} guarantee forward progress? */"), None),
    ("not argued: the changelog says what, not why", False, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n)),
     lambda s, n: f"Call it again while it returns {_code(s, n)}, until it works."),
    ("argued: resumes from where the module recorded (near miss)", True, ("host", "guest"),
     lambda s, n: _argue_loop(s, "TDX_INTERRUPTED_RESUMABLE",
                              "/*\n * The module records how far the call got, and the next call\n"
                              " * resumes from there.\n */"), None),
    ("argued: each call does part of the work (near miss)", True, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), "/* Each call handles another batch of pages, so this ends. */"),
     None),
    ("not argued: until the call itself completes", False, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), f"/* Keep calling {s.call.split('(')[0]}() until it completes. */"),
     None),
    ("not argued: 'only while' restates the condition", False, ("host", "guest", "hypercall"),
     lambda s, n: _argue_loop(s, _code(s, n), f"/* Retry only while {s.call.split('(')[0]}() returns "
                                              f"{_code(s, n)}. */"), None),
]
SITE_OPS += [("tdx-unbounded-retry", op, good, kinds, build, changelog)
             for op, good, kinds, build, changelog in ARGUMENT_OPS]


# ---- claims about how a loop ends (comment-contradicts-code) -----------------------
#
# Each kind of claim, in a few wordings (taken in turn at the sites), on each
# loop shape: a do/while, `while (1)` and `for (;;)` left by a break, a goto
# back-edge, and a loop that issues no TDX call at all (polling a flag). The
# claims of an end sit on loops that have none, "forever" on loops that give
# up; the near misses put each claim on a loop that agrees with it.

_CLAIMS = {
    "doesn't loop forever": ("Don't loop forever.", "This loop can't spin forever.",
                             "Avoid an endless loop here.", "Never loop indefinitely."),
    "bounded": ("Bounded retry.", "The number of retries is limited.",
                "Retry a limited number of times.", "This loop is bounded."),
    "gives up after N": ("Give up after 3 tries.", "Retry at most 3 times.",
                         "Bail out after five attempts.", "Stop retrying after 4 calls."),
    "gives up after a few": ("Give up after a few tries.", "Retry only a handful of times.",
                             "Only a few attempts are made.", "Stop after several retries."),
    "retries once": ("Retry only once.", "A single retry is enough.",
                     "The second attempt always succeeds.", "Retry it once and give up."),
    "loops forever": ("Loop until the call succeeds.", "Keep retrying forever.",
                      "Retry indefinitely: it always completes.", "This never gives up."),
}


def _claim(kind: str, n: int) -> str:
    words = _CLAIMS[kind]
    return "/* " + words[n % len(words)] + " */"


def _unbounded_shape(shape: str, s: Site, n: int, comment: str) -> str:
    code = _code(s, n)
    if shape == "do/while":
        return f"\n{comment}\ndo {{\n\t{s.var} = {s.call};\n}} while ({s.var} == {code});"
    if shape in ("while (1)", "for (;;)"):
        head = "while (1)" if shape == "while (1)" else "for (;;)"
        return (f"\n{comment}\n{head} {{\n\t{s.var} = {s.call};\n\tif ({s.var} != {code})\n"
                f"\t\tbreak;\n}}")
    if shape == "goto":
        return f"\n{comment}\nmut_again_{n}:\n\t{s.var} = {s.call};\n\tif ({s.var} == {code})\n\t\tgoto mut_again_{n};"
    # a loop that issues no TDX call: it polls a flag
    return (f"\n{comment}\nwhile (1) {{\n\tif (READ_ONCE(mut_ready_{n}))\n\t\tbreak;\n\tcpu_relax();\n}}\n"
            f"{s.var} = {s.call};")


def _bounded_shape(shape: str, s: Site, n: int, comment: str, tries: int = 3) -> str:
    code = _code(s, n)
    if shape == "do/while":
        return (f"\nint mut_tries_{n} = {tries};\n\n{comment}\ndo {{\n\t{s.var} = {s.call};\n}} while "
                f"({s.var} == {code} && --mut_tries_{n});")
    if shape == "while (1)":
        return (f"\n{comment}\nwhile (1) {{\n\t{s.var} = {s.call};\n\tif ({s.var} != {code} || "
                f"++mut_tries_{n} >= {tries})\n\t\tbreak;\n}}")
    if shape == "for (;;)":
        return (f"\n{comment}\nfor (mut_i = 0; mut_i < {tries}; mut_i++) {{\n\t{s.var} = {s.call};\n"
                f"\tif ({s.var} != {code})\n\t\tbreak;\n}}")
    if shape == "goto":
        return (f"\n{comment}\nmut_again_{n}:\n\t{s.var} = {s.call};\n\tif ({s.var} == {code} && "
                f"++mut_tries_{n} < {tries})\n\t\tgoto mut_again_{n};")
    return (f"\n{comment}\nfor (mut_i = 0; mut_i < {tries}; mut_i++) {{\n\tif (READ_ONCE(mut_ready_{n}))\n"
            f"\t\tbreak;\n\tcpu_relax();\n}}\n{s.var} = {s.call};")


_SHAPES = ("do/while", "while (1)", "for (;;)", "goto", "no TDX call")
_ALL_KINDS = ("host", "guest", "hypercall")
for _kind in ("doesn't loop forever", "bounded", "gives up after N", "gives up after a few", "retries once"):
    for _shape in _SHAPES:
        SITE_OPS.append(("comment-contradicts-code", f"{_kind} / {_shape}", False, _ALL_KINDS,
                         lambda s, n, k=_kind, sh=_shape: _unbounded_shape(sh, s, n, _claim(k, n))))
for _shape in _SHAPES:
    SITE_OPS.append(("comment-contradicts-code", f"loops forever / {_shape}, bounded", False, _ALL_KINDS,
                     lambda s, n, sh=_shape: _bounded_shape(sh, s, n, _claim("loops forever", n))))
    SITE_OPS.append(("comment-contradicts-code", f"claimed count agrees / {_shape} (near miss)", True,
                     _ALL_KINDS, lambda s, n, sh=_shape: _bounded_shape(
                         sh, s, n, _claim("gives up after N", 0), tries=3)))
    SITE_OPS.append(("comment-contradicts-code", f"loops forever agrees / {_shape} (near miss)", True,
                     _ALL_KINDS, lambda s, n, sh=_shape: _unbounded_shape(sh, s, n, _claim("loops forever", n))))
SITE_OPS += [
    ("comment-contradicts-code", "retries once, with a flag (near miss)", True, _ALL_KINDS, lambda s, n: f"""
/* Retry once. */
mut_again_{n}:
	{s.var} = {s.call};
	if ({s.var} == {_code(s, n)} && !mut_retried_{n}) {{
		mut_retried_{n} = true;
		goto mut_again_{n};
	}}"""),
    ("comment-contradicts-code", "forever as a hazard the bound avoids (near miss)", True, _ALL_KINDS,
     lambda s, n: _bounded_shape(_SHAPES[n % 5], s, n, "/* Give up after 3 tries: otherwise this could spin "
                                                       "forever. */")),
    ("comment-contradicts-code", "an endless loop if ..., over a loop that ends (near miss)", True, _ALL_KINDS,
     lambda s, n: _bounded_shape(_SHAPES[n % 5], s, n, "/* We would have an endless loop if the counter "
                                                       "were dropped. */")),
    ("comment-contradicts-code", "not forever, with its cause (near miss)", True, _ALL_KINDS,
     lambda s, n: _unbounded_shape(_SHAPES[n % 5], s, n, "/* Kicking the vCPUs first ensures this cannot "
                                                         "loop forever. */")),
    ("comment-contradicts-code", "not forever, with its reason (near miss)", True, ("host", "guest"),
     lambda s, n: f"""
/* This can't spin forever: an interrupted call picks up where it left off. */
do {{
	{s.var} = {s.call};
}} while ({s.var} == TDX_INTERRUPTED_RESUMABLE);"""),
    ("comment-contradicts-code", "changelog: until success / counted loop", False, _ALL_KINDS,
     lambda s, n: _bounded_shape(_SHAPES[n % 4], s, n, ""),
     lambda s, n: "Retry the call until it succeeds."),
    ("comment-contradicts-code", "changelog: gives up / unbounded loop", False, _ALL_KINDS,
     lambda s, n: _unbounded_shape(_SHAPES[n % 4], s, n, ""),
     lambda s, n: ("The loop gives up after three attempts.", "Retry a bounded number of times.",
                   "Retry the call once.", "The retry cannot loop forever.")[n % 4]),
    ("comment-contradicts-code", "changelog: forever / comment: bounded", False, ("host", "guest"),
     lambda s, n: f"""
/* This cannot spin forever: each call picks up where the last one stopped. */
do {{
	{s.var} = {s.call};
}} while ({s.var} == TDX_INTERRUPTED_RESUMABLE);""",
     lambda s, n: "So loop infinitely on TDX_INTERRUPTED_RESUMABLE, until success or another error."),
    ("comment-contradicts-code", "changelog: bounded / comment: forever", False, _ALL_KINDS,
     lambda s, n: _unbounded_shape(_SHAPES[n % 4], s, n, "/* Loop until the call succeeds. */"),
     lambda s, n: "Retry the call a limited number of times."),
    ("comment-contradicts-code", "changelog: until success / unbounded (near miss)", True, _ALL_KINDS,
     lambda s, n: _unbounded_shape(_SHAPES[n % 4], s, n, ""),
     lambda s, n: "Keep calling it until it succeeds; the module keeps its place between calls."),
    ("comment-contradicts-code", "changelog: gives up / counted (near miss)", True, _ALL_KINDS,
     lambda s, n: _bounded_shape(_SHAPES[n % 4], s, n, ""),
     lambda s, n: "Give up after three attempts."),
]


def define_mutants(path: str, text: str) -> list[Mutant]:
    """tdx-errno-define: a status code with no ULL, with contradicting class
    bits, or in a place status codes do not belong."""
    out = []
    region = _region(text)
    for node, name, value in region.define_nodes():
        m = re.fullmatch(r"(0x[0-9A-Fa-f]{16})ULL", value)
        if not name.startswith("TDX_") or not m or int(m.group(1), 16) & 0xFFFFFFFF:
            continue
        out.append(Mutant("tdx-errno-define", "drop-ull", path,
                          text[:node.start_byte] + region.text(node).replace(value, m.group(1))
                          + text[node.end_byte:], False))
        busy = f"#define {name}_BUSY\t0x4000{m.group(1)[6:]}ULL\n"
        out.append(Mutant("tdx-errno-define", "busy-nonrecoverable", path,
                          text[:node.start_byte] + busy + text[node.start_byte:], False))
    # A new architectural status in a .c file or the private header.
    for node in region.find("function_definition")[:1]:
        code = "#define TDX_MUT_STATUS_BUSY\t\t0x8000020F00000000ULL\n\n"
        if path.endswith(".c") or path.endswith("virt/vmx/tdx/tdx.h"):
            out.append(Mutant("tdx-errno-define", "status-outside-errno-header", path,
                              text[:node.start_byte] + code + text[node.start_byte:], False))
    return out


def existing_mutants(path: str, text: str) -> list[Mutant]:
    """Operators on code that is there already: drop the bound of a real
    bounded retry loop, make a real exact compare a mask."""
    out = []
    for m in re.finditer(r"(\n[ \t]*\} while \([^;]*?) && --\w+\);", text):
        out.append(Mutant("tdx-unbounded-retry", "drop-counter", path,
                          text[:m.start()] + m.group(1) + ");" + text[m.end():], False))
    for m in re.finditer(r"while \((\w+) < (max_\w+|\w*RETR\w*)\)", text):
        out.append(Mutant("tdx-unbounded-retry", "drop-counter", path,
                          text[:m.start()] + "while (1)" + text[m.end():], False))
    for m in re.finditer(r"\b(\w+) == (TDX_SEAMCALL_(?:GP|UD|VMFAILINVALID))\b", text):
        out.append(Mutant("tdx-sw-code-as-mask", "exact-to-mask", path,
                          text[:m.start()] + f"({m.group(1)} & {m.group(2)}) == {m.group(2)}"
                          + text[m.end():], False))
    for m in re.finditer(r"(\n[ \t]*(?:const )?int (\w*retr\w*) = )([1-9]\w*|[A-Z_]+);", text):
        out.append(Mutant("tdx-retry-bound-unexplained", "bound-to-literal", path,
                          text[:m.start()] + m.group(1) + "32;" + text[m.end():], False))
    return out


def site_mutants(path: str, text: str) -> list[Mutant]:
    out = []
    for n, site in enumerate(status_sites(text)):
        for rule, op, good, kinds, build, *changelog in SITE_OPS:
            if site.kind not in kinds:
                continue
            snippet = build(site, n)
            helper = ""
            if isinstance(snippet, tuple):
                helper, snippet = snippet
            if op in _NO_RESULT:
                result = "mut_ret" if rule == "tdx-status-truncated" else "0"
            else:
                snippet, result = f"u64 {site.var};\n\n" + snippet.strip("\n"), site.var
            mutated = _mutate(text, site, snippet, result)
            if helper:
                at = site.function_start
                mutated = mutated[:at] + helper.strip("\n") + "\n\n" + mutated[at:]
            if changelog and changelog[0] is not None:
                out.append(Mutant(rule, op, path, mutated, good, changelog[0](site, n)))
            else:
                out.append(Mutant(rule, op, path, mutated, good))
    return out


# A bound dropped from a loop whose comment stays: the patch changes only the
# loop's line, and the comment above it is context.
_DROPPED = (
    ("do/while", "while ({v} == {code} && --mut_tries_{n});", "while ({v} == {code});"),
    ("for (;;)", "for (mut_i = 0; mut_i < 3; mut_i++) {{", "for (;;) {{"),
    ("goto", "if ({v} == {code} && ++mut_tries_{n} < 3)", "if ({v} == {code})"),
)
_KEPT_COMMENTS = ("/* Give up after 3 tries. */", "/* Don't loop forever: at most three attempts. */",
                  "/* Bounded by mut_tries. */", "/* Retry a few times, then give up. */")


def dropped_bound_mutants(path: str, text: str) -> list[Mutant]:
    out = []
    for n, site in enumerate(status_sites(text)):
        code, v = _code(site, n), site.var
        for shape, bounded, dropped in _DROPPED:
            bounded, dropped = bounded.format(v=v, code=code, n=n), dropped.format(v=v, code=code, n=n)
            comment = _KEPT_COMMENTS[n % len(_KEPT_COMMENTS)]
            if shape == "do/while":
                loop = f"int mut_tries_{n} = 3;\n\n{comment}\ndo {{\n\t{v} = {site.call};\n}} {bounded}"
            elif shape == "for (;;)":
                loop = f"{comment}\n{bounded}\n\t{v} = {site.call};\n\tif ({v} != {code})\n\t\tbreak;\n}}"
            else:
                loop = f"{comment}\nmut_again_{n}:\n\t{v} = {site.call};\n\t{bounded}\n\t\tgoto mut_again_{n};"
            before = _mutate(text, site, f"u64 {v};\n\n" + loop, v)
            after = before.replace(bounded, dropped, 1)
            out.append(Mutant("comment-contradicts-code", f"bound dropped, comment kept / {shape}", path,
                              after, False, base=before))
    return out


# ---- the TDX module's ABI (issue 25) ----------------------------------------------------
#
# Operators for the rules that read bot/facts/tdx_module.json. Each writes a
# defect only where the data makes it one, at the real sites whose leaf the
# data knows: a busy status of the wrong kind swapped in (TDH.SYS.* leaves
# report contention as TDX_SYS_BUSY, the others as TDX_OPERAND_BUSY), a
# transient status dropped from a retry, a never-returned status added to
# one, a leaf number or status value changed, a feature-gated leaf called
# without its feature check. Near misses write the form that matches the data.

ABI_RULES = ("tdx-retry-statuses", "tdx-status-never-returned", "tdx-abi-mismatch", "tdx-feature-unchecked")

# Statuses a header might define, for the "change a status value" operators.
_ABI_STATUSES = ("TDX_OPERAND_BUSY", "TDX_SYS_BUSY", "TDX_PREVIOUS_TLB_EPOCH_BUSY", "TDX_INTERRUPTED_RESUMABLE",
                 "TDX_OPERAND_INVALID", "TDX_EPT_WALK_FAILED", "TDX_EPT_ENTRY_STATE_INCORRECT",
                 "TDX_VCPU_NOT_ASSOCIATED", "TDX_KEY_GENERATION_FAILED", "TDX_FLUSHVP_NOT_DONE",
                 "TDX_NON_RECOVERABLE_VCPU", "TDX_INTERRUPTED_RESTARTABLE", "TDX_TLB_TRACKING_NOT_DONE",
                 "TDX_LIFECYCLE_STATE_INCORRECT", "TDX_SYS_NOT_READY", "TDX_TD_KEYS_NOT_CONFIGURED",
                 "TDX_KEY_STATE_INCORRECT", "TDX_NO_HKID_READY_TO_WBCACHE", "TDX_METADATA_FIELD_ID_INCORRECT",
                 "TDX_HKID_NOT_FREE")
_TWO_BUSY = ("TDX_OPERAND_BUSY", "TDX_SYS_BUSY")


def _site_leaf(site: Site):
    """The leaf a site issues, known to the module data (None otherwise)."""
    from tdxbot.facts.abi import module_abi
    abi = module_abi()
    m = re.match(r"\w+\(\s*(TD[HG]_\w+)\b", site.call)
    if m:
        return abi.leaf(m.group(1))
    m = re.match(r"(td[hg]_\w+)\(", site.call)
    return abi.wrapper(m.group(1)) if m else None


def _abi_site_mutants(path: str, text: str) -> list[Mutant]:
    from tdxbot.facts.abi import BUSY, TRANSIENT, module_abi
    abi = module_abi()
    out = []
    seen_functions = set()
    for n, site in enumerate(status_sites(text)):
        leaf = _site_leaf(site)
        if site.kind not in ("host", "guest") or leaf is None:
            continue
        v = site.var

        def add(rule, op, good, body, result=v):
            snippet = f"u64 {v};\n\n" + body.strip("\n") if result == v else body.strip("\n")
            out.append(Mutant(rule, op, path, _mutate(text, site, snippet, result), good))

        sure = sorted(c for c in TRANSIENT if leaf.surely_returns(c))
        busy = [c for c in sure if c in BUSY]
        # The other kind of busy: never returned, with this leaf's own in its place.
        wrong = [c for c in _TWO_BUSY if leaf.never_returns(c) and abi.instead_of([leaf], c)]
        for w in wrong:
            add("tdx-retry-statuses", "swap-busy-kind", False, f"""
do {{
	{v} = {site.call};
}} while ({v} == {w});""")
            if busy:
                add("tdx-retry-statuses", "add-never-returned", False, f"""
do {{
	{v} = {site.call};
}} while ({" || ".join(f"{v} == {c}" for c in sure + [w])});""")
            add("tdx-status-never-returned", "wrong-busy-compare", False, f"""
{v} = {site.call};
if (({v} & TDX_SEAMCALL_STATUS_MASK) == {w})
	{_errno_return(site)}""")
            add("tdx-status-never-returned", "wrong-busy-helper", False, f"""
{v} = {site.call};
if (IS_{w}({v}))
	{_errno_return(site)}""")
            add("tdx-status-never-returned", "wrong-busy-case", False, f"""
{v} = {site.call};
switch ({v} & TDX_SEAMCALL_STATUS_MASK) {{
case {w}:
	{_errno_return(site)}
default:
	break;
}}""")
        if sure:
            add("tdx-retry-statuses", "all-returned (near miss)", True, f"""
do {{
	{v} = {site.call};
}} while ({" || ".join(f"{v} == {c}" for c in sure)});""")
        for c in busy:
            add("tdx-status-never-returned", "own-busy (near miss)", True, f"""
{v} = {site.call};
if (({v} & TDX_SEAMCALL_STATUS_MASK) == {c})
	{_errno_return(site)}""")
        if len(sure) > 1:
            for dropped in sure:
                kept = [c for c in sure if c != dropped]
                add("tdx-retry-statuses", "drop-from-retry", False, f"""
do {{
	{v} = {site.call};
}} while ({" || ".join(f"{v} == {c}" for c in kept)});""")
        # A leaf the module gates behind TDX_FEATURES0, issued from a new
        # function above this one.
        if site.kind == "guest" and site.function_start not in seen_functions:
            seen_functions.add(site.function_start)
            for op, good, body in _GATED_FUNCTIONS:
                helper = body.replace("@", str(n)).strip("\n") + "\n\n"
                at = site.function_start
                out.append(Mutant("tdx-feature-unchecked", op, path, text[:at] + helper + text[at:], good))
    return out


_GATED_FUNCTIONS = (
    ("unchecked-call", False, """
static int mut_verify_report_@(u8 *reportmac)
{
	struct tdx_module_args args = { .rcx = virt_to_phys(reportmac) };

	if (__tdcall(TDG_MR_VERIFYREPORT, &args))
		return -EIO;
	return 0;
}"""),
    ("unchecked-through-wrapper", False, """
static u64 tdg_mr_verifyreport_@(u64 reportmac_pa)
{
	struct tdx_module_args args = { .rcx = reportmac_pa };

	return __tdcall(TDG_MR_VERIFYREPORT, &args);
}

static int mut_verify_peer_@(u8 *reportmac)
{
	return tdg_mr_verifyreport_@(virt_to_phys(reportmac)) ? -EIO : 0;
}"""),
    ("feature-checked (near miss)", True, """
static int mut_verify_report_@(u8 *reportmac)
{
	struct tdx_module_args args = { .rcx = virt_to_phys(reportmac) };

	if (!(tdx_features0 & TDX_FEATURES0_LOCAL_ATTESTATION))
		return -EOPNOTSUPP;
	if (__tdcall(TDG_MR_VERIFYREPORT, &args))
		return -EIO;
	return 0;
}"""),
    ("explained (near miss)", True, """
static int mut_verify_report_@(u8 *reportmac)
{
	struct tdx_module_args args = { .rcx = virt_to_phys(reportmac) };

	/*
	 * The enumeration of this leaf is not checked: a module without it
	 * fails the call, which ends up as -EIO like any other failure.
	 */
	if (__tdcall(TDG_MR_VERIFYREPORT, &args))
		return -EIO;
	return 0;
}"""),
)


def _abi_define_mutants(path: str, text: str) -> list[Mutant]:
    from tdxbot.facts.abi import module_abi
    abi = module_abi()
    out = []
    region = _region(text)

    def replace(node, new: str) -> str:
        return text[:node.start_byte] + new + text[node.end_byte:]

    leaves = [(node, name, int(value)) for node, name, value in region.define_nodes()
              if re.fullmatch(r"TD[HG]_\w+", name) and re.fullmatch(r"\d+", value)
              and abi.leaf(name) is not None]
    for i, (node, name, number) in enumerate(leaves):
        source = region.text(node)
        head = source[:source.rindex(str(number))]
        out.append(Mutant("tdx-abi-mismatch", "leaf-number-off-by-one", path,
                          replace(node, f"{head}{number + 1}"), False))
        others = [n for _, o, n in leaves if n != number and o[:3] == name[:3]]
        if others:
            out.append(Mutant("tdx-abi-mismatch", "leaf-number-of-another", path,
                              replace(node, f"{head}{others[i % len(others)]}"), False))
    statuses = []
    for node, name, value in region.define_nodes():
        m = re.fullmatch(r"(0x[0-9A-Fa-f]+)(ULL)?", value)
        status = abi.status(name)
        if m and status is not None and int(m.group(1), 16) == status.value:
            statuses.append((node, name, value))
            source = region.text(node)
            head = source[:source.rindex(value)]
            for op, bit in (("status-detail-bit", 32), ("status-class-bit", 40), ("status-error-bit", 63)):
                out.append(Mutant("tdx-abi-mismatch", op, path,
                                  replace(node, f"{head}0x{status.value ^ (1 << bit):016X}ULL"), False))
    # New status defines next to the file's own, as a series adding them
    # writes them: each with another status's value, with a flipped
    # detail bit, or (near miss) right.
    if statuses:
        known = [abi.status(name) for name in _ABI_STATUSES]
        known = [s for s in known if s is not None]
        at = statuses[-1][0].end_byte
        for i, status in enumerate(known):
            other = known[(i + 1) % len(known)]
            for op, value, good in (("status-value-of-another", other.value, False),
                                    ("status-new-detail-bit", status.value ^ (1 << 33), False),
                                    ("status-right (near miss)", status.value, True)):
                line = f"\n#define {status.name}\t0x{value:016X}ULL"
                out.append(Mutant("tdx-abi-mismatch", op, path, text[:at] + line + text[at:], good))
    return out


def abi_mutants(path: str, text: str) -> list[Mutant]:
    """Every ABI operator at every site of one file."""
    return _abi_site_mutants(path, text) + _abi_define_mutants(path, text)


# ---- presenting and judging ---------------------------------------------------------


def mutant_patch(path: str, before: str, after: str, whole: bool, changelog: str = "Change the code."):
    old_lines = before.split("\n")
    diff = list(difflib.unified_diff(old_lines, after.split("\n"), lineterm="", n=3))
    if not diff:
        return None
    diff = [_with_section(ln, old_lines) for ln in diff]
    lines = [f"diff --git a/{path} b/{path}", "index 1111111..2222222 100644",
             f"--- a/{path}", f"+++ b/{path}"] + diff[2:]
    mail = ("From: Mutant <mutant@example.org>\nSubject: [PATCH] x86/virt/tdx: Change "
            f"{os.path.basename(path)}\nMessage-ID: <mutant@bench>\n\n{changelog}\n\n"
            "Signed-off-by: Mutant <mutant@example.org>\n---\n" + "\n".join(lines) + "\n")
    msg = BytesParser(policy=compat32).parsebytes(mail.encode("utf-8", "surrogateescape"))
    patch = patch_from_message(msg, path)
    if whole:
        f = patch.files[0]
        patch = patch._replace(files=(f._replace(post_image_text=after),))
    return patch


def _with_section(line: str, old_lines: list[str]) -> str:
    """A hunk header with git's default function context: the last line
    above the hunk that starts with a letter, '_' or '$'."""
    m = re.match(r"@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@$", line)
    if not m:
        return line
    for text in reversed(old_lines[:max(int(m.group(1)) - 1, 0)]):
        if re.match(r"[A-Za-z_$]", text):
            return f"{line} {text[:80].rstrip()}"
    return line


def findings(patch, rule: str) -> list:
    series = Series(title=patch.title, version=1, total=1, cover=None, patches=(patch,))
    return [f for f in review_series(series, Options(select=frozenset({rule}))).findings
            if f.rule == rule and f.severity != "info"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", help="an unpacked kernel tree (default: fetch linux-source-6.12)")
    ap.add_argument("--show", metavar="RULE", help="print the mutants RULE misses or wrongly flags")
    ap.add_argument("--rule", action="append", metavar="RULE",
                    help="measure only this rule (may be given more than once)")
    args = ap.parse_args()
    tree = args.tree or fetch_tree()
    known = {r.id for r in all_rules()}
    if args.rule:
        known &= set(args.rule)
    files = [rel for rel in tdx_files(tree)]
    texts = {rel: open(os.path.join(tree, rel), encoding="utf-8", errors="surrogateescape").read()
             for rel in files}
    mutants = []
    for rel, text in texts.items():
        mutants += site_mutants(rel, text) + existing_mutants(rel, text) + define_mutants(rel, text) \
            + dropped_bound_mutants(rel, text)
        mutants += abi_mutants(rel, text)
    score: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # caught hunk, caught whole, n
    wrong: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    shown = 0
    for m in mutants:
        if m.rule not in known:
            continue
        counts = wrong if m.good else score
        entry = counts[(m.rule, m.operator)]
        entry[2] += 1
        for slot, whole in ((0, False), (1, True)):
            patch = mutant_patch(m.path, m.base or texts[m.path], m.text, whole, m.changelog)
            hit = patch is not None and bool(findings(patch, m.rule))
            entry[slot] += hit
            if args.show == m.rule and hit == m.good and shown < 12:
                shown += 1
                what = "false alarm" if m.good else "miss"
                print(f"--- {what}: {m.rule} / {m.operator} ({'whole file' if whole else 'hunks'})")
                if m.changelog != "Change the code.":
                    print("changelog: " + m.changelog)
                print("\n".join(ln for ln in difflib.unified_diff((m.base or texts[m.path]).split("\n"),
                                                                  m.text.split("\n"), lineterm="", n=2))[:1500])
    print(f"{len(mutants)} mutants of {len(files)} files ({sum(t.count(chr(10)) for t in texts.values())} "
          "lines) of real TDX code\n")
    print(f"{'rule / operator':<58} {'n':>4} {'hunks':>7} {'whole':>7}")
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (rule, op), (hunk, whole, n) in sorted(score.items()):
        print(f"{rule + ' / ' + op:<58} {n:>4} {hunk / n:>7.0%} {whole / n:>7.0%}")
        for i, v in enumerate((hunk, whole, n)):
            per_rule[rule][i] += v
    print(f"\n{'recall per rule':<58} {'n':>4} {'hunks':>7} {'whole':>7}")
    for rule, (hunk, whole, n) in sorted(per_rule.items()):
        print(f"{rule:<58} {n:>4} {hunk / n:>7.0%} {whole / n:>7.0%}")
    print(f"\n{'near misses (must stay quiet)':<58} {'n':>4} {'alarms':>7} {'whole':>7}")
    for (rule, op), (hunk, whole, n) in sorted(wrong.items()):
        print(f"{rule + ' / ' + op:<58} {n:>4} {hunk:>7} {whole:>7}")
    # The unmutated files, whole.
    alarms, lines = 0, 0
    for rel, text in texts.items():
        patch, n = whole_file_patch(rel, text)
        lines += n
        for rule in TDX_RULES + ABI_RULES:
            if rule in known:
                found = findings(patch, rule)
                alarms += len(found)
                for f in found:
                    print(f"  unmutated: {f.path}:{f.line}: [{f.rule}] {f.message}")
    print(f"\nunmutated files: {alarms} findings of the TDX rules in {lines} lines "
          f"({alarms * 1000 / max(lines, 1):.2f} per 1,000 lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
