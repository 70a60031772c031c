"""A TDX call's failure is dropped without a word.

What it flags, on added lines of TDX code:
- for host SEAMCALLs (seamcall*(), __seamcall*(), sc_retry(), tdh_*()):
  - a call used as a bare statement or cast to (void);
  - a loop that calls one in its condition (`while (seamcall(...) == X) ;`)
    and so throws the final status away; one that keeps it
    (`while ((err = seamcall(...)) == X) ;`) is judged by how `err` is read
    after the loop;
  - a status stored in a variable that the function never reads again, or
    reads only to decide whether to retry or for one code;
- for guest TDCALLs and TDVMCALLs (__tdcall*(), tdg_*(), __tdx_hypercall(),
  tdvmcall_*() and the wrappers the patch shows), where many results are
  rightly not looked at (the guest treats some failures as fatal in the
  wrapper, and some calls cannot fail in a way it could act on), only what
  says the result matters:
  - a status stored in a variable that is never read;
  - a result dropped (a bare statement or a (void) cast) where the callee
    is declared __must_check, or where the other calls of the same function
    in the file check its result and none drops it.
It stays quiet when a comment on or just above the line says why the
result does not matter, and for seamcall_prerr*(), which prints.

Why: a failure nobody reports is found much later, somewhere else. Kiryl on
TDH.SYS.DISABLE v1: "Silently ignore any other errors? ... It can be useful
to leave a breadcrumb." On the guest side, a patch that turns a checked
`if (__tdx_hypercall(&args))` into a bare call loses the failure its
siblings still catch.

Fires on:
    while (seamcall(TDH_SYS_DISABLE, &args) == TDX_INTERRUPTED_RESUMABLE)
        ;
Must not fire on the v2 loop followed by
`if (ret && (ret & TDX_SW_ERROR) != TDX_SW_ERROR) pr_err(...)`, nor on
`while ((err = seamcall(...)) == TDX_INTERRUPTED_RESUMABLE) ;` when `err`
is checked after the loop, nor on a guest `tdcall()` whose siblings drop
its (void) result as well.
"""
from __future__ import annotations

import re

from ..lint.kit import GUEST, HOST, HYPERCALL, TDX, Case, Violation, ancestor, call_name, lazy_re, unwrap

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


class _GuestDropped(Violation):
    comment = ("{call}() can fail, and {why}. Please check its result here too, or say in a "
               "comment why a failure cannot matter.")


class GuestResultDropped(_GuestDropped):
    message = "result of {call}() is dropped, but {why}"


class GuestStatusNeverRead(_GuestDropped):
    message = "status of {call}() in '{var}' is never read"
    why = "its status is stored but never looked at"


_GUEST_KINDS = (GUEST, HYPERCALL)


def check_file(file):
    siblings = None  # per guest callee: (calls that check the result, calls that drop it)
    for code in file.code:
        kinds = {code.tdx.kind(c.node) for c in code.c.calls()} if code.c.has_added else set()
        host, guest = HOST in kinds, bool(kinds & set(_GUEST_KINDS))
        if not host and not guest:
            continue  # every finding is about a TDX call's status
        for stmt in code.c.find("expression_statement"):
            call = _dropped_call(code, stmt)
            if call is None:
                continue
            if code.tdx.kind(call) == HOST:
                code.report(stmt, Discarded(call=call_name(call)))
            else:
                siblings = siblings if siblings is not None else _guest_siblings(file)
                if why := _guest_reason(file, call_name(call), siblings):
                    code.report(stmt, GuestResultDropped(call=call_name(call), why=why))
        in_conditions = set()
        for loop in code.loops.all if host else ():
            if loop.condition is None:
                continue
            for a in code.c.assignments(within=loop.condition):
                in_conditions.add(a.node.start_byte)
            if (call := _called_in_condition(code, loop)) is not None:
                code.report(loop.condition, RetryStatusesOnly(call=call_name(call)))
        for a in code.c.assignments():
            if a.node.start_byte in in_conditions:
                continue  # judged with its loop
            if (violation := _unchecked(code, a)) is not None:
                code.report(a.node, violation)


def _explained(code, node) -> bool:
    return any(_WHY.search(c.prose()) for c in code.c.comments_near(node.start_point[0], above=2))


def _tdx_call(code, node, kinds=(HOST,)):
    call = unwrap(node)
    if call is not None and call.type == "call_expression" and code.tdx.kind(call) in kinds:
        return call
    return None


