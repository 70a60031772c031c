"""A locking rule stated in a comment that the function does not assert.

What it flags: a comment added above a function, or at the top of its
body, that tells callers to hold a lock ("Caller must hold
tdx_module_lock", "Must be called with kvm->mmu_lock held"), to have
interrupts or preemption disabled, or to be inside an RCU read-side
section, when the function has no matching assertion:
lockdep_assert_held*() (or assert_spin_locked(), lockdep_is_held(),
__must_hold()) for a lock, lockdep_assert_irqs_disabled() for interrupts,
lockdep_assert_preemption_disabled() for preemption,
lockdep_assert_in_rcu_read_lock() or rcu_read_lock_held() for RCU.
Only whole function definitions are judged: when the patch shows part of
one, the body may hold the assertion out of sight.

Why: the tip tree handbook asks for lockdep assertions instead of
locking comments. A comment goes stale and is checked by nobody; the
assertion documents the same rule and lockdep verifies it on every call.
KVM's TDX code does this (lockdep_assert_held_write(&kvm->mmu_lock)).

Fires on:
    /* Caller must hold tdx_module_lock. */
    static int tdx_module_reset(void)
    {
        return do_reset();
    }
Must not fire when the body starts with
lockdep_assert_held(&tdx_module_lock); nor on "The caller must hold a
reference to the page", which is no lock.
"""
from __future__ import annotations

import re

from ..lint.kit import X86, Case, Violation, call_name, iter_nodes, lazy_re, re_lower, strip_comment_markers

ID = "lock-comment-not-asserted"
SEVERITY = "warning"
PATHS = X86
TOPICS = ("lockdep", "assert", "lock", "held")

_LOCKISH = r"[\w>.&\[\]-]*(?:lock|mutex|sem|rwsem|seqcount)\w*"
# A demand, not a description: "must be called with", not "is executed with".
_MUST = (r"\b(?:must|should|has to|have to|needs? to|expects? to|requires? to|"
         r"only\s+(?:be\s+)?(?:called|invoked|run|used))\b[^.;]{0,40}?")
# (kind, pattern): what the comment demands. The lock name is group 1 where there is one.
_DEMANDS = (
    ("rcu", lazy_re(_MUST + r"\b(?:under|within|inside|in|with)\s+(?:an?\s+|the\s+)?"
                    r"(?:rcu_read_lock\(\)|rcu(?:\s+read(?:-side)?)?\s+(?:lock|critical section|"
                    r"read-side critical section))", re.I)),
    ("rcu", lazy_re(r"\bcallers?\s+(?:must|should)\s+hold\s+(?:the\s+)?rcu_read_lock\b", re.I)),
    ("irqs", lazy_re(_MUST + r"\bwith\s+(?:irqs|interrupts|local\s+(?:irqs|interrupts))\s+"
                     r"(?:disabled|off)", re.I)),
    ("preempt", lazy_re(_MUST + r"\bwith\s+preemption\s+(?:disabled|off)", re.I)),
    ("lock", lazy_re(r"\bcallers?\s+(?:must|should|has to|have to|needs? to|is expected to)\s+"
                     r"(?:hold|own|have taken|have acquired|take|acquire|be holding)\s+(?:the\s+)?"
                     rf"({_LOCKISH})(?![\w(])", re.I)),
    ("lock", lazy_re(r"\b(?:must|should|has to|needs? to|only)\s+(?:be\s+)?called\s+"
                     rf"(?:with|while holding|under)\s+(?:the\s+)?({_LOCKISH})(?![\w(])", re.I)),
    ("lock", lazy_re(rf"\b(?:requires|expects)\s+(?:the\s+)?({_LOCKISH})(?![\w(])\s+(?:to be\s+)?"
                     r"(?:held|locked|taken)", re.I)),
)
_MODE = lazy_re(r"(?<!\s)\s++(?:(?:held|locked|taken|acquired)\s++)?+(?:for|in)\s++(read|write)", re.I)
# A word every demand has, on the comment's prose (its lines joined): one
# search before the seven demands.
_DEMAND_WORD = lazy_re(r"\b(?:must|should|has to|have to|needs? to|expects?|requires?|only|callers?)\b", re.I)
# The same on the raw comment, where a line break and a '*' may come
# between "has" and "to": it finds every comment _DEMAND_WORD finds, before
# the prose is put together.
_DEMAND_RAW = lazy_re(r"\b(?=[mshneorcMSHNEORC])(?:must|should|ha(?:s|ve)[\s*/]+to|needs?[\s*/]+to|expects?|requires?|only|callers?)\b",
                      re.I)
# What every demand is about (the rcu, irqs and preempt patterns name it,
# the lock patterns end in _LOCKISH): a comment naming none of these
# demands nothing.
_KIND_SUBJECTS = {"rcu": ("rcu",), "irqs": ("irq", "interrupt"), "preempt": ("preempt",),
                  "lock": ("lock", "mutex", "sem", "seqcount")}
