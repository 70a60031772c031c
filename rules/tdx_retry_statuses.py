"""A retry loop or busy check that does not match the statuses its leaf returns.

What it flags, where the TDX module data (the public module source, read by
tools/tdx_module_facts.py) knows the leaf whose status the code tests:
- a loop that re-issues a SEAMCALL/TDCALL and goes round again on a
  transient status, when the leaf can also return another one the loop
  does not retry: TDX_SYS_BUSY or TDX_INTERRUPTED_RESUMABLE, and, once the
  loop retries a busy status, the other busy statuses (TDX_OPERAND_BUSY,
  TDX_PREVIOUS_TLB_EPOCH_BUSY) too;
- a loop that retries on a status the leaf never returns, where the leaf
  returns another status of the same kind in its place (a busy status of
  the other kind, a status of the same class), which the remark names;
- an `if` that handles a busy status the leaf returns, when the leaf can
  also return another busy status that nothing in the function handles.
"Can also return" uses only what the data is sure of: statuses the leaf's
handler or the dispatcher returns, or that come through a short chain of
helpers or a lock helper. "Never returns" is said only of a leaf whose
handler and every function it reaches were read in full (not TDH.VP.ENTER
or TDG.VP.ENTER, whose exits the data cannot list). A leaf or status the
data does not have (newer than the module source) gets no remark, and a
status the function tests elsewhere, or that a comment on the loop names,
counts as handled.

Why: which statuses a leaf returns is the module's contract, and reviewers
check retry loops against it: "TDH.SYS.DISABLE can return TDX_SYS_BUSY
too" (Kai, on v1 of the TDH.SYS.DISABLE wrapper), and the recurring
TDX_OPERAND_BUSY versus TDX_SYS_BUSY mix-up: the TDH.SYS.* leaves report
contention on the module's global state as TDX_SYS_BUSY, most others as
TDX_OPERAND_BUSY. A loop that misses one ends on a transient status as if
it were final; a loop on a status that never comes does nothing.

Fires on:
    do {
        ret = seamcall(TDH_SYS_CONFIG, &args);
    } while (ret == TDX_OPERAND_BUSY);
(TDH.SYS.CONFIG never returns TDX_OPERAND_BUSY; its busy status is
TDX_SYS_BUSY), and on a loop that retries TDH.PHYMEM.CACHE.WB on
TDX_OPERAND_BUSY but not on TDX_INTERRUPTED_RESUMABLE.
Must not fire on a TDH.SYS.CONFIG loop on TDX_SYS_BUSY, nor on any loop
around TDH.SYS.DISABLE (newer than the module data).
"""
from __future__ import annotations

from ..lint.kit import BUSY_STATUSES, TDX, TRANSIENT, Case, Violation, is_module_status, module_abi, resolve_all

ID = "tdx-retry-statuses"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("retry", "busy", "return", "status", "sys_busy", "operand_busy")

# What a retry loop is expected to wait out whatever else it retries.
_ALWAYS = frozenset({"TDX_SYS_BUSY", "TDX_INTERRUPTED_RESUMABLE"})


class _Statuses(Violation):
    @property
    def source(self) -> str:
        return module_abi().source


class NotRetried(_Statuses):
    message = "{leaf} can also return {missed}, which this loop does not retry"
    comment = ("In the {source} source, {leaf} can also return {missed}, and this loop takes it "
               "as the final result. Please retry on it as well, or say in a comment why it cannot "
               "happen here.")


class RetriesUnreturned(_Statuses):
    message = "the loop retries on {code}, which {leaf} never returns{instead}"
    comment = ("{leaf} has no path that returns {code} in the {source} source{instead}, so the "
               "loop never goes round on it. Please retry on what the leaf does return, or drop "
               "the test.")


class BusyCheckMisses(_Statuses):
    message = "{leaf} can also return {missed}, which this busy check does not handle"
    comment = ("In the {source} source, {leaf} can also return {missed}; this check handles "
               "{handled} only, so the other busy status falls through as a failure. Please handle "
               "it too, or say why it cannot happen here.")


def check_file(file):
    for code in file.code:
        loops = code.loops.retry_loops()
        for loop in loops:
            _check_loop(code, loop)
        if code.tdx.tests_for_any(BUSY_STATUSES, code.c.root):
            _check_busy_checks(code, loops)


