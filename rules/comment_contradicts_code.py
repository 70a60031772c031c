"""A comment or the changelog says how a loop ends, and the code does otherwise.

What it flags, on any loop of TDX code (for, while, do, `while (1)` or
`for (;;)` left with break, a goto back to an earlier label), whether or
not it issues a SEAMCALL:
- a comment at the loop (right above it, or inside it) that claims it ends
  within a bound ("Don't loop forever", "bounded", "gives up after 3
  tries", "a few attempts", "at most N") when nothing bounds it: no
  counter or flag that is both updated and tested, no deadline, and no
  sentence arguing that something else (the caller's timeout, the TDX
  module) keeps the count. A descriptive claim that carries its own reason
  ("it cannot spin forever: each call picks up where the last one
  stopped") is an argument, not a contradiction; a command ("Don't loop
  forever.") is not;
- a comment that names a number of tries the counter does not allow
  ("at most 3" over a counter of 16);
- "retry once" (or "the second try succeeds") over a loop that may go
  round more than twice;
- "loops forever" or "until it succeeds" over a loop that gives up (a
  counter, a flag or a deadline);
- the changelog against the code: it says the code loops forever (or
  until success) while a comment at an added loop claims a bound, or while
  every retrying loop the patch adds gives up; or it claims a bound (or a
  single retry) while a comment says the loop runs forever, or no
  retrying loop the patch adds has a bound.
Claim and code that agree stay quiet: a counter that really bounds the
loop, a flag that allows one retry, a claim of "forever" over a loop that
has no bound.

Why: readers trust comments and changelogs over code they skim. "Don't
loop forever." above `do { ... } while (ret == A || ret == B);` reads as a
command the code does not obey, and the v2 changelog of the same patch
said "So loop infinitely" about that loop (TDH.SYS.DISABLE, March 2026).
Say what the code does, then why that is safe.

Fires on:
    /* Don't loop forever. */
    do {
        ret = seamcall(TDH_SYS_DISABLE, &args);
    } while (ret == TDX_INTERRUPTED_RESUMABLE);
Must not fire on "it is safe to loop unconditionally here" over that loop,
nor on tdx_panic()'s "Call it forever if it happens to return." over
`while (1)`, nor on "give up after 3 tries" over a loop whose counter
allows 3.
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, ChangelogLine, Violation

ID = "comment-contradicts-code"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("loop", "forever", "bound", "retry", "once", "contradict")

# Bounds that make a loop give up (an event or progress ends a loop, but
# does not count its tries).
_GIVES_UP = ("counter", "flag", "deadline")


class BoundClaimed(Violation):
    message = "comment claims a bound but the loop has none"
    comment = ("The comment says the loop is bounded, but nothing in the code bounds it. Please "
               "describe what the code does (e.g. 'Loop until the SEAMCALL completes; this ends "
               "because ...') or add the bound.")


class CountClaimed(Violation):
    message = "comment says the loop gives up after {tries}, but nothing counts the tries"
    comment = ("The comment says this gives up after {tries}, but the loop has no counter and no "
               "deadline: it goes round for as long as the condition holds. Please add the bound, "
               "or say what the code does and why it ends.")


class CountDiffers(Violation):
    message = "comment says {claimed} tries, but the loop's counter allows {allowed}"
    comment = ("The comment says {claimed} tries, but the counter allows {allowed}. Please make "
               "the two agree.")


class OnceClaimed(Violation):
    message = "comment promises a single retry but the code loops"
    comment = ("This says the call is retried once, but the code loops. Either retry exactly "
               "once or fix the comment.")


class ForeverClaimed(Violation):
    # {claim:.40}: the line of the claim, cut to its first 40 characters.
    message = "comment says the loop runs forever, but it is bounded ({claim:.40})"
    comment = ("The comment says this loops forever, but the loop is bounded. Please make the "
               "comment match the code.")


class ChangelogSaysForever(Violation):
    message = ("the changelog says the code loops forever, but the comment at {path}:{line} "
               "says it does not")
    comment = ("The changelog says this loops forever, while the comment in the code says it "
               "doesn't. Please make the two tell the same story.")


class ChangelogForeverButBounded(Violation):
    message = "the changelog says the code loops until it succeeds, but the loop at {path}:{line} gives up"
    comment = ("The changelog says this retries until it succeeds, but the loop gives up after a "
               "bounded number of tries. Please make the changelog say what the code does (and "
               "what happens when it gives up).")


class ChangelogSaysBounded(Violation):
    message = ("the changelog says the loop {what}, but the comment at {path}:{line} says it "
               "loops forever")
    comment = ("The changelog says the loop {what}, while the comment in the code says it loops "
               "forever. Please make the two tell the same story.")


class ChangelogBoundMissing(Violation):
    message = "the changelog says the loop {what}, but nothing bounds the loop at {path}:{line}"
    comment = ("The changelog says the loop {what}, but the code has no such bound: it goes round "
               "for as long as the condition holds. Please add the bound or describe the code as "
               "it is.")


def _what(claim) -> str:
    if claim.kind == "once":
        return "retries once"
    if claim.kind == "count":
        return f"gives up after {_tries(claim)}"
    return "is bounded"


def _tries(claim) -> str:
    return f"{claim.count} tries" if claim.count and claim.count > 1 else "a few tries"


def _agrees(claim, loop, bound, reasoned: bool) -> bool:
    """Whether a claim about how the loop ends holds for its code."""
    kind = claim.kind
    if kind == "forever":
        return bound is None or bound.kind not in _GIVES_UP
    if kind == "finite":
        return bound is not None or (reasoned and not claim.imperative) or loop.bound_argued()
    if kind == "count":
        return (bound is not None and bound.kind in _GIVES_UP) or loop.bound_argued()
    # once: a second round at most
    return (bound is not None and bound.kind in _GIVES_UP and (bound.value or 0) <= 2) or loop.bound_argued()


def check_patch(ctx):
    files = ctx.files(PATHS)
    added = []  # (file, code, loop) for the loops the patch adds or changes
    comment_claims = []  # (path, line, claim) made at loops, on added lines
    for file in files:
        for code in file.code:
            for loop in code.loops.all:
                if _touched(code, loop):
                    added.append((file, code, loop))
                claims = loop.claims()
                if not claims:
                    continue
                bound = loop.bound
                said = set()  # (line, kind): one remark per claim line
                for made in claims:
                    claim = made.claim
                    if code.c.is_added(made.line):
                        comment_claims.append((file.path, made.line, claim))
                    if _agrees(claim, loop, bound, made.reasoned) or (made.line, claim.kind) in said:
                        continue
                    said.add((made.line, claim.kind))
                    at = [made.line, loop.report_node]
                    if claim.kind == "forever":
                        code.report(at, ForeverClaimed(claim=code.c.text_at(made.line).strip()))
                    elif claim.kind == "finite":
                        code.report(at, BoundClaimed())
                    elif claim.kind == "count":
                        code.report(at, CountClaimed(tries=_tries(claim)))
                    else:
                        code.report(at, OnceClaimed())
                for made in claims:
                    if made.claim.kind == "count" and made.claim.count and bound is not None \
                            and bound.kind == "counter" and bound.value \
                            and abs(bound.value - made.claim.count) > 1:
                        code.report([made.line, loop.report_node],
                                    CountDiffers(claimed=made.claim.count, allowed=bound.value))
    _changelog_against_code(ctx, files, added, comment_claims)


def _touched(code, loop) -> bool:
    """The patch adds or changes a line of the loop (for a goto loop, its
    label's statement or the jump back)."""
    if code.c.first_added(loop.node) is not None:
        return True
    return loop.back_edge is not None and code.c.first_added(loop.back_edge) is not None


def _retrying(loop) -> bool:
    """A loop that may go round until something changes (a call's result,
    a break), as opposed to a walk over a range."""
    return bool(loop.reissues) or loop.kind in ("goto", "do") or loop.infinite


def _changelog_against_code(ctx, files, added, comment_claims):
    facts = next((code.tdx.patch for file in files for code in file.code), None)
    if facts is None or not facts.changelog_claims:
        return
    loops = [(file, code, loop) for file, code, loop in added if _retrying(loop)]
    said = set()
    for made in facts.changelog_claims:
        index, claim = made.line, made.claim
        if claim.kind == "forever":
            other = next(((p, n) for p, n, c in comment_claims if c.kind != "forever"), None)
            if other:
                hit = ChangelogSaysForever(path=other[0], line=other[1])
            elif loops and all((b := lp.bound) is not None and b.kind in _GIVES_UP for _f, _c, lp in loops):
                file, code, loop = loops[0]
                hit = ChangelogForeverButBounded(path=file.path, line=_line(code, loop))
            else:
                continue
        else:
            other = next(((p, n) for p, n, c in comment_claims if c.kind == "forever"), None)
            if other:
                hit = ChangelogSaysBounded(what=_what(claim), path=other[0], line=other[1])
            elif loops and not any(_agrees(claim, lp, lp.bound, made.reasoned) for _f, _c, lp in loops):
                file, code, loop = loops[0]
                hit = ChangelogBoundMissing(what=_what(claim), path=file.path, line=_line(code, loop))
            else:
                continue
        if (index, type(hit)) not in said:
            said.add((index, type(hit)))
            ctx.report(ChangelogLine(index), hit)


def _line(code, loop) -> int:
    return code.c.first_added(loop.node) or code.c.line_no(loop.node.start_point[0])


_SEED_LOOP = """
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
"""
# The real review of that loop (TDH.SYS.DISABLE v2, March 2026).
_SEED_URL = "https://lore.kernel.org/all/20260323-fuller_tdx_kexec_support-v2-3-87a36409e051@intel.com/"

INVALID = [
    Case(code=_SEED_LOOP, at=("2:0: Don't loop forever.",),
         why="the seed's comment, a command the loop does not obey (" + _SEED_URL + ")"),
    Case(code=_SEED_LOOP,
         changelog="Retry on both codes.\n\nSo loop infinitely on either of these error codes, until success or "
                   "other\nerror.",
         at=("2:0: Don't loop forever.", 'changelog:3: So loop infinitely'),
         why="the seed's changelog contradicts its comment (" + _SEED_URL + ")"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	/* Retry once after kicking the vCPUs; the second retry succeeds. */
        	do {
        		kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE);
        		err = tdh_mem_track(&kvm_tdx->td);
        	} while (IS_TDX_OPERAND_BUSY(err));
        """, at=('1:0: Retry once',), why="promises one retry, loops without bound"),
    Case(code="""
        	/* Loop forever: the module always completes eventually. */
        	for (i = 0; i < 16; i++) {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        		if (ret != TDX_INTERRUPTED_RESUMABLE)
        			break;
        	}
        """, at=('1:0: Loop forever',), why="claims forever over a counted loop"),
    Case(path="arch/x86/kvm/vmx/tdx.c", before="""
        static u64 tdx_flush_vp_once(struct tdx_vp *vp)
        {
        	return tdh_vp_flush(vp);
        }
        """, code="""
        	/* Bounded: the flush completes after a few interrupted calls. */
        	do {
        		err = tdx_flush_vp_once(&tdx->vp);
        	} while (err == TDX_INTERRUPTED_RESUMABLE);
        """, at=('5:0: Bounded:',), why="a bound claimed over a loop that re-issues through a helper"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	/* Retry at most 3 times. */
        again:
        	err = tdh_mem_track(&kvm_tdx->td);
        	if (err == TDX_INTERRUPTED_RESUMABLE)
        		goto again;
        """, at=('1:0: Retry at most 3 times.',), why="a count claimed over a goto loop"),
    Case(code="""
        	/* Give up after a few tries: the lock is only held briefly. */
        	while (1) {
        		if (mutex_trylock(&tdx_module_lock))
        			break;
        		cpu_relax();
        	}
        """, at=('1:0: Give up after a few tries',),
         why="any loop, not only a SEAMCALL one: while (1) left by a break"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        	/* This can't spin forever. */
        	for (;;) {
        		if (READ_ONCE(ve_info_ready))
        			break;
        		cpu_relax();
        	}
        """, at=("1:0: This can't spin forever.",), why="a bare 'not forever' over for (;;), with no reason given"),
    Case(path="arch/x86/include/asm/tdx.h", before="""
        	/* Give up after RDRAND_RETRY_LOOPS tries. */
        	int retry = RDRAND_RETRY_LOOPS;
        	u64 ret;

        """, code="""
        	do {
        		preempt_disable();
        		ret = __seamcall_dirty_cache(func, fn, args);
        		preempt_enable();
        	} while (ret == TDX_RND_NO_ENTROPY);
        """, at=('8:9: } while (ret == TDX_RND_NO_ENTROPY);',),
         why="the bound was dropped and its comment kept: the finding goes to the changed loop"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	/* Only retry once: the kick ends the contention. */
        retry:
        	err = tdh_mem_range_block(&kvm_tdx->td, level, gpa, &entry, &state);
        	if (IS_TDX_OPERAND_BUSY(err)) {
        		tdx_no_vcpus_enter_start(kvm);
        		goto retry;
        	}
        """, at=('1:0: Only retry once',), why="'retry once' over a goto loop with no flag"),
    Case(code="""
        	/* Give up after 3 tries. */
        	for (i = 0; i < 16; i++) {
        		ret = seamcall(TDH_SYS_LP_INIT, &args);
        		if (ret != TDX_RND_NO_ENTROPY)
        			break;
        	}
        """, at=('1:0: Give up after 3 tries.',), why="the counter allows another number of tries"),
    Case(changelog="Retry the SEAMCALL until it succeeds: TDX_RND_NO_ENTROPY goes away once\nthe entropy pool refills.",
         code="""
        	for (i = 0; i < 8; i++) {
        		ret = seamcall(TDH_SYS_KEY_CONFIG, &args);
        		if (ret != TDX_RND_NO_ENTROPY)
        			break;
        	}
        """, at=('changelog:1: Retry the SEAMCALL until it succeeds',),
         why="changelog against code: 'until it succeeds' over a counted loop"),
    Case(changelog="Call the hypercall again when the VMM asks for a retry. The loop gives up\nafter three attempts.",
         path="arch/x86/coco/tdx/tdx.c", code="""
        	while (1) {
        		ret = __tdx_hypercall(&args);
        		if (ret != TDVMCALL_STATUS_RETRY)
        			break;
        	}
        """, at=('changelog:2: after three attempts',),
         why="changelog against code: a bound the loop does not have"),
    Case(changelog="Retry a bounded number of times when the module is busy.",
         code="""
        	/* Loop until the call succeeds. */
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        """, at=('changelog:1: Retry a bounded number of times',),
         why="the other way round: the changelog claims a bound, the comment says it loops on"),
    Case(changelog="Retry the removal once after kicking the vCPUs out of the guest.",
         path="arch/x86/kvm/vmx/tdx.c", code="""
        	do {
        		tdx_no_vcpus_enter_start(kvm);
        		err = tdh_mem_page_remove(&kvm_tdx->td, gpa, level, &entry, &state);
        	} while (IS_TDX_OPERAND_BUSY(err));
        """, at=('changelog:1: Retry the removal once',), why="changelog promises one retry, the code loops"),
    Case(code="""
        	int tries = 5;

        	/* Keep retrying until it succeeds. */
        	do {
        		ret = seamcall(TDH_SYS_KEY_CONFIG, &args);
        	} while (ret == TDX_RND_NO_ENTROPY && --tries);
        """, at=('3:0: Keep retrying until it succeeds.',), why="'until it succeeds' over a loop that gives up"),
    Case(changelog="Retry while the VMM asks for it. The retry cannot loop forever.",
         path="arch/x86/coco/tdx/tdx.c", code="""
        	do {
        		ret = __tdx_hypercall(&args);
        	} while (ret == TDVMCALL_STATUS_RETRY);
        """, at=('changelog:1: The retry cannot loop forever.',),
         why="a denial inside the claim ('cannot loop forever') over a loop with no bound"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.c", code="""
        	/* Bounded by RDRAND_RETRY_LOOPS. */
        	do {
        		ret = seamcall(TDH_SYS_KEY_CONFIG, &args);
        	} while (ret == TDX_RND_NO_ENTROPY);
        """, at=('1:0: Bounded by RDRAND_RETRY_LOOPS.',),
         why="a comment with no subject at a loop speaks of that loop"),
    Case(code="""
        	/* Loop forever if the module says it is busy. */
        	for (i = 0; i < 8; i++) {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        		if (ret != TDX_SYS_BUSY)
        			break;
        	}
        """, at=('1:0: Loop forever if the module',), why="a condition on the status does not make 'forever' a hazard"),
]

VALID = [
    Case(code="""
        	/*
        	 * TDH.SYS.DISABLE is guaranteed to make forward progress between
        	 * interrupts, so it is safe to loop unconditionally here.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """, why="v1 wording: says what the code does"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        	/*
        	 * This hypercall should never return and it is not safe
        	 * to keep the guest running. Call it forever if it
        	 * happens to return.
        	 */
        	while (1)
        		__tdx_hypercall(&args);
        """, why="tdx_panic(): forever is the point"),
    Case(code="""
        	/* Don't loop forever: give up after RDRAND_RETRY_LOOPS tries. */
        	do {
        		ret = seamcall(TDH_SYS_KEY_CONFIG, &args);
        	} while (ret == TDX_RND_NO_ENTROPY && --retry);
        """, why="the claimed bound exists"),
    Case(code=_SEED_LOOP.replace("Don't loop forever.", "Loop until the SEAMCALL completes."),
         changelog="So loop infinitely on either of these error codes, until success or other\nerror.",
         why="changelog and comment agree"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	/* Retry at most 3 times. */
        again:
        	err = tdh_mem_track(&kvm_tdx->td);
        	if (err == TDX_INTERRUPTED_RESUMABLE && ++tries < 3)
        		goto again;
        """, why="the goto loop has the bound it claims"),
    Case(code="""
        	/* Give up after three tries. */
        	for (i = 0; i < 3; i++) {
        		ret = seamcall(TDH_SYS_LP_INIT, &args);
        		if (ret != TDX_RND_NO_ENTROPY)
        			break;
        	}
        """, why="the counter allows the number the comment names"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	/* Retry once, after kicking every vCPU out of the guest. */
        again:
        	err = tdh_mem_track(&kvm_tdx->td);
        	if (IS_TDX_OPERAND_BUSY(err) && !kicked) {
        		kicked = true;
        		kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE);
        		goto again;
        	}
        """, why="a flag set on the way back allows exactly one retry"),
    Case(code="""
        	/*
        	 * This cannot spin forever: an interrupted call picks up where the
        	 * previous one stopped.
        	 */
        	do {
        		ret = seamcall(TDH_SYS_DISABLE, &args);
        	} while (ret == TDX_INTERRUPTED_RESUMABLE);
        """, why="a descriptive claim that carries its own reason is an argument"),
    Case(code="""
        	/* Bounded: the caller's watchdog gives up after 10 seconds. */
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        """, why="the bound is kept elsewhere, and the comment says where"),
    Case(changelog="Keep calling TDH.SYS.SHUTDOWN until it succeeds; TDX_SYS_BUSY lasts only\nwhile another TDH.SYS.* call runs.",
         code="""
        	do {
        		ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	} while (ret == TDX_SYS_BUSY);
        """, why="the changelog says it loops until success, and so does the code"),
    Case(changelog="Give up after three attempts, since the VMM may never stop asking for a retry.",
         path="arch/x86/coco/tdx/tdx.c", code="""
        	for (i = 0; i < 3; i++) {
        		ret = __tdx_hypercall(&args);
        		if (ret != TDVMCALL_STATUS_RETRY)
        			break;
        	}
        """, why="the changelog's bound is in the code"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        	/* Retrying the hypercall a second time should succeed; use 3 just in case */
        	const int max_retries_per_page = 3;
        	int retry_count = 0;

        	while (retry_count < max_retries_per_page) {
        		u64 ret = __tdx_hypercall(&args);

        		if (ret != TDVMCALL_STATUS_RETRY)
        			return !ret;
        		retry_count++;
        	}
        """, why="tdx_map_gpa() in 6.12: an expectation, not a claim about the code's bound"),
    Case(code="""
        	do {
        		ret = seamcall_prerr_ret(TDH_SYS_TDMR_INIT, &args);
        		if (ret)
        			return ret;
        		next = args.rdx;
        		/* Keep making SEAMCALLs until the TDMR is done */
        	} while (next < tdmr->base + tdmr->size);
        """, why="init_tdmr() in 6.12: a progress loop that says it runs until done"),
    Case(code="""
        	/* The copy below is bounded by PAGE_SIZE. */
        	while (len) {
        		len -= copy_chunk(dst, src, len);
        	}
        """, why="'bounded' about something other than looping"),
    Case(code="""
        	int retry = RDRAND_RETRY_LOOPS;

        	/* Bounded by RDRAND_RETRY_LOOPS. */
        	do {
        		ret = seamcall(TDH_SYS_KEY_CONFIG, &args);
        	} while (ret == TDX_RND_NO_ENTROPY && --retry);
        """, why="the subjectless claim and the counter agree"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        	do {
        		/*
        		 * A zero length must end the walk here; we would have an
        		 * endless loop if it did not.
        		 */
        		if (!len)
        			break;
        		addr += len;
        		len = next_len(addr);
        	} while (addr < end);
        """, why="an endless loop named as a hazard the code avoids, not as what it does"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.c", code="""
        	while (1) {
        		/*
        		 * Keeping the generation strictly increasing ensures this
        		 * cannot spin forever.
        		 */
        		gen = READ_ONCE(tdx_gen);
        		if (try_publish(gen))
        			break;
        	}
        """, why="the claim of an end names its own cause"),
    Case(code="""
        	/* Give up after 3 tries; otherwise the caller could be stuck retrying forever. */
        	for (i = 0; i < 3; i++) {
        		ret = seamcall(TDH_SYS_LP_INIT, &args);
        		if (ret != TDX_RND_NO_ENTROPY)
        			break;
        	}
        """, why="'could ... forever' motivates the bound; it does not describe the loop"),
]
