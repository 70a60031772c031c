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

from ..lint.kit import HOST, TDX, Case, Violation, ancestor, call_name, lazy_re, unwrap

ID = "tdx-error-ignored"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("ignore", "silent", "error", "breadcrumb", "print", "check", "fail")

_WHY = lazy_re(r"ignor|don'?t care|do not care|can'?t fail|cannot fail|nothing (?:to do|we can)|"
               r"best[- ]effort|harmless|not fatal|no need|expected to fail|deliberate|"
               r"never returns?|should not return", re.I)


class _Dropped(Violation):
    comment = ("Failures are dropped silently here. Please print them (skipping the "
               "SW-defined #GP/#UD/VMFAILINVALID codes if those are expected) so that there "
               "is a breadcrumb when this goes wrong, or say in a comment why they cannot matter.")


class Discarded(_Dropped):
    message = "result of {call}() is discarded"


class RetryStatusesOnly(_Dropped):
    message = "only the retry statuses of {call}() are looked at; other failures are dropped"


class NeverChecked(_Dropped):
    message = "status of {call}() in '{var}' is never checked"


class CheckedForRetryOnly(_Dropped):
    message = "status of {call}() in '{var}' is only checked for a retry"


class CheckedForCodesOnly(_Dropped):
    message = "status of {call}() in '{var}' is only checked for {codes}; other failures are dropped"


def check_file(file):
    for code in file.code:
        if not code.tdx.makes_seamcalls:
            continue  # every finding is about a SEAMCALL's status
        for stmt in code.c.find("expression_statement"):
            if (call := _discarded(code, stmt)) is not None:
                code.report(stmt, Discarded(call=call_name(call)))
        for loop in code.loops.all:
            if (call := _called_in_condition(code, loop)) is not None:
                code.report(loop.condition, RetryStatusesOnly(call=call_name(call)))
        for a in code.c.assignments():
            if (violation := _unchecked(code, a)) is not None:
                code.report(a.node, violation)


def _explained(code, node) -> bool:
    return any(_WHY.search(c.prose()) for c in code.c.comments_near(node.start_point[0], above=2))


def _host_call(code, node):
    call = unwrap(node)
    if call is not None and call.type == "call_expression" and code.tdx.kind(call) == HOST:
        return call
    return None


def _discarded(code, stmt):
    """The SEAMCALL a statement makes and drops, unless a comment says why."""
    call = _host_call(code, stmt.named_children[0]) if stmt.named_children else None
    if call is not None and not _explained(code, stmt) and not _explained(code, stmt.parent or stmt):
        return call
    return None


def _called_in_condition(code, loop):
    """The first SEAMCALL made in a loop's condition, unless a comment says
    why its other statuses do not matter."""
    tdx = code.tdx
    calls = [c for c in tdx.issuing_calls_within(loop.condition.start_byte, loop.condition.end_byte)
             if tdx.kind(c) == HOST] if loop.condition is not None else []
    return calls[0] if calls and not _explained(code, loop.node) else None


def _unchecked(code, a) -> Violation | None:
    """What is wrong with how a SEAMCALL status stored in a variable is read
    afterwards, if anything."""
    node, target = a.node, a.target
    if a.call is None or code.tdx.kind(a.call) != HOST or target is None or target.type != "identifier":
        return None
    # Where the variable can be read: the block that declares it, else its function.
    scope = ancestor(node, ("compound_statement",)) if a.is_init else code.c.function_at(node.start_byte)
    if not _whole(code, scope) or _explained(code, node):
        return None
    var = code.c.text(target)
    uses = _uses(code, scope, var, node.end_byte)
    if "general" in uses:
        return None
    if not uses:
        return NeverChecked(call=call_name(a.call), var=var)
    if uses == {"retry"}:
        return CheckedForRetryOnly(call=call_name(a.call), var=var)
    return CheckedForCodesOnly(call=call_name(a.call), var=var,
                               codes=", ".join(sorted(c for c in uses if c != "retry")))


def _whole(code, scope) -> bool:
    """Is all of scope in sight (so every read of a variable in it is)?"""
    if scope is not None and scope.type == "function_definition":
        return code.c.whole_function(scope)
    return scope is not None and code.c.line_no(scope.start_point[0]) is not None \
        and code.c.line_no(scope.end_point[0]) is not None and not scope.has_error