def _check_loop(code, loop):
    retried = loop.retried
    if retried is None or retried.negated:
        return  # `while (ret)`: every failure, a matter for other rules
    within = loop.node if loop.kind != "goto" else None
    tests = code.abi.deciding_tests(loop.deciding(), within)
    if not tests:
        return
    refs = frozenset().union(*(t.refs for t in tests))
    leaves = resolve_all(refs)
    if leaves is None:
        return  # a leaf newer than the data, or one the code does not name
    codes = set(retried.codes) - {"0", "TDX_SUCCESS"}
    known = {c for c in codes if is_module_status(c)}
    name = _names(leaves)
    # "Never" only for a mix-up (see AbiFacts.mixed_up_retries):
    # tdx-unbounded-retry leaves these statuses to this rule.
    for c, instead in code.abi.mixed_up_retries(loop).items():
        at = next((t.node for t in tests if t.code == c), loop.report_node)
        code.report(at, RetriesUnreturned(leaf=name, code=c, instead="; it returns " + " and ".join(instead)))
    returned = {c for c in known if any(leaf.returns(c) for leaf in leaves)}
    if not returned & TRANSIENT or known != codes:
        return  # not a wait for a transient status, or it waits for one the data does not know
    wanted = _ALWAYS | (BUSY_STATUSES if returned & BUSY_STATUSES else frozenset())
    comments = " ".join(c.prose() for c in loop.comments())
    missed = [c for c in sorted(wanted - codes)
              if any(leaf.surely_returns(c) for leaf in leaves)
              and not _named(c, comments) and not code.abi.tested_elsewhere(c, refs, loop.node)]
    if missed:
        code.report(loop.report_node, NotRetried(leaf=name, missed=" and ".join(missed)))


def _check_busy_checks(code, loops):
    retry_spans = [lp.span for lp in loops]
    for stmt in code.c.find("if_statement"):
        cond = stmt.child_by_field_name("condition")
        if cond is None or not code.tdx.tests_for_any(BUSY_STATUSES, cond):
            continue
        deciding = code.loops.decided_by(cond)
        if deciding is not None and deciding.span in retry_spans:
            continue  # the loop's own test: said of the loop
        truth = code.tdx.truth_codes(cond)
        if truth is None or truth.negated:
            continue
        tested = set(truth.codes) - {"0", "TDX_SUCCESS"}
        if not tested or not tested <= BUSY_STATUSES:
            continue  # not a busy check alone
        tests = code.abi.deciding_tests([cond])
        if not tests:
            continue
        refs = frozenset().union(*(t.refs for t in tests))
        leaves = resolve_all(refs)
        if leaves is None or not any(leaf.returns(c) for leaf in leaves for c in tested):
            continue  # newer than the data; or none returned (tdx-status-never-returned says so)
        comments = " ".join(c.prose() for c in code.c.comment_above(stmt)[:1] + code.c.comments_within(stmt))
        missed = [c for c in sorted(BUSY_STATUSES - tested)
                  if any(leaf.surely_returns(c) for leaf in leaves)
                  and not _named(c, comments) and not code.abi.tested_elsewhere(c, refs, cond)]
        if missed:
            code.report(cond, BusyCheckMisses(leaf=_names(leaves), missed=" and ".join(missed),
                                              handled=" and ".join(sorted(tested))))


def _names(leaves) -> str:
    return " / ".join(leaf.spec_name for leaf in leaves)


def _named(code: str, text: str) -> bool:
    return code in text or code.replace("TDX_", "", 1) in text


