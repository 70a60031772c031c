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

from ..csyntax import call_name, iter_nodes
from ..lazyre import lazy_re
from ..areas import TDX
from ..rulekit import Case, Hit
from ..tdxsem import analyze_loop, loop_report_line, loops_in, returns_status, tests_busy

ID = "tdx-busy-retry"
SEVERITY = "warning"
PATHS = TDX

_KICK_OR_LOCK = lazy_re(r"\b(kvm_make_all_cpus_request\w*|mutex_lock\w*|spin_lock\w*|"
                           r"raw_spin_lock\w*|down_write\w*|down_read\w*|write_lock\w*|"
                           r"guard|scoped_guard|tdx_no_vcpus_enter_start)\b")
_COMMENT = ("TDX_OPERAND_BUSY means a TDX-module try-lock lost a race; retrying it "
            "turns the SEAMCALL into a spinlock. Please make the contention impossible "
            "(a kernel lock around the conflicting SEAMCALLs), return -EBUSY to a caller "
            "that can retry, or kick the vCPUs and retry once.")


def check_file(source, patch):
    for region in source.regions:
        flagged = []
        for loop in loops_in(region):
            if not region.touches_added(loop):
                continue
            info = analyze_loop(region, loop)
            if info.seamcalls and tests_busy(" ".join(info.retry_tests)):
                line = loop_report_line(region, loop)
                if line is not None:
                    flagged.append(loop)
                    yield Hit("SEAMCALL retried on TDX_OPERAND_BUSY in a loop", line=line,
                              comment=_COMMENT)
        for stmt in region.find("if_statement"):
            test = stmt.child_by_field_name("condition")
            cons = stmt.child_by_field_name("consequence")
            if test is None or cons is None or not tests_busy(region.text(test)):
                continue
            if any(loop.start_byte <= stmt.start_byte < loop.end_byte for loop in flagged):
                continue
            recalls = [c for c in iter_nodes(cons, {"call_expression"}) if returns_status(call_name(c))]
            if not recalls or _KICK_OR_LOCK.search(region.text(cons)):
                continue
            line = region.first_added(recalls[0]) or region.first_added(test)
            if line is not None:
                yield Hit("SEAMCALL called again after TDX_OPERAND_BUSY without kicking vCPUs "
                          "or taking a lock", line=line, comment=_COMMENT)


INVALID = [
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	do {
        		err = tdh_mem_page_remove(&kvm_tdx->td, gpa, level, &entry, &state);
        	} while (unlikely(tdx_operand_busy(err)));
        """,
        at=("} while (unlikely(tdx_operand_busy(err)));",),
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
        at=("for (retry = 0;",),
        why="bounded, but still a blind BUSY retry",
    ),
    Case(
        code="""
        	err = tdh_phymem_page_reclaim(page, &rcx, &rdx, &r8);
        	if (IS_TDX_OPERAND_BUSY(err))
        		err = tdh_phymem_page_reclaim(page, &rcx, &rdx, &r8);
        """,
        at=("\terr = tdh_phymem_page_reclaim",),
        why="second call with nothing done about the contention",
    ),
    Case(
        code="""
        	while (seamcall(TDH_MNG_KEY_FREEID, &args) == TDX_OPERAND_BUSY)
        		cpu_relax();
        """,
        at=("while (seamcall(TDH_MNG_KEY_FREEID",),
        why="spinning on a raw BUSY compare",
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
]
