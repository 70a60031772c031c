"""A test for a status the leaf never returns.

What it flags: a compare (`==`, `!=`, masked or not), an IS_TDX_*() or other
status helper, or a `case` label that tests the status of a SEAMCALL or
TDCALL for a status its leaf has no path to return, according to the TDX
module data (the public module source, read by tools/tdx_module_facts.py).
The remark names the statuses of the same class (bits 47:40) that the leaf
does return: for a busy status of the wrong kind, the right one.

It speaks only of a mix-up: in place of the tested status the leaf
returns another of the same kind (a busy status of the other kind, or a
status of the same class), which the remark names; a status with nothing
of its kind in its place (TDX_INTERRUPTED_RESUMABLE on a leaf this module
version does not interrupt) may come with a newer module, so it gets no
remark. It speaks only where the data is complete for the leaf (its
handler and every function it reaches were read in full; not TDH.VP.ENTER
or TDG.VP.ENTER, whose exits the data cannot list), and only of statuses
the data has: a leaf or status newer than the module source gets no
remark, nor do the kernel's SW-defined codes (TDX_SEAMCALL_GP/UD/
VMFAILINVALID, TDX_SW_ERROR) or TDX_SUCCESS. A test that decides a retry
loop is left to tdx-retry-statuses.

Why: a test for a status that never comes is dead code that looks like
handling: the failure it was written for comes back as another status and
takes the generic error path. The usual case is the busy status of the
wrong kind: the TDH.SYS.* leaves report contention as TDX_SYS_BUSY,
TDH.SYS.TDMR.INIT and the TD leaves as TDX_OPERAND_BUSY ("TDX_OPERAND_BUSY
versus TDX_SYS_BUSY"); reviewers check such tests against the leaf's
documented completion statuses.

Fires on:
    err = seamcall(TDH_SYS_INIT, &args);
    if (IS_TDX_OPERAND_BUSY(err))
        return -EBUSY;
(TDH.SYS.INIT returns TDX_SYS_BUSY, never TDX_OPERAND_BUSY.)
Must not fire on `if (err == TDX_SYS_BUSY)` after TDH.SYS.INIT, nor on any
test of the status of TDH.SYS.DISABLE (newer than the module data).
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, Violation, is_module_status, module_abi, resolve_all

ID = "tdx-status-never-returned"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("never", "return", "status", "busy", "sys_busy", "operand_busy")


class NeverReturned(Violation):
    message = "{leaf} never returns {code}{instead}"
    comment = ("In the {source} source, {leaf} has no path that returns {code}{instead}, so this "
               "test never matches and that failure takes the generic error path. Please test for "
               "the status the leaf returns.")

    @property
    def source(self) -> str:
        return module_abi().source


def check_file(file):
    for code in file.code:
        tests = code.abi.tests()
        if not tests:
            continue
        retrying = code.loops.retry_loops()
        for test in tests:
            if _decides_retry(code, test, retrying) or not is_module_status(test.code):
                continue
            leaves = resolve_all(test.refs)
            if leaves is None or not all(leaf.never_returns(test.code) for leaf in leaves):
                continue
            # Only a mix-up is said: the leaf returns another status of the
            # same kind in its place, which the remark names.
            instead = module_abi().instead_of(leaves, test.code)
            if not instead:
                continue
            code.report(test.node, NeverReturned(leaf=" / ".join(leaf.spec_name for leaf in leaves),
                                                 code=test.code, instead="; it returns " + " and ".join(instead)))


def _decides_retry(code, test, loops) -> bool:
    """The test decides whether a retry loop goes round again on the status
    (a case label counts when its switch sits in the loop); a test that
    leaves the loop on it is this rule's."""
    loop = code.loops.decided_by(test.node)
    if loop is None and test.node.parent is not None and test.node.parent.type == "case_statement":
        loop = code.loops.innermost(test.node.start_byte)
    if loop is None or not any(loop is lp for lp in loops):
        return False
    again = loop.retried
    return again is None or (test.code in again.codes) != again.negated