INVALID = [
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_CONFIG, &args);
        	} while (ret == TDX_OPERAND_BUSY);
        """,
        at=('3:10: } while (ret == TDX_OPERAND_BUSY);',),
        why="the wrong kind of busy: TDH.SYS.* leaves report TDX_SYS_BUSY",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	for (i = TDX_SEAMCALL_RETRIES; i > 0; i--) {
        		err = tdh_phymem_cache_wb(resume);
        		if (!IS_TDX_OPERAND_BUSY(err))
        			break;
        	}
        """,
        at=('1:32: for (i = TDX_SEAMCALL_RETRIES;',),
        why="retries the busy status but not TDX_INTERRUPTED_RESUMABLE, which the leaf also returns",
    ),
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_KEY_CONFIG, &args);
        	} while (ret == TDX_SYS_BUSY);
        """,
        at=('3:9: } while (ret == TDX_SYS_BUSY);',),
        why="TDH.SYS.KEY.CONFIG also reports a busy key table as TDX_OPERAND_BUSY",
    ),
    Case(
        path="arch/x86/coco/tdx/tdx.c",
        code="""
        retry:
        	ret = __tdcall(TDG_MR_REPORT, &args);
        	if (ret == TDX_SYS_BUSY)
        		goto retry;
        """,
        at=('3:6: if (ret == TDX_SYS_BUSY)',),
        why="a guest leaf whose busy status is TDX_OPERAND_BUSY, retried on the busy status of the TDH.SYS.* leaves",
    ),
    Case(
        code="""
        	while (seamcall(TDH_SYS_KEY_CONFIG, &args) == TDX_OPERAND_BUSY)
        		;
        """,
        at=('1:7: while (seamcall(TDH_SYS_KEY_CONFIG, &args) == TDX_OPERAND_BUSY)',),
        why=("the review of v1 of the TDH.SYS.DISABLE wrapper (the loop waited for one transient "
             "status; the leaf also returns TDX_SYS_BUSY, recorded in v2's changelog, "
             "https://lore.kernel.org/all/20260323-fuller_tdx_kexec_support-v2-3-87a36409e051@intel.com/), "
             "on a TDH.SYS.* leaf the data has"),
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        before="""
        static u64 tdx_track_once(struct kvm_tdx *kvm_tdx)
        {
        	return tdh_mem_track(&kvm_tdx->td);
        }
        """,
        code="""
        	err = tdx_track_once(kvm_tdx);
        	if (IS_TDX_OPERAND_BUSY(err))
        		return -EBUSY;
        """,
        at=('6:4: if (IS_TDX_OPERAND_BUSY(err))',),
        why="a busy check through a wrapper the file defines; TDH.MEM.TRACK also returns the epoch busy status",
    ),
]

VALID = [
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_CONFIG, &args);
        	} while (ret == TDX_SYS_BUSY);
        """,
        why="the busy status TDH.SYS.CONFIG does return",
    ),
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="TDH.SYS.DISABLE is newer than the module data: quiet",
    ),
    Case(
        code="""
        	while (seamcall(TDH_SYS_DISABLE, &args) == TDX_INTERRUPTED_RESUMABLE)
        		;
        """,
        why=("v1 of the TDH.SYS.DISABLE wrapper, which a reviewer asked to retry on TDX_SYS_BUSY too "
             "(https://lore.kernel.org/all/20260323-fuller_tdx_kexec_support-v2-3-87a36409e051@intel.com/): "
             "the leaf is newer than the module data, so the bot leaves it to humans"),
    ),
    Case(
        path="arch/x86/coco/tdx/tdx.c",
        code="""
        retry:
        	ret = __tdcall(TDG_MR_REPORT, &args);
        	if (ret == TDX_INTERRUPTED_RESUMABLE)
        		goto retry;
        """,
        why=("TDG.MR.REPORT is not interrupted in the 1.5.01 source, but nothing of that kind is "
             "returned in its place: a newer module may interrupt it, so no 'never'"),
    ),
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="the same for a host leaf",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	for (i = TDX_SEAMCALL_RETRIES; i > 0; i--) {
        		resume = !!err;
        		err = tdh_phymem_cache_wb(resume);
        		switch (err) {
        		case TDX_INTERRUPTED_RESUMABLE:
        			continue;
        		case TDX_NO_HKID_READY_TO_WBCACHE:
        			err = TDX_SUCCESS;
        			fallthrough;
        		default:
        			goto out;
        		}
        	}
        """,
        why="KVM's cache flush: waits out the interruption; the busy status is kept away by a lock",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	err = tdh_mem_track(&kvm_tdx->td);
        	if (IS_TDX_OPERAND_BUSY(err) || IS_TDX_PREVIOUS_TLB_EPOCH_BUSY(err))
        		return -EBUSY;
        """,
        why="both busy statuses of TDH.MEM.TRACK handled",
    ),
    Case(
        code="""
        	/* TDX_OPERAND_BUSY cannot happen: tdx_lock serialises the key programming. */
        	do {
        		ret = seamcall(TDH_SYS_KEY_CONFIG, &args);
        	} while (ret == TDX_SYS_BUSY);
        """,
        why="the comment says why the other busy status cannot happen",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	while (unlikely(IS_TDX_PREVIOUS_TLB_EPOCH_BUSY(tdx->vp_enter_ret)))
        		tdx->vp_enter_ret = tdh_vp_enter(&tdx->vp, &tdx->vp_enter_args);
        """,
        why="TDH.VP.ENTER's results include exits the data cannot list: no 'never'",
    ),
]
