"""A SEAMCALL is retried on TDX_OPERAND_BUSY.

What it flags: a loop that re-issues a SEAMCALL while the status is
TDX_OPERAND_BUSY (raw, masked, tdx_operand_busy() or IS_TDX_OPERAND_BUSY(),
also TDX_PREVIOUS_TLB_EPOCH_BUSY), bounded or not; and an `if (busy)`
that calls the SEAMCALL again without first kicking vCPUs out of the guest
(kvm_make_all_cpus_request()) or taking a lock.

Why: OPERAND_BUSY means a TDX-module try-lock lost a race. Looping on it
turns the module into "a very strange spinlock with a heavyweight inner
loop" (Rick), and KVM/x86 policy is to make contention impossible instead:
serialise with a kernel lock, return -EBUSY to a higher-level retry, or kick
vCPUs and retry exactly once (tdh_do_no_vcpus()).

Fires on:
    do {
        err = tdh_mem_page_remove(&kvm_tdx->td, gpa, level, &entry, &state);
    } while (unlikely(tdx_operand_busy(err)));
Must not fire on `if (IS_TDX_OPERAND_BUSY(err)) return -EBUSY;`, nor on a
single retry after kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE).
"""
from __future__ import annotations

from ..lint.kit import BUSY_CODES, TDX, Case, Violation

ID = "tdx-busy-retry"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("busy", "retry", "loop", "lock", "contention")

# Doing something about the contention before the second call.
_KICK_OR_LOCK = frozenset({
    "kvm_make_all_cpus_request", "kvm_make_all_cpus_request_except", "mutex_lock",
    "mutex_lock_interruptible", "mutex_lock_killable", "spin_lock", "spin_lock_irq",
    "spin_lock_irqsave", "raw_spin_lock", "raw_spin_lock_irqsave", "down_write", "down_read",
    "write_lock", "read_lock", "guard", "scoped_guard", "tdx_no_vcpus_enter_start",
})


class _BusyRetry(Violation):
    comment = ("{code} means a TDX-module try-lock lost a race; retrying it turns the SEAMCALL "
               "into a spinlock. Please make the contention impossible (a kernel lock around the "
               "conflicting SEAMCALLs), return -EBUSY to a caller that can retry, or kick the "
               "vCPUs and retry once.")


class RetriedInLoop(_BusyRetry):
    message = "SEAMCALL retried on {code} in a loop"


class CalledAgain(_BusyRetry):
    message = "SEAMCALL called again after {code} without kicking vCPUs or taking a lock"


def check_file(file):
    for code in file.code:
        tdx = code.tdx
        loops = []
        for loop in code.loops.retry_loops():
            if busy := _busy(loop.retried):
                loops.append(loop)
                code.report(loop.report_node, RetriedInLoop(code=busy))
        if not tdx.tests_for_any(BUSY_CODES, code.c.root):
            continue  # no busy test anywhere: no condition holds one
        for stmt in code.c.find("if_statement"):
            if any(lp.span[0] <= stmt.start_byte < lp.span[1] for lp in loops):
                continue  # said of the loop already
            busy, again = _called_again(code, stmt)
            if busy and again:
                code.report([again[0], stmt], CalledAgain(code=busy))


def _busy(codes) -> str | None:
    if codes is None or codes.negated:
        return None
    return next((c for c in sorted(codes.codes) if c in BUSY_CODES), None)


def _called_again(code, stmt) -> tuple[str | None, list]:
    """(the busy code, the calls that issue the SEAMCALL again) of an
    `if (busy)` whose branch does nothing about the contention first."""
    tdx = code.tdx
    condition = stmt.child_by_field_name("condition")
    busy = _busy(tdx.truth_codes(condition)) if tdx.tests_for_any(BUSY_CODES, condition) else None
    then = stmt.child_by_field_name("consequence")
    if not busy or then is None:
        return None, []
    if any(name in _KICK_OR_LOCK for _, name in code.c.calls(within=then)):
        return busy, []
    return busy, tdx.issuing_calls_within(then.start_byte, then.end_byte)


