"""A comment claims a loop bound the code does not have (or the reverse).

What it flags: in TDX code, a comment at a loop that re-issues a SEAMCALL
and (a) claims a bound ("Don't loop forever", "bounded", "at most N
retries", "limit the number of retries") over a loop that has none, (b)
claims a single retry ("retry once", "the second retry succeeds") over a
loop that goes round more than twice, or (c) says the code loops forever
over a loop that is bounded. Also a changelog that says the code loops
forever or infinitely while a comment the patch adds says it does not.

Why: readers trust comments over code they skim. "Don't loop forever."
above `do { ... } while (ret == A || ret == B);` reads as a command the
code does not obey (TDH.SYS.DISABLE v3), and the v2 changelog said "So
loop infinitely" about the same loop. Say what the code does, then why
that is safe.

Fires on:
    /* Don't loop forever. */
    do {
        ret = seamcall(TDH_SYS_DISABLE, &args);
    } while (ret == TDX_INTERRUPTED_RESUMABLE);
Must not fire on "it is safe to loop unconditionally here" over that loop,
nor on tdx_panic()'s "Call it forever if it happens to return." over
`while (1)`.
"""
from __future__ import annotations

import re

from ..lint.kit import TDX, Case, ChangelogLine, Violation, lazy_re, re_lower

ID = "comment-contradicts-code"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("loop", "forever", "bound", "retry", "once", "contradict")

_BOUND_CLAIM = lazy_re(
    r"(?:don'?t|do not|won'?t|will not|never|not|doesn'?t|does not) (?:loop|spin|retry)(?:ing)? "
    r"(?:forever|indefinitely|infinitely|endlessly)|\bbounded\b|"
    r"limit(?:s|ed)? (?:the )?(?:number of )?(?:retries|retrying|attempts)|"
    r"at most \d+ (?:times|retries|tries|attempts|iterations)", re.I)
_ONCE_CLAIM = lazy_re(r"retr(?:y|ied|ies) (?:only )?once|\b(?:a|one) single retry|"
                      r"\bonly one retry|second (?:retry|attempt|try)", re.I)
_FOREVER_CLAIM = lazy_re(r"\b(?:loops?|looping|spins?|spinning|retr(?:y|ies|ying)|call it) "
                         r"(?:forever|infinitely|indefinitely|unconditionally)\b", re.I)
_FOREVER_WORDS = ("forever", "infinitely", "indefinitely", "unconditionally")  # one ends each claim
_NEGATION = lazy_re(r"(?:don'?t|do not|won'?t|will not|never|not|doesn'?t|does not)\s+\w*\s*$", re.I)


class BoundClaimed(Violation):
    message = "comment claims a bound but the loop has none"
    comment = ("The comment says the loop is bounded, but nothing in the code bounds it. Please "
               "describe what the code does (e.g. 'Loop until the SEAMCALL completes; this ends "
               "because ...') or add the bound.")


class OnceClaimed(Violation):
    message = "comment promises a single retry but the code loops"
    comment = ("This says the SEAMCALL is retried once, but the code loops. Either retry exactly "
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


def check_patch(ctx):
    files = ctx.files(PATHS)
    for file in files:
        for code in file.code:
            for loop in code.loops.all:
                if not loop.reissues:
                    continue
                claims = [claim for comment in loop.comments() for claim in _claims(comment)]
                bound = loop.bound if claims else None  # worked out only for a loop that has a claim
                for no, kind in claims:
                    if kind == "bound" and bound is None:
                        code.report(no, BoundClaimed())
                    elif kind == "once" and (bound is None or (bound.value or 0) > 2):
                        code.report(no, OnceClaimed())
                    elif kind == "forever" and bound is not None and bound.kind in ("counter", "deadline"):
                        code.report(no, ForeverClaimed(claim=code.c.text_at(no).strip()))
    # The changelog against the comments: read every comment only when the
    # changelog says "forever" somewhere.
    forever = [index for index, text in ctx.patch.prose_lines if _forever(text)]
    if not forever:
        return
    claims = [(file.path, no) for file in files for code in file.code for comment in code.c.comments()
              for no, kind in _claims(comment) if kind == "bound" and code.c.is_added(no)]
    if claims:
        path, no = claims[0]
        for index in forever:
            ctx.report(ChangelogLine(index), ChangelogSaysForever(path=path, line=no))


def _forever(text: str) -> re.Match | None:
    low = re_lower(text)
    if not any(word in low for word in _FOREVER_WORDS):
        return None  # a search in C before the pattern, which every line of prose meets
    for m in _FOREVER_CLAIM.finditer(text):
        if not _NEGATION.search(text[:m.start()]):
            return m
    return None


def _claims(comment):
    """(line number, kind) for each claim line in a comment."""
    for no, text in comment.lines:
        if _BOUND_CLAIM.search(text):
            yield no, "bound"
        elif _ONCE_CLAIM.search(text):
            yield no, "once"
        elif _forever(text):
            yield no, "forever"


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

INVALID = [
    Case(code=_SEED_LOOP, at=("2:0: Don't loop forever.",), why="the seed's comment"),
    Case(code=_SEED_LOOP,
         changelog="Retry on both codes.\n\nSo loop infinitely on either of these error codes, until success or other\nerror.",
         at=("2:0: Don't loop forever.", 'changelog:3: So loop infinitely'),
         why="the seed's changelog contradicts its comment"),
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
        """, at=('1:0: Retry at most 3 times.',), why="a bound claimed over a goto loop"),
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
]