INVALID = [
    Case(
        code="""
        	err = seamcall(TDH_SYS_INIT, &args);
        	if (IS_TDX_OPERAND_BUSY(err))
        		return -EBUSY;
        """,
        at=('2:5: if (IS_TDX_OPERAND_BUSY(err))',),
        why="the wrong kind of busy for a TDH.SYS.* leaf",
    ),
    Case(
        code="""
        	ret = seamcall(TDH_SYS_TDMR_INIT, &args);
        	if ((ret & TDX_SEAMCALL_STATUS_MASK) == TDX_SYS_BUSY)
        		return -EAGAIN;
        """,
        at=('2:5: if ((ret & TDX_SEAMCALL_STATUS_MASK) == TDX_SYS_BUSY)',),
        why="TDH.SYS.TDMR.INIT reports a busy TDMR as TDX_OPERAND_BUSY",
    ),
    Case(
        path="arch/x86/coco/tdx/tdx.c",
        code="""
        	ret = __tdcall(TDG_MR_REPORT, &args);
        	switch (ret & TDX_SEAMCALL_STATUS_MASK) {
        	case TDX_SYS_BUSY:
        		return -EBUSY;
        	default:
        		break;
        	}
        """,
        at=('3:6: case TDX_SYS_BUSY:',),
        why="a case label for the host's TDH.SYS.* busy status; the guest leaf's is TDX_OPERAND_BUSY",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        before="""
        static u64 tdx_reclaim_once(struct page *page, u64 *a, u64 *b, u64 *c)
        {
        	return tdh_phymem_page_reclaim(page, a, b, c);
        }
        """,
        code="""
        	err = tdx_reclaim_once(page, &rcx, &rdx, &r8);
        	if (err == TDX_SYS_BUSY)
        		return -EAGAIN;
        """,
        at=('6:5: if (err == TDX_SYS_BUSY)',),
        why="through a wrapper the patch defines; the reclaim leaf's busy status is TDX_OPERAND_BUSY",
    ),
    Case(
        code="""
        	do {
        		err = seamcall_ret(TDH_SYS_TDMR_INIT, &args);
        		if (IS_TDX_SYS_BUSY(err))
        			return -EBUSY;
        		next = args.rdx;
        	} while (next < end);
        """,
        at=('3:6: if (IS_TDX_SYS_BUSY(err))',),
        why="a test that leaves a loop re-issuing the leaf is this rule's, not the retry rule's",
    ),
]

VALID = [
    Case(
        code="""
        	do {
        		err = seamcall_ret(TDH_SYS_TDMR_INIT, &args);
        	} while (err == TDX_SYS_BUSY);
        """,
        why="a test that sends a retry loop round again is left to tdx-retry-statuses",
    ),
    Case(
        code="""
        	err = seamcall(TDH_SYS_INIT, &args);
        	if (err == TDX_SYS_BUSY)
        		return -EBUSY;
        """,
        why="the busy status TDH.SYS.INIT returns",
    ),
    Case(
        code="""
        	ret = seamcall(TDH_SYS_DISABLE, &args);
        	if (ret == TDX_SYS_BUSY)
        		return -EBUSY;
        """,
        why="TDH.SYS.DISABLE is newer than the module data",
    ),
    Case(
        code="""
        	err = seamcall(TDH_SYS_INIT, &args);
        	if (err == TDX_UPDATE_COMPAT_SENSITIVE)
        		return -EBUSY;
        """,
        why="a status newer than the module data",
    ),
    Case(
        code="""
        	ret = seamcall(TDH_SYS_CONFIG, &args);
        	if (ret == TDX_SEAMCALL_VMFAILINVALID)
        		return -ENODEV;
        """,
        why="a code the kernel makes up, not the module",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	err = tdh_mng_create(&kvm_tdx->td, kvm_tdx->hkid);
        	if (err == TDX_RND_NO_ENTROPY)
        		return -EAGAIN;
        """,
        why="KVM's entropy check: TDH.MNG.CREATE does return it",
    ),
    Case(
        path="arch/x86/coco/tdx/tdx.c",
        code="""
        	ret = __tdcall(TDG_MR_REPORT, &args);
        	if (ret == TDX_INTERRUPTED_RESUMABLE)
        		return -EAGAIN;
        """,
        why=("not interrupted in the 1.5.01 source, but nothing of the kind comes in its place: a "
             "newer module may return it, so no remark"),
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	do {
        		err = tdh_mem_sept_add(&kvm_tdx->td, gpa, level, page, &entry, &state);
        	} while (err == TDX_INTERRUPTED_RESUMABLE);
        	if (IS_TDX_SYS_BUSY(err))
        		return -EBUSY;
        """,
        why="TDH.MEM.SEPT.ADD's data is incomplete (a handler helper was not read): no 'never'",
    ),
]