def _dropped_call(code, stmt):
    """The TDX call a statement makes and drops, unless a comment says why."""
    call = _tdx_call(code, stmt.named_children[0], (HOST,) + _GUEST_KINDS) if stmt.named_children else None
    if call is not None and not _explained(code, stmt) and not _explained(code, stmt.parent or stmt):
        return call
    return None


def _called_in_condition(code, loop):
    """The first SEAMCALL made in a loop's condition whose final status is
    lost, unless a comment says why its other statuses do not matter. A
    status the condition keeps in a variable is lost only when nothing reads
    that variable after the loop (for more than another retry code)."""
    tdx = code.tdx
    calls = [c for c in tdx.issuing_calls_within(loop.condition.start_byte, loop.condition.end_byte)
             if tdx.kind(c) == HOST]
    if not calls or _explained(code, loop.node):
        return None
    kept = _kept_in(code, calls[0])
    if kept is not None:
        var, scope = kept
        if not _whole(code, scope):
            return None  # its reads may lie out of sight
        uses = _uses(code, scope, var, loop.span[1])
        if "general" in uses or (uses - {"retry"}):
            return None  # read after the loop: checked there (or judged as a one-code check)
    return calls[0]


def _kept_in(code, call):
    """(variable, its scope) when the call's value is assigned to a local
    (`(err = seamcall(...))`), else None."""
    node = call
    while node.parent is not None and node.parent.type in ("parenthesized_expression", "cast_expression"):
        node = node.parent
    parent = node.parent
    if parent is None or parent.type != "assignment_expression" or parent.child_by_field_name("right") != node:
        return None
    target = parent.child_by_field_name("left")
    if target is None or target.type != "identifier":
        return None
    return code.c.text(target), code.c.function_at(parent.start_byte)


def _unchecked(code, a) -> Violation | None:
    """What is wrong with how a TDX status stored in a variable is read
    afterwards, if anything."""
    node, target = a.node, a.target
    if a.call is None or target is None or target.type != "identifier":
        return None
    kind = code.tdx.kind(a.call)
    if kind != HOST and kind not in _GUEST_KINDS:
        return None
    # Where the variable can be read: the block that declares it, else its function.
    scope = ancestor(node, ("compound_statement",)) if a.is_init else code.c.function_at(node.start_byte)
    if not _whole(code, scope) or _explained(code, node):
        return None
    var = code.c.text(target)
    if kind != HOST:
        reads = next(iter(code.c.reads(var, node.end_byte, scope.end_byte)), None)
        return GuestStatusNeverRead(call=call_name(a.call), var=var) if reads is None else None
    uses = _uses(code, scope, var, node.end_byte)
    if "general" in uses:
        return None
    if not uses:
        return NeverChecked(call=call_name(a.call), var=var)
    if uses == {"retry"}:
        return CheckedForRetryOnly(call=call_name(a.call), var=var)
    return CheckedForCodesOnly(call=call_name(a.call), var=var,
                               codes=", ".join(sorted(c for c in uses if c != "retry")))


def _guest_reason(file, name: str, siblings: dict) -> str | None:
    """Why a dropped guest call's result matters, if anything says so: the
    callee is __must_check, or the other calls of it in the file check it
    and none drops it (this one counted among the drops)."""
    if any(code.c.must_check(name) for f in [file] + file.others() for code in f.code):
        return "it is declared __must_check"
    checked, dropped = siblings.get(name, (0, 0))
    if checked and dropped <= 1:
        return ("the other call of it in this file checks it" if checked == 1
                else f"the other {checked} calls of it in this file check it")
    return None


def _guest_siblings(file) -> dict:
    """name -> (calls that use the result, calls that drop it silently), for
    the guest TDX calls of the file (every region in sight)."""
    out: dict[str, list[int]] = {}
    for code in file.code:
        for c in code.c.calls():
            if code.tdx.kind(c.node) not in _GUEST_KINDS:
                continue
            counts = out.setdefault(c.name, [0, 0])
            node = c.node
            while node.parent is not None and node.parent.type in ("parenthesized_expression", "cast_expression"):
                node = node.parent
            parent = node.parent
            if parent is not None and parent.type == "expression_statement":
                if not _explained(code, parent):
                    counts[1] += 1
            elif not _stored_unread(code, node):
                counts[0] += 1
    return {name: (checked, dropped) for name, (checked, dropped) in out.items()}


