"""A loop re-issues a SEAMCALL on a TDX status with no bound and no reason it ends.

What it flags: a while/do/for loop (or a goto back to an earlier label) on
added lines that calls a SEAMCALL or TDCALL (seamcall*(), __seamcall*(),
sc_retry(), tdh_*(), tdg_*(), __tdcall*(), __tdx_hypercall*(), or a helper
of the patch around one) and goes round again while the result matches a
TDX status, when nothing bounds it (no counter or flag that is both updated
and tested, no deadline, no progress variable, no signal/event exit) and
nothing argues why retrying on each such status ends.

An argument is read by what it says, in a comment at or above the loop or
in the changelog, and names why the retry ends:
- progress kept across calls ("an interrupted call picks up where it left
  off", "guarantees forward progress", "the module keeps its place");
- contention that lasts only while another named call runs ("TDX_SYS_BUSY
  comes back only while another TDH.SYS.* call runs"), or a call that shuts
  new competitors out ("once it runs it keeps new ones out");
- callers serialized by a named lock ("callers hold kvm->mmu_lock");
- a deadline or a bound that something else keeps ("the caller's watchdog
  gives up after 10 seconds", "the TDX module returns it at most once per
  page").
A sentence argues for the statuses it names, by name or by what they mean
("an interrupted call", "this contention"); one that names none speaks for
what its paragraph named before, else for the loop as a whole. Words that
argue nothing do not count: "keep calling it until it works", "try again
if it did not finish", "retry on BUSY", a denied reason ("does not
guarantee progress") or a question.

Why: an unbounded SEAMCALL loop is a lockup waiting for a TDX-module bug or
a contention pattern nobody thought of. Reviewers ask for the termination
argument in the code: Sean on blind retries ("then there are effectively no
rules whatsoever"), Kiryl on TDX_SYS_BUSY ("Is it TDX module contract?").

Fires on:
    /* Keep calling it until it works. */
    do {
        ret = seamcall(TDH_SYS_SHUTDOWN, &args);
    } while (ret == TDX_SYS_SHUTDOWN_BUSY);
Must not fire on sc_retry()'s `while (ret == TDX_RND_NO_ENTROPY && --retry)`,
init_tdmr()'s `while (next < end)` progress loop, tdx_map_gpa()'s retry
counter, tdx_sys_disable()'s loop whose comment (or changelog) argues why
retrying ends for both retried codes, or "An interrupted call picks up
where it left off when it is made again, so this loop terminates" over a
loop on TDX_INTERRUPTED_RESUMABLE.
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, Violation

ID = "tdx-unbounded-retry"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("loop", "forever", "retry", "bound", "terminat", "progress", "lock")


class _Retry(Violation):
    comment = ("This retries on {codes} with no bound{commented}. Please say why retrying on "
               "{them} ends (progress the TDX module keeps between calls, contention that lasts "
               "only while a named call runs, a lock that serializes the callers, a deadline), and "
               "where the TDX module documents that, or bound the loop and handle running out of "
               "retries.")

    @property
    def them(self) -> str:
        return "it" if "," not in self.codes else "each of them"

    @property
    def commented(self) -> str:
        return ", and the comment at the loop does not say why it ends" if self.has_comment else ""


class Unbounded(_Retry):
    message = "retry loop on {codes} has no bound and no comment saying why it terminates"


class PartlyArgued(_Retry):
    message = ("the {where} argues why retrying on {argued} ends, but not on {codes}, and nothing "
               "bounds the loop")
    comment = ("The {where} says why retrying on {argued} ends, but not why retrying on {codes} "
               "does, and nothing bounds the loop. Please say why {them_too} ends as well (progress "
               "the TDX module keeps between calls, contention that lasts only while a named call "
               "runs, a lock that serializes the callers, a deadline), or bound the loop and handle "
               "running out of retries.")

    @property
    def them_too(self) -> str:
        return "that one" if "," not in self.codes else "each of those"


def check_file(file):
    for code in file.code:
        for loop in code.loops.retry_loops():
            if loop.bound is not None:
                continue
            # A status the leaf never returns is a mix-up that
            # tdx-retry-statuses names; there is no retry on it to argue.
            codes = [c for c in loop.codes if c not in code.abi.mixed_up_retries(loop)]
            arguments = {c: loop.justification(c) for c in codes}
            argued = [c for c in codes if arguments[c]]
            unargued = ", ".join(c for c in codes if not arguments[c])
            commented = bool(loop.comments())
            if argued and unargued:
                code.report(loop.report_node, PartlyArgued(argued=", ".join(argued), codes=unargued,
                                                           where=arguments[argued[0]].source,
                                                           has_comment=commented))
            elif unargued:
                code.report(loop.report_node, Unbounded(codes=unargued, has_comment=commented))


INVALID = [
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_SHUTDOWN_BUSY);
        """,
        at=('3:9: } while (ret == TDX_SYS_SHUTDOWN_BUSY);',),
        why="plain unbounded do/while",
    ),
    Case(
        code="""
        	/* Retry on TDX_OPERAND_BUSY. */
        	while (seamcall(TDH_MNG_KEY_FREEID, &args) == TDX_OPERAND_BUSY)
        		;
        """,
        at=('2:7: while (seamcall(TDH_MNG_KEY_FREEID',),
        why="the comment only restates the loop",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	for (;;) {
        		err = tdh_mem_track(&kvm_tdx->td);
        		if (!IS_TDX_OPERAND_BUSY(err))
        			break;
        	}
        """,
        at=('1:1: for (;;) {',),
        why="infinite loop left only when the status changes",
    ),
    Case(
        code="""
        	/*
        	 * TDX_INTERRUPTED_RESUMABLE guarantees forward progress, so
        	 * keep going.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        at=('7:9: } while (ret == TDX_INTERRUPTED_RESUMABLE',),
        why="the justification leaves TDX_SYS_BUSY out",
    ),
    Case(
        code="""
        	/*
        	 * TDX_INTERRUPTED_RESUMABLE guarantees forward progress. TDX_SYS_BUSY
        	 * comes back while another TDH.SYS.* SEAMCALL is running.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        at=('7:9: } while (ret == TDX_INTERRUPTED_RESUMABLE',),
        why="both codes named, termination argued for one (the 'Locked out by who?' point)",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        retry:
        	err = tdh_mem_page_remove(&kvm_tdx->td, gpa, level, &entry, &state);
        	if (err == TDX_INTERRUPTED_RESUMABLE)
        		goto retry;
        """,
        at=('3:5: if (err == TDX_INTERRUPTED_RESUMABLE)',),
        why="a goto back-edge is a loop too",
    ),
    Case(
        before="""
        static u64 tdx_flush_vp_once(struct tdx_vp *vp)
        {
        	return tdh_vp_flush(vp);
        }
        """,
        code="""
        	do {
        		err = tdx_flush_vp_once(&tdx->vp);
        	} while (err == TDX_INTERRUPTED_RESUMABLE);
        """,
        at=('7:9: } while (err == TDX_INTERRUPTED_RESUMABLE);',),
        why="re-issued through a helper the file defines",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	while (unlikely(IS_TDX_PREVIOUS_TLB_EPOCH_BUSY(tdx->vp_enter_ret)))
        		tdx->vp_enter_ret = tdh_vp_enter(&tdx->vp, &tdx->vp_enter_args);
        """,
        at=('1:7: while (unlikely(IS_TDX_PREVIOUS_TLB_EPOCH_BUSY',),
        why="status in a struct field, helper test wrapped in unlikely()",
    ),
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_LP_INIT, &args);
        	} while (ret);
        """,
        at=('3:9: } while (ret);',),
        why="retries on every failure",
    ),
    Case(
        code="""
        	/* Keep calling it until it works. */
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_SHUTDOWN_BUSY);
        """,
        at=('4:9: } while (ret == TDX_SYS_SHUTDOWN_BUSY);',),
        why="a comment that says what the loop does, not why it ends",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	for (;;) {
        		err = tdh_vp_flush(&tdx->vp);
        		/* Try again if it did not finish. */
        		if (err != TDX_INTERRUPTED_RESUMABLE)
        			break;
        	}
        """,
        at=('1:1: for (;;) {',),
        why="a comment inside the loop that argues nothing",
    ),
    Case(
        code="""
        	/*
        	 * TDX_INTERRUPTED_RESUMABLE does not guarantee forward progress, but
        	 * it is rare enough.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        at=('7:9: } while (ret == TDX_INTERRUPTED_RESUMABLE);',),
        why="a reason the comment denies",
    ),
    Case(
        code="""
        	/* TDX_SYS_BUSY contention is short-lived. */
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        """,
        at=('4:9: } while (ret == TDX_SYS_BUSY);',),
        why="says the contention is short without saying what ends it",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	/* Callers are serialized, so this cannot livelock. */
        	do {
        		err = tdh_mem_sept_add(&kvm_tdx->td, gpa, level, page, &entry, &state);
        	} while (err == TDX_INTERRUPTED_RESUMABLE);
        """,
        at=('4:9: } while (err == TDX_INTERRUPTED_RESUMABLE);',),
        why="serialized, but by no lock the comment names",
    ),
    Case(
        changelog="""
        TDH.SYS.DISABLE may be interrupted or find other TDH.SYS.* calls running.

        An interrupted call picks up where it left off, so retry it. When the
        module is busy, retry as well.
        """,
        code="""
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        at=('3:9: } while (ret == TDX_INTERRUPTED_RESUMABLE',),
        why="the changelog argues for one status only",
    ),
    Case(
        code="""
        	/* Keep calling tdh_sys_disable() until it completes. */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        at=('4:9: } while (ret == TDX_INTERRUPTED_RESUMABLE);',),
        why="'until it completes' about the retried call itself says what, not why",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	/* Retry only while tdh_mem_track() says the operand is busy. */
        	do {
        		err = tdh_mem_track(&kvm_tdx->td);
        	} while (IS_TDX_OPERAND_BUSY(err));
        """,
        at=('4:9: } while (IS_TDX_OPERAND_BUSY(err));',),
        why="'only while' that restates the loop's condition is no contention argument",
    ),
]

VALID = [
    Case(
        path="arch/x86/virt/vmx/tdx/seamcall_internal.h",
        code="""
        	int retry = RDRAND_RETRY_LOOPS;
        	u64 ret;

        	do {
        		preempt_disable();
        		ret = __seamcall_dirty_cache(func, fn, args);
        		preempt_enable();
        	} while (ret == TDX_RND_NO_ENTROPY && --retry);
        """,
        why="sc_retry(): counter in the condition",
    ),
    Case(
        code="""
        	do {
        		struct tdx_module_args args = { .rcx = tdmr->base };
        		int ret;

        		ret = seamcall_prerr_ret(TDH_SYS_TDMR_INIT, &args);
        		if (ret)
        			return ret;
        		next = args.rdx;
        		cond_resched();
        	} while (next < tdmr->base + tdmr->size);
        """,
        why="init_tdmr(): progress-bounded",
    ),
    Case(
        path="arch/x86/coco/tdx/tdx.c",
        code="""
        	while (retry_count < max_retries_per_page) {
        		u64 map_fail_paddr = args.r11;

        		if (__tdx_hypercall(&args) != TDVMCALL_STATUS_RETRY)
        			break;
        		if (map_fail_paddr == start) {
        			retry_count++;
        			continue;
        		}
        		start = map_fail_paddr;
        		retry_count = 0;
        	}
        """,
        why="tdx_map_gpa(): counter reset on progress",
    ),
    Case(
        code="""
        	/*
        	 * Don't loop forever.
        	 *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
        	 *    calls.
        	 *  - TDX_SYS_BUSY could transiently contend with TDH.SYS.* SEAMCALLs,
        	 *    but will lock out future ones.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        why="the seed: both codes named with a termination argument",
    ),
    Case(
        path="arch/x86/coco/tdx/tdx.c",
        code="""
        	/*
        	 * This hypercall should never return and it is not safe
        	 * to keep the guest running. Call it forever if it
        	 * happens to return.
        	 */
        	while (1)
        		__tdx_hypercall(&args);
        """,
        why="tdx_panic(): infinite on purpose, not conditioned on a status",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	for (i = TDX_SEAMCALL_RETRIES; i > 0; i--) {
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
        why="counted for loop",
    ),
    Case(
        code="""
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE && retries++ < TDX_DISABLE_RETRIES);
        """,
        why="a counter in the condition",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        retry:
        	err = tdh_mem_page_remove(&kvm_tdx->td, gpa, level, &entry, &state);
        	if (err == TDX_INTERRUPTED_RESUMABLE && --tries)
        		goto retry;
        """,
        why="a goto loop with a counter",
    ),
    Case(
        code="""
        	/*
        	 * Both TDX_INTERRUPTED_RESUMABLE and TDX_SYS_BUSY guarantee forward
        	 * progress: the module keeps its place between calls.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        why="one sentence argues for both codes listed together",
    ),
    Case(
        code="""
        	for (i = 0; i < nr_pages; i++) {
        		err = tdh_phymem_page_wbinvd(pages[i]);
        		if (err)
        			return -EIO;
        	}
        """,
        why="walks an array; the status only ends it",
    ),
    Case(
        code="""
        	/* The comment about TDX_SYS_BUSY: while (ret == TDX_SYS_BUSY) would spin. */
        	ret = seamcall(TDH_SYS_DISABLE, &args);
        """,
        why="a loop written in a comment is no loop",
    ),
    Case(
        code="""
        	/*
        	 * TDX_INTERRUPTED_RESUMABLE comes back only after forward progress.
        	 * TDX_SYS_BUSY means another TDH.SYS.* call got in first, but once
        	 * TDH.SYS.DISABLE runs it keeps new ones out.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        why="'keeps new ones out' argues the busy case too (whether the module promises it is for a human)",
    ),
    Case(
        code="""
        	/*
        	 * An interrupted call picks up where it left off when it is made
        	 * again, so this loop terminates.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="progress kept across calls, said without naming the status",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	do {
        		/* Each call resumes from the position the last one saved. */
        		err = tdh_phymem_cache_wb(resume);
        		resume = true;
        	} while (err == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="progress kept across calls, in a comment inside the loop",
    ),
    Case(
        code="""
        	/* TDX_SYS_BUSY comes back only while another TDH.SYS.* SEAMCALL runs. */
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        """,
        why="contention that lasts only while a named call runs",
    ),
    Case(
        code="""
        	/*
        	 * The module keeps its place in the walk between calls, so the
        	 * loop ends.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        why="an argument with no status name covers every retried status",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	/*
        	 * Callers hold kvm->mmu_lock for write, so no other TDH.MEM.* call
        	 * can be running on this TD.
        	 */
        	do {
        		err = tdh_mem_page_aug(&kvm_tdx->td, gpa, level, page, &entry, &state);
        	} while (err == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="callers serialized by a named lock",
    ),
    Case(
        code="""
        	/* The caller's watchdog gives up on the shutdown after 10 seconds. */
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        """,
        why="a deadline kept by the caller",
    ),
    Case(
        code="""
        	/* The TDX module returns TDX_INTERRUPTED_RESUMABLE at most once per page. */
        	do {
        		ret = seamcall(TDH_PHYMEM_PAGE_RECLAIM, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="a bound the TDX module keeps",
    ),
    Case(
        changelog="""
        The SEAMCALL can return two different error codes that expect a retry.
         - TDX_INTERRUPTED_RESUMABLE can be returned in the case of a host
           interrupt. However, it will not return until it makes some forward
           progress.
         - TDX_SYS_BUSY will be returned on contention with other TDH.SYS.*
           SEAMCALLs, however a side effect of TDH.SYS.DISABLE is that it will
           block other SEAMCALLs once it gets going.

        So loop on either of these error codes, until success or other error.
        """,
        code="""
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);
        """,
        why="the seed's changelog argues for both statuses, the code has no comment "
            "(https://lore.kernel.org/all/20260323-fuller_tdx_kexec_support-v2-3-87a36409e051@intel.com/)",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	/*
        	 * The operand stays busy until the vCPU that holds it returns from
        	 * tdh_vp_enter(), and no vCPU can enter again after the kick.
        	 */
        	do {
        		err = tdh_mem_track(&kvm_tdx->td);
        	} while (IS_TDX_OPERAND_BUSY(err));
        """,
        why="contention that lasts until another named call returns",
    ),
    Case(
        code="""
        	/*
        	 * Each TDH.PHYMEM.CACHE.WB call writes back part of the cache and
        	 * the module records how far it got, so the next call resumes
        	 * from there.
        	 */
        	do {
        		ret = seamcall(TDH_PHYMEM_CACHE_WB, &args);
        		args.rcx = 1;
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """,
        why="progress kept across calls, in words that name neither 'progress' nor the status",
    ),
]