_SUBJECTS = tuple(word for words in _KIND_SUBJECTS.values() for word in words)


def _names_a_subject(text: str) -> bool:
    low = re_lower(text)
    return any(word in low for word in _SUBJECTS)


_GENERIC_LOCK = lazy_re(r"^(?:lock|mutex|sem|rwsem|spinlock|seqcount)$", re.I)

_ASSERTS = {
    "lock": ("lockdep_assert_held", "lockdep_assert_held_write", "lockdep_assert_held_read",
             "lockdep_assert_held_once", "lockdep_assert", "assert_spin_locked",
             "assert_raw_spin_locked", "lockdep_is_held", "mutex_is_locked", "spin_is_locked",
             "rwsem_is_locked", "lockdep_assert_locked", "__must_hold", "lockdep_assert_wiphy"),
    "irqs": ("lockdep_assert_irqs_disabled", "irqs_disabled", "raw_irqs_disabled"),
    "preempt": ("lockdep_assert_preemption_disabled", "preemptible", "lockdep_assert_irqs_disabled",
                "irqs_disabled"),
    "rcu": ("lockdep_assert_in_rcu_read_lock", "rcu_read_lock_held", "rcu_read_lock_any_held",
            "RCU_LOCKDEP_WARN", "lockdep_assert_in_rcu_reader"),
}
_WANTED = {
    "lock": "lockdep_assert_held({lock})",
    "lock-write": "lockdep_assert_held_write({lock})",
    "lock-read": "lockdep_assert_held_read({lock})",
    "irqs": "lockdep_assert_irqs_disabled()",
    "preempt": "lockdep_assert_preemption_disabled()",
    "rcu": "lockdep_assert_in_rcu_read_lock()",
}
_SAYS = {
    "lock": "holding {lock}",
    "lock-write": "holding {lock} for write",
    "lock-read": "holding {lock} for read",
    "irqs": "interrupts disabled",
    "preempt": "preemption disabled",
    "rcu": "an RCU read-side critical section",
}


class NotAsserted(Violation):
    message = "the comment asks for {says}, but nothing asserts it; use {wanted}"
    comment = ("Rather than a comment, please make this an assertion: {wanted}. It says the same "
               "to the reader, and lockdep checks it on every call.")

    @property
    def wanted(self) -> str:
        lock = self.lock
        return _WANTED[self.kind].format(lock=f"&{lock}" if lock and not lock.startswith("&")
                                         else lock or "...")

    @property
    def says(self) -> str:
        return _SAYS[self.kind].format(lock=self.lock or "a lock")


def _demand(comment) -> tuple[str, str, int] | None:
    """(kind, lock name or "", the line the demand starts on)."""
    prose, starts = "", []
    for no, text in comment.lines:
        words = strip_comment_markers(text)
        if words:
            starts.append((len(prose), no))
            prose += words + " "
    if not _DEMAND_WORD.search(prose):
        return None
    low = re_lower(prose)
    for kind, pattern in _DEMANDS:
        if not any(word in low for word in _KIND_SUBJECTS[kind]):
            continue  # the pattern names one of these: a search in C first
        m = pattern.search(prose)
        if m:
            lock = m.group(1).rstrip(".,;:") if m.groups() else ""
            line = max((no for at, no in starts if at <= m.start()), default=comment.lines[0][0])
            mode = _MODE.match(prose, m.end())
            if kind == "lock" and mode:
                kind = "lock-" + mode.group(1).lower()
            return kind, lock, line
    return None


def _calls_in(node) -> set[str]:
    names = {call_name(c) for c in iter_nodes(node, {"call_expression"})}
    # __must_hold() sits in the declarator as an attribute-like macro.
    names.update(n.text.decode("utf-8", "replace") for n in iter_nodes(node, {"identifier"})
                 if n.text in (b"__must_hold",))
    return names


def _leading_comments(region, func) -> list:
    """The comment right above the function (ending on its first line or
    the line before) and those at the top of its body, nearest first."""
    body = func.child_by_field_name("body")
    first = next((c for c in body.named_children if c.type != "comment"), None) if body else None
    top_end = first.start_byte if first is not None else (body.end_byte if body else func.end_byte)
    row = func.start_point[0]
    found = region.comments_between(func.start_byte, top_end)
    found += [c for r in (row, row - 1) for c in region.comments_ending_on(r)
              if c.node.start_byte < func.start_byte]
    found.sort(key=lambda c: -c.node.end_point[0])
    return found