INVALID = [
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	do {
        		err = tdh_mem_page_remove(&kvm_tdx->td, gpa, level, &entry, &state);
        	} while (unlikely(tdx_operand_busy(err)));
        """,
        at=('3:9: } while (unlikely(tdx_operand_busy(err)));',),
        why="the pre-2025 KVM zap loop",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	for (retry = 0; retry < SEAMCALL_RETRY_MAX; retry++) {
        		err = tdh_mem_sept_add(&kvm_tdx->td, gpa, level, page, &entry, &state);
        		if ((err & TDX_SEAMCALL_STATUS_MASK) != TDX_OPERAND_BUSY)
        			break;
        	}
        """,
        at=('1:17: for (retry = 0;',),
        why="bounded, but still a blind BUSY retry",
    ),
    Case(
        code="""
        	err = tdh_phymem_page_reclaim(page, &rcx, &rdx, &r8);
        	if (IS_TDX_OPERAND_BUSY(err))
        		err = tdh_phymem_page_reclaim(page, &rcx, &rdx, &r8);
        """,
        at=('3:8: \terr = tdh_phymem_page_reclaim',),
        why="second call with nothing done about the contention",
    ),
    Case(
        code="""
        	while (seamcall(TDH_MNG_KEY_FREEID, &args) == TDX_OPERAND_BUSY)
        		cpu_relax();
        """,
        at=('1:7: while (seamcall(TDH_MNG_KEY_FREEID',),
        why="spinning on a raw BUSY compare",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        before="""
        static bool sept_contended(u64 err)
        {
        	return (err & TDX_SEAMCALL_STATUS_MASK) == TDX_OPERAND_BUSY;
        }
        """,
        code="""
        	do {
        		err = tdh_mem_range_block(&kvm_tdx->td, gpa, level, &entry, &state);
        	} while (sept_contended(err));
        """,
        at=('7:9: } while (sept_contended(err));',),
        why="a busy test through a helper the file defines",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        again:
        	err = tdh_mem_track(&kvm_tdx->td);
        	if (unlikely(IS_TDX_OPERAND_BUSY(err)))
        		goto again;
        """,
        at=('3:5: if (unlikely(IS_TDX_OPERAND_BUSY(err)))',),
        why="a goto retry on BUSY",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        before="""
        static u64 tdx_block_range(struct kvm_tdx *kvm_tdx, gpa_t gpa, int level)
        {
        	return tdh_mem_range_block(&kvm_tdx->td, gpa, level, &entry, &state);
        }
        """,
        code="""
        	err = tdx_block_range(kvm_tdx, gpa, level);
        	if (tdx_operand_busy(err))
        		err = tdx_block_range(kvm_tdx, gpa, level);
        """,
        at=('7:8: \terr = tdx_block_range(kvm_tdx, gpa, level);',),
        why="called again through a wrapper after BUSY",
    ),
]

VALID = [
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	err = tdh_mem_page_aug(&kvm_tdx->td, gpa, level, page, &entry, &state);
        	if (unlikely(IS_TDX_OPERAND_BUSY(err)))
        		return -EBUSY;
        """,
        why="propagates -EBUSY",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	__err = tdh_func(args);
        	if (unlikely(tdx_operand_busy(__err))) {
        		WRITE_ONCE(__kvm_tdx->wait_for_sept_zap, true);
        		kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE);
        		__err = tdh_func(args);
        		WRITE_ONCE(__kvm_tdx->wait_for_sept_zap, false);
        	}
        """,
        why="tdh_do_no_vcpus(): kick, then one retry",
    ),
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="retries on INTERRUPTED_RESUMABLE, not BUSY",
    ),
    Case(
        code="""
        	err = tdh_mng_key_freeid(&kvm_tdx->td);
        	if (IS_TDX_OPERAND_BUSY(err))
        		pr_err("TDH.MNG.KEY.FREEID lost a race: 0x%llx\\n", err);
        """,
        why="busy test without a second call",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	err = tdh_mem_track(&kvm_tdx->td);
        	if (IS_TDX_OPERAND_BUSY(err)) {
        		mutex_lock(&tdx_lock);
        		err = tdh_mem_track(&kvm_tdx->td);
        		mutex_unlock(&tdx_lock);
        	}
        """,
        why="the second call runs under a lock",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	do {
        		err = tdh_mem_page_remove(&kvm_tdx->td, gpa, level, &entry, &state);
        	} while (err == TDX_INTERRUPTED_RESUMABLE);
        	/* Never retry on TDX_OPERAND_BUSY here: the caller holds mmu_lock for write. */
        """,
        why="BUSY only in a comment",
    ),
]
