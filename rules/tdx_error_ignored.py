"""A SEAMCALL's failure is dropped without a word.

What it flags, on added lines of TDX code, for host SEAMCALLs (seamcall*(),
__seamcall*(), sc_retry(), tdh_*()):
- a call used as a bare statement or cast to (void);
- a loop that calls one in its condition (`while (seamcall(...) == X) ;`),
  so the final status is thrown away;
- a status stored in a variable that the function never reads again, or
  reads only to decide whether to retry.
It stays quiet when a comment on or just above the line says why the
result does not matter, for seamcall_prerr*(), which prints, and for guest
TDCALLs and hypercalls, whose failures the guest treats as fatal elsewhere.

Why: a failure nobody reports is found much later, somewhere else. Kiryl on
TDH.SYS.DISABLE v1: "Silently ignore any other errors? ... It can be useful
to leave a breadcrumb."

Fires on:
    while (seamcall(TDH_SYS_DISABLE, &args) == TDX_INTERRUPTED_RESUMABLE)
        ;
Must not fire on the v2 loop followed by
`if (ret && (ret & TDX_SW_ERROR) != TDX_SW_ERROR) pr_err(...)`.
"""
from __future__ import annotations

import re

from ..csyntax import LOOP_TYPES, ancestor, call_name, iter_nodes
from ..lazyre import lazy_re
from ..areas import TDX
from ..rulekit import Case, Hit
from ..tdxsem import enclosing_function, is_host_seamcall, loops_in

ID = "tdx-error-ignored"
SEVERITY = "warning"
PATHS = TDX

_WHY = lazy_re(r"ignor|don'?t care|do not care|can'?t fail|cannot fail|nothing (?:to do|we can)|"
                  r"best[- ]effort|harmless|not fatal|no need|expected to fail|deliberate|"
                  r"never returns?|should not return", re.I)
_COMMENT = ("Failures are dropped silently here. Please print them (skipping the "
            "SW-defined #GP/#UD/VMFAILINVALID codes if those are expected) so that there "
            "is a breadcrumb when this goes wrong, or say in a comment why they cannot matter.")


def _explained(region, node) -> bool:
    return any(_WHY.search(c.prose()) for c in region.comments_near(node.start_point[0], above=2))


def _unwrap(node):
    while node is not None and node.type in ("parenthesized_expression", "cast_expression"):
        node = node.child_by_field_name("value") if node.type == "cast_expression" else \
            (node.named_children[0] if node.named_children else None)
    return node


def _function_visible(region, func) -> bool:
    return func is not None and region.line_no(func.start_point[0]) is not None \
        and region.line_no(func.end_point[0]) is not None and not func.has_error


def _reads_after(region, scope, name: str, after_byte: int, skip=()) -> bool:
    """Is name read inside scope after after_byte, outside the skip nodes?"""
    for ident in iter_nodes(scope, {"identifier"}):
        if ident.start_byte < after_byte or region.text(ident) != name:
            continue
        if any(n.start_byte <= ident.start_byte < n.end_byte for n in skip):
            continue
        parent = ident.parent
        if parent is not None and parent.type == "assignment_expression" \
                and parent.child_by_field_name("left") == ident:
            continue
        return True
    return False


def _retry_tests(region, loop) -> list:
    """The nodes of a loop that only decide whether to go round again."""
    nodes = [n for n in (loop.child_by_field_name("condition"),) if n is not None]
    for stmt in iter_nodes(loop, {"if_statement"}):
        cons = stmt.child_by_field_name("consequence")
        test = stmt.child_by_field_name("condition")
        if cons is not None and test is not None and region.text(cons).strip().rstrip(";").strip("{} \n\t;") == "continue":
            nodes.append(test)
    return nodes