def check_file(file):
    for code in file.code:
        demands = _added_demands(code.c)
        if not demands:
            continue
        for func in code.c.functions():
            if code.c.line_no(func.end_point[0]) is None:
                continue  # a cut-off body may assert out of sight
            for comment in _leading_comments(code.c, func):
                demand = demands.get(comment.node.start_byte)
                if demand is None:
                    continue
                kind, lock, line = demand
                if _calls_in(func) & set(_ASSERTS[kind.split("-")[0]]):
                    continue
                if kind.startswith("lock") and _GENERIC_LOCK.match(lock):
                    lock = ""  # "the lock on X": say nothing rather than guess
                code.report(line, NotAsserted(kind=kind, lock=lock))
                break


def _added_demands(region) -> dict:
    """The added comments that demand something, by where they start: few
    comments do, so the functions are looked at only when one does."""
    return {c.node.start_byte: demand for c in region.comments()
            if _names_a_subject(c.raw) and _DEMAND_RAW.search(c.raw)
            and any(region.is_added(no) for no, _ in c.lines)
            and (demand := _demand(c)) is not None}


INVALID = [
    Case(code="""
        /* Caller must hold tdx_module_lock. */
        static int tdx_module_reset(void)
        {
        	return tdx_module_do_reset();
        }
        """, at=('1:0: Caller must hold tdx_module_lock',), why="lock stated, not asserted"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        /*
         * Zap the private mapping of @gfn.
         *
         * Must be called with kvm->mmu_lock held for write.
         */
        static void tdx_sept_zap(struct kvm *kvm, gfn_t gfn)
        {
        	tdh_mem_range_block(&to_kvm_tdx(kvm)->td, gfn, 0, NULL, NULL);
        }
        """, at=('4:0: Must be called with kvm->mmu_lock held',), why="kerneldoc-style block"),
    Case(code="""
        static void tdx_flush_vp(void *arg)
        {
        	/* Must be called with interrupts disabled. */
        	struct tdx_flush_vp_arg *p = arg;

        	p->err = tdh_vp_flush(p->vp);
        }
        """, at=('3:0: Must be called with interrupts disabled',), why="irqs, comment at the top of the body"),
    Case(code="""
        /* Caller must hold tdx_module_lock. */
        static int __init tdx_module_setup(void)
        {
        	return tdx_module_do_setup();
        }
        """, at=('1:0: Caller must hold tdx_module_lock',), why="an annotated function"),
    Case(code="""
        /* Requires the tdx_module_lock to be held. */
        static void tdx_module_clear_state(void)
        {
        	tdx_module_state.initialized = false;
        }
        """, at=('1:0: Requires the tdx_module_lock to be held',), why="'requires ... held'"),
    Case(code="""
        /* This is only called with preemption disabled, as it uses this_cpu_ptr(). */
        static u64 tdx_this_cpu_keyid(void)
        {
        	return *this_cpu_ptr(&tdx_keyid);
        }
        """, at=('1:0: only called with preemption disabled',), why="preemption"),
]

VALID = [
    Case(code="""
        /* Caller must hold tdx_module_lock. */
        static int tdx_module_reset(void)
        {
        	lockdep_assert_held(&tdx_module_lock);
        	return tdx_module_do_reset();
        }
        """, why="asserted"),
    Case(code="""
        /* The caller must hold a reference to the page. */
        static void tdx_reclaim_page(struct page *page)
        {
        	tdx_clear_page(page);
        }
        """, why="a reference is not a lock"),
    Case(before="""
        /* Caller must hold tdx_module_lock. */
        static int tdx_module_reset(void)
        {
        """, code="\tpr_info(\"resetting\\n\");", after="""
        	return tdx_module_do_reset();
        }
        """, why="the comment was there before the patch"),
    Case(code="""
        /* Caller must hold tdx_module_lock. */
        static int tdx_module_reset(void)
        {
        	int ret;

        	ret = tdx_module_do_reset();
        """, why="part of a function: the assertion may be below"),
    Case(code="""
        /*
         * Must be called with tdx_lock_cpus() held, which also disables
         * migration, so that the per-CPU list stays put.
         */
        static void tdx_flush_cpu_list(void)
        {
        	tdx_flush_list(this_cpu_ptr(&tdx_list));
        }
        """, why="tdx_lock_cpus() is a function, not a lock lockdep knows"),
    Case(code="""
        /*
         * Runs from the TDH.VP.ENTER exit path, which is executed with
         * interrupts disabled, so no locking is needed here.
         */
        static void tdx_exit_stats(struct vcpu_tdx *tdx)
        {
        	tdx->exits++;
        }
        """, why="describes a caller's context, asks nothing"),
    Case(code="""
        static void tdx_flush_all(void)
        {
        	cpus_read_lock();
        	/* Callers of tdx_flush_vp() must hold cpus_read_lock(). */
        	on_each_cpu(tdx_flush_vp, NULL, 1);
        	cpus_read_unlock();
        }
        """, why="a comment further down the body is about the code below it"),
]
