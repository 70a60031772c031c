"""A plain `inline` helper on a path that needs `__always_inline`.

What it flags, in TDX files:
- a function marked `inline` but not `__always_inline` that a `noinstr`
  function calls (or an `__always_inline` one, which is inlined into such
  paths), when the patch adds the helper or the call; both
  definitions must be in sight (the patch's files, or whole files under
  `tdxbot check`);
- an `inline` function, not `__always_inline`, that takes an `sc_func_t`
  (a SEAMCALL assembly function passed by pointer), when the patch adds it.

Why: `inline` is a hint. The compiler may emit an out-of-line copy, which
lands in ordinary .text where it can be traced or instrumented, and a call
to it from noinstr code (tdh_vp_enter(), tdx_vcpu_enter_exit(),
tdx_to_vmx_exit_reason()) breaks the noinstr guarantee. For sc_retry()-style
helpers an out-of-line copy also turns the direct call into an indirect
one, which CFI then has to allow; the kernel had to annotate sc_retry() and
sc_retry_prerr() `__always_inline` in a stable fix. Reviewers ask for it on
sight ("I suppose __always_inline is still needed even if it's a single
statement function").

Fires on:
    static inline u64 TDX_STATUS(u64 err) { return err & TDX_STATUS_MASK; }
called from `static noinstr void tdx_vcpu_enter_exit(struct kvm_vcpu *vcpu)`.
Must not fire on `static __always_inline u64 TDX_STATUS(u64 err)`, nor on
an inline helper that only ordinary functions call.
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, Violation, function_name, lazy_re

ID = "tdx-noinstr-inline"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("inline", "__always_inline", "noinstr", "cfi")

# Every finding is about a function marked plain `inline`, and its head is
# in a region's text: most patches have none.
_INLINE = lazy_re(rb"inline(?<!\winline)\b")  # the literal first: a fast scan


class TakesScFunc(Violation):
    message = "{name}() takes an sc_func_t but is only inline; make it __always_inline"
    comment = ("{name}() is handed a SEAMCALL assembly function. If the compiler keeps an "
               "out-of-line copy, that call becomes indirect and CFI has to allow it; sc_retry() "
               "had to become __always_inline for this. Please do the same here.")


class OnNoinstrPath(Violation):
    message = "{callee}() is called from {kind} {caller}() but is only inline; make it __always_inline"
    comment = ("{caller}() is {kind} and calls {callee}(), which is plain inline: {why}. "
               "Please make {callee}() __always_inline.")

    @property
    def why(self) -> str:
        if self.kind == "noinstr":
            return "an out-of-line copy would sit in instrumentable text"
        return (f"{self.caller}() is always inlined into its callers, the noinstr entry paths "
                "among them, and an out-of-line copy of the helper would not be")


def check_patch(ctx):
    if not any(_INLINE.search(code.c.source) for file in ctx.files(TDX) for code in file.code):
        return
    functions = list(_functions(ctx))
    helpers = {name: (code, func) for code, func, name, notes in functions if _plain_inline(notes)}
    for code, func, name, notes in functions:
        if _plain_inline(notes) and _takes_sc_func(code.c, func):
            code.report(func, TakesScFunc(name=name))
    told = set()  # one finding per helper
    for code, func, name, notes in functions if helpers else ():
        kind = "noinstr" if "noinstr" in notes else "__always_inline" if "__always_inline" in notes else None
        if kind is None:
            continue
        for call, callee in code.c.calls(within=func):
            if callee not in helpers or callee in told:
                continue
            hcode, hfunc = helpers[callee]
            violation = OnNoinstrPath(callee=callee, kind=kind, caller=name)
            if _starts_added(hcode, hfunc):
                hcode.report(hfunc, violation)
            elif _starts_added(code, call):
                code.report(call, violation)
            else:
                continue  # neither the helper's head nor the call is new: maybe another call is
            told.add(callee)


def _functions(ctx):
    """(code, definition node, name, annotations) for every function in sight."""
    for file in ctx.files(TDX):
        for code in file.code:
            for func in code.c.functions():
                name = function_name(func)
                if name:
                    yield code, func, name, code.c.annotations(func)


def _plain_inline(notes) -> bool:
    return "inline" in notes and "__always_inline" not in notes


def _starts_added(code, node) -> bool:
    """Does the patch add the line node starts on?"""
    return code.c.is_added(code.c.line_no(node.start_point[0]))


def _takes_sc_func(c, func) -> bool:
    return any(c.text(t) == "sc_func_t" for t in c.find("type_identifier", within=func)
               if t.start_byte < (func.child_by_field_name("body") or func).start_byte)


_HEADER = "arch/x86/include/asm/shared/tdx_errno.h"
_STATUS_HELPER = """
static inline u64 TDX_STATUS(u64 err)
{
	return err & TDX_STATUS_MASK;
}
"""
_ENTER_EXIT = """
static noinstr void tdx_vcpu_enter_exit(struct kvm_vcpu *vcpu)
{
	struct vcpu_tdx *tdx = to_tdx(vcpu);

	tdx->vp_enter_ret = tdh_vp_enter(&tdx->vp, &tdx->vp_enter_args);
	if (TDX_STATUS(tdx->vp_enter_ret) == TDX_OPERAND_BUSY)
		tdx->exit_reason.full = -1u;
}
"""

INVALID = [
    Case(path=_HEADER, code=_STATUS_HELPER, extra_files=(("arch/x86/kvm/vmx/tdx.c", _ENTER_EXIT),),
         at=('1:1: static inline u64 TDX_STATUS(u64 err)',), why="new inline helper, noinstr caller"),
    Case(path="arch/x86/kvm/vmx/tdx.c", before=_STATUS_HELPER + """
        static noinstr void tdx_vcpu_enter_exit(struct kvm_vcpu *vcpu)
        {
        	struct vcpu_tdx *tdx = to_tdx(vcpu);

        	tdx->vp_enter_ret = tdh_vp_enter(&tdx->vp, &tdx->vp_enter_args);
        """, code="""
        	if (TDX_STATUS(tdx->vp_enter_ret) == TDX_OPERAND_BUSY)
        		tdx->exit_reason.full = -1u;
        """, after="}", at=('11:5: TDX_STATUS(tdx->vp_enter_ret)',), why="new call in noinstr code"),
    Case(code="""
        static inline u64 sc_retry_busy(sc_func_t func, u64 fn, struct tdx_module_args *args)
        {
        	return func(fn, args);
        }
        """, at=('1:1: static inline u64 sc_retry_busy(sc_func_t func',), why="sc_func_t, not always inline"),
    Case(path=_HEADER, code=_STATUS_HELPER, extra_files=(("arch/x86/kvm/vmx/tdx.c", """
        static __always_inline union vmx_exit_reason tdx_to_vmx_exit_reason(struct kvm_vcpu *vcpu)
        {
        	switch (TDX_STATUS(to_tdx(vcpu)->vp_enter_ret)) {
        	case TDX_SUCCESS:
        		return to_tdx(vcpu)->exit_reason;
        	}
        	return (union vmx_exit_reason){ .full = -1u };
        }
        """),), at=('1:1: static inline u64 TDX_STATUS',), why="reached through an __always_inline caller"),
]

VALID = [
    Case(path=_HEADER, code=_STATUS_HELPER.replace("static inline", "static __always_inline"),
         extra_files=(("arch/x86/kvm/vmx/tdx.c", _ENTER_EXIT),), why="__always_inline"),
    Case(path=_HEADER, code=_STATUS_HELPER, extra_files=(("arch/x86/kvm/vmx/tdx.c", """
        static int tdx_handle_exit(struct kvm_vcpu *vcpu)
        {
        	return TDX_STATUS(to_tdx(vcpu)->vp_enter_ret) == TDX_SUCCESS;
        }
        """),), why="only ordinary callers"),
    Case(code="""
        static __always_inline u64 sc_retry_busy(sc_func_t func, u64 fn, struct tdx_module_args *args)
        {
        	return func(fn, args);
        }
        """, why="sc_func_t helper that is __always_inline"),
    Case(path="arch/x86/kvm/vmx/tdx.c", before=_STATUS_HELPER + _ENTER_EXIT, code="""
        static void tdx_flush(void)
        {
        	tdx_flush_all();
        }
        """, why="neither the helper nor the call is new"),
]