# A status read more often than this is taken to be checked: the reads of a
# real function are far fewer, and a patch made of nothing else must not cost
# the square of its size.
_MAX_READS = 64


def _uses(code, scope, name: str, after: int) -> set[str]:
    """How a status variable is read after it is set: 'general' (returned,
    passed on, tested for any failure), a code it is compared with, or
    'retry' (only deciding whether a loop around the assignment goes round
    again)."""
    uses: set[str] = set()
    for n, ident in enumerate(code.c.reads(name, after, scope.end_byte)):
        test, loop = code.tdx.test_of(ident), code.loops.decided_by(ident)
        if n >= _MAX_READS or test is None or test.code == "TDX_SUCCESS" or \
                test.op not in ("==", "!=", "helper", "case"):
            uses.add("general")
            break
        retry = loop is not None and loop.span[0] < after < loop.span[1]
        uses.add("retry" if retry else test.code)
    return uses


INVALID = [
    Case(code="""
        void tdx_sys_disable(void)
        {
        	struct tdx_module_args args = {};

        	while (seamcall(TDH_SYS_DISABLE, &args) == TDX_INTERRUPTED_RESUMABLE)
        		;
        }
        """, at=('5:8: while (seamcall(TDH_SYS_DISABLE',), why="TDH.SYS.DISABLE v1"),
    Case(code="""
        	seamcall(TDH_SYS_LP_SHUTDOWN, &args);
        	return 0;
        """, at=('1:1: seamcall(TDH_SYS_LP_SHUTDOWN',), why="bare statement"),
    Case(code="""
        static void tdx_quiesce(void)
        {
        	struct tdx_module_args args = {};
        	u64 ret;

        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        }
        """, at=('7:3: ret = seamcall(TDH_SYS_SHUTDOWN',), why="checked only for the retry code"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="\t(void)tdh_vp_flush(&tdx->vp);",
         at=('1:1: (void)tdh_vp_flush',), why="a (void) cast is not a reason"),
    Case(code="""
        static void tdx_flush(void)
        {
        	u64 err;

        	err = tdh_phymem_cache_wb(false);
        }
        """, at=('5:2: err = tdh_phymem_cache_wb',), why="stored, never read"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        static int tdx_reclaim_one(struct page *page)
        {
        	u64 rcx, rdx, r8, err;

        	err = tdh_phymem_page_reclaim(page, &rcx, &rdx, &r8);
        	if (IS_TDX_OPERAND_BUSY(err))
        		return -EBUSY;
        	return 0;
        }
        """, at=('5:2: err = tdh_phymem_page_reclaim',), why="a one-code helper is the only check"),
    Case(before="""
        static u64 tdx_lp_shutdown(void)
        {
        	struct tdx_module_args args = {};

        	return seamcall(TDH_SYS_LP_SHUTDOWN, &args);
        }
        """, code="""
        static void tdx_offline(void)
        {
        	u64 err;

        	err = tdx_lp_shutdown();
        }
        """, at=('11:2: err = tdx_lp_shutdown();',), why="a wrapper's status, never read"),
    Case(code="""
        static void tdx_disable_all(void)
        {
        	struct tdx_module_args args = {};
        	u64 ret;

        	for (;;) {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        		if (ret != TDX_INTERRUPTED_RESUMABLE)
        			break;
        	}
        }
        """, at=('7:3: ret = seamcall(TDH_SYS_DISABLE',), why="left on the first other status, never looked at"),
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
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        static int tdx_reclaim_one(struct page *page)
        {
        	u64 rcx, rdx, r8, err;

        	err = tdh_phymem_page_reclaim(page, &rcx, &rdx, &r8);
        	if (IS_TDX_OPERAND_BUSY(err))
        		return -EBUSY;
        	if (KVM_BUG_ON(err, kvm))
        		return -EIO;
        	return 0;
        }
        """, why="the busy test is followed by a check of every failure"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        static void tdx_vcpu_enter(struct vcpu_tdx *tdx)
        {
        	tdx->vp_enter_ret = tdh_vp_enter(&tdx->vp, &tdx->vp_enter_args);
        }
        """, why="kept in a struct field: read elsewhere"),
    Case(code="""
        static bool tdx_lp_ready(void)
        {
        	struct tdx_module_args args = {};
        	u64 ret;

        	ret = seamcall(TDH_SYS_LP_INIT, &args);
        	return ret == TDX_SUCCESS;
        }
        """, why="success tested: every failure counts"),
]