def _stored_unread(code, node) -> bool:
    """Is the call's value stored in a local that nothing reads later?"""
    parent = node.parent
    if parent is None or parent.type not in ("assignment_expression", "init_declarator"):
        return False
    target = parent.child_by_field_name("left" if parent.type == "assignment_expression" else "declarator")
    func = code.c.function_at(parent.start_byte)
    if target is None or target.type != "identifier" or func is None:
        return False
    return next(iter(code.c.reads(code.c.text(target), parent.end_byte, func.end_byte)), None) is None


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
    Case(code="""
        static void tdx_disable(void)
        {
        	struct tdx_module_args args = {};
        	u64 err;

        	while ((err = seamcall(TDH_SYS_DISABLE, &args)) == TDX_INTERRUPTED_RESUMABLE)
        		;
        }
        """, at=('6:8: while ((err = seamcall',), why="kept in err, but nothing reads err after the loop"),
    Case(path="arch/x86/coco/tdx/tdx.c", before="""
        static bool read_msr(struct pt_regs *regs, struct ve_info *ve)
        {
        	struct tdx_module_args args = { .r10 = TDX_HYPERCALL_STANDARD };

        	if (__tdx_hypercall(&args))
        		return false;
        	return true;
        }
        """, code="""
        static void tdx_write_msr_quiet(u32 msr, u64 val)
        {
        	struct tdx_module_args args = { .r10 = TDX_HYPERCALL_STANDARD, .r12 = msr, .r13 = val };

        	__tdx_hypercall(&args);
        }
        """, at=('13:2: __tdx_hypercall(&args);',), why="guest: the sibling in the same file checks it"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        static void tdx_disable_notify(void)
        {
        	tdg_vm_wr(TDCS_NOTIFY_ENABLES, 0, -1ULL);
        }
        """, extra_files=(("arch/x86/include/asm/shared/tdx.h",
                           "u64 __must_check tdg_vm_wr(u64 field, u64 value, u64 mask);"),),
         at=('3:2: tdg_vm_wr(TDCS_NOTIFY_ENABLES',), why="guest: the callee is __must_check"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        static void tdx_report(struct tdx_module_args *args)
        {
        	u64 ret;

        	ret = __tdcall(TDG_MR_REPORT, args);
        }
        """, at=('5:2: ret = __tdcall(TDG_MR_REPORT',), why="guest: the status is stored and never read"),
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
    Case(code="""
        static int tdx_disable(void)
        {
        	struct tdx_module_args args = {};
        	u64 err;

        	while ((err = seamcall(TDH_SYS_DISABLE, &args)) == TDX_INTERRUPTED_RESUMABLE)
        		;
        	if (err)
        		return -EIO;
        	return 0;
        }
        """, why="the status kept in the loop condition is checked after the loop"),
    Case(path="arch/x86/coco/tdx/tdx.c", before="""
        static void tdx_halt_hint(void)
        {
        	struct tdx_module_args args = { .r10 = TDX_HYPERCALL_STANDARD };

        	__tdx_hypercall(&args);
        }
        """, code="""
        static void tdx_idle_hint(void)
        {
        	struct tdx_module_args args = { .r10 = TDX_HYPERCALL_STANDARD };

        	__tdx_hypercall(&args);
        }
        """, why="guest: its sibling drops the result too; nothing says it matters"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        static void tdx_accept_hint(phys_addr_t start)
        {
        	struct tdx_module_args args = { .rcx = start };

        	__tdcall(TDG_MEM_PAGE_ACCEPT, &args);
        }
        """, why="guest: a lone drop, no __must_check, no sibling in sight"),
    Case(path="arch/x86/coco/tdx/tdx.c", before="""
        static bool read_msr(struct pt_regs *regs, struct ve_info *ve)
        {
        	struct tdx_module_args args = { .r10 = TDX_HYPERCALL_STANDARD };

        	if (__tdx_hypercall(&args))
        		return false;
        	return true;
        }
        """, code="""
        static void tdx_write_msr_quiet(u32 msr, u64 val)
        {
        	struct tdx_module_args args = { .r10 = TDX_HYPERCALL_STANDARD, .r12 = msr, .r13 = val };

        	/* Best effort: a VMM that refuses the write leaves the old value, which is harmless. */
        	__tdx_hypercall(&args);
        }
        """, why="guest: the comment says why the result does not matter"),
]