def check_file(source, patch):
    for region in source.regions:
        for stmt in region.find("expression_statement"):
            expr = stmt.named_children[0] if stmt.named_children else None
            call = _unwrap(expr)
            if call is None or call.type != "call_expression" or not is_host_seamcall(call_name(call)):
                continue
            line = region.line_no(stmt.start_point[0])
            if region.is_added(line) and not _explained(region, stmt) \
                    and not _explained(region, stmt.parent or stmt):
                yield Hit(f"result of {call_name(call)}() is discarded", line=line, comment=_COMMENT)
        for loop in loops_in(region):
            cond = loop.child_by_field_name("condition")
            if cond is None:
                continue
            calls = [c for c in iter_nodes(cond, {"call_expression"}) if is_host_seamcall(call_name(c))]
            line = region.line_no(cond.start_point[0])
            if calls and region.is_added(line) and not _explained(region, loop):
                yield Hit(f"only the retry statuses of {call_name(calls[0])}() are looked at; "
                          "other failures are dropped", line=line, comment=_COMMENT)
        for assign in region.find("assignment_expression", "init_declarator"):
            value = assign.child_by_field_name("right" if assign.type == "assignment_expression" else "value")
            target = assign.child_by_field_name("left" if assign.type == "assignment_expression" else "declarator")
            call = _unwrap(value)
            if call is None or target is None or target.type != "identifier" \
                    or call.type != "call_expression" or not is_host_seamcall(call_name(call)):
                continue
            func = enclosing_function(assign)
            if not _function_visible(region, func):
                continue
            line = region.line_no(assign.start_point[0])
            if not region.is_added(line) or _explained(region, assign):
                continue
            name = region.text(target)
            loop = ancestor(assign, LOOP_TYPES, stop=func)
            retry_only = _retry_tests(region, loop) if loop is not None else []
            if _reads_after(region, func, name, assign.end_byte, skip=retry_only):
                continue
            what = "only checked for a retry" if retry_only and \
                _reads_after(region, func, name, assign.end_byte) else "never checked"
            yield Hit(f"status of {call_name(call)}() in '{name}' is {what}", line=line,
                      comment=_COMMENT)


INVALID = [
    Case(code="""
        void tdx_sys_disable(void)
        {
        	struct tdx_module_args args = {};

        	while (seamcall(TDH_SYS_DISABLE, &args) == TDX_INTERRUPTED_RESUMABLE)
        		;
        }
        """, at=("while (seamcall(TDH_SYS_DISABLE",), why="TDH.SYS.DISABLE v1"),
    Case(code="""
        	seamcall(TDH_SYS_LP_SHUTDOWN, &args);
        	return 0;
        """, at=("seamcall(TDH_SYS_LP_SHUTDOWN",), why="bare statement"),
    Case(code="""
        static void tdx_quiesce(void)
        {
        	struct tdx_module_args args = {};
        	u64 ret;

        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        }
        """, at=("ret = seamcall(TDH_SYS_SHUTDOWN",), why="checked only for the retry code"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="\t(void)tdh_vp_flush(&tdx->vp);",
         at=("(void)tdh_vp_flush",), why="a (void) cast is not a reason"),
    Case(code="""
        static void tdx_flush(void)
        {
        	u64 err;

        	err = tdh_phymem_cache_wb(false);
        }
        """, at=("err = tdh_phymem_cache_wb",), why="stored, never read"),
]

VALID = [
    Case(code="""
        void tdx_sys_disable(void)
        {
        	struct tdx_module_args args = {};
        	u64 ret;

        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);

        	if (ret && (ret & TDX_SW_ERROR) != TDX_SW_ERROR)
        		pr_err("TDH.SYS.DISABLE failed: 0x%016llx\\n", ret);
        }
        """, why="v2 prints other errors"),
    Case(code="\tret = seamcall_prerr(TDH_SYS_LP_INIT, &args);", why="prerr prints"),
    Case(code="""
        	/* Best effort: the module may already be gone, nothing to do then. */
        	seamcall(TDH_SYS_LP_SHUTDOWN, &args);
        """, why="a comment says why"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        	/*
        	 * This hypercall should never return and it is not safe
        	 * to keep the guest running. Call it forever if it
        	 * happens to return.
        	 */
        	while (1)
        		__tdx_hypercall(&args);
        """, why="tdx_panic(): the comment says it never returns"),
    Case(code="""
        	err = tdh_mem_track(&kvm_tdx->td);
        	if (TDX_BUG_ON(err, TDH_MEM_TRACK, kvm))
        		return;
        """, why="checked (function not fully visible is no reason to fire)"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        static bool tdx_map_gpa(phys_addr_t start, phys_addr_t end)
        {
        	while (retry_count < max_retries_per_page) {
        		u64 ret = __tdx_hypercall(&args);

        		if (ret != TDVMCALL_STATUS_RETRY)
        			return !ret;
        		retry_count++;
        	}
        	return false;
        }
        """, why="guest hypercall, and its result is used"),
    Case(code="""
        static int tdx_shutdown(void)
        {
        	u64 ret;

        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        		if (ret == TDX_INTERRUPTED_RESUMABLE)
        			continue;
        		if (ret)
        			return -EIO;
        	} while (0);
        	return 0;
        }
        """, why="read inside the loop beyond the retry test"),
]
