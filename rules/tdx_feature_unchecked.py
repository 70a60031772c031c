"""A leaf the TDX module gates behind a TDX_FEATURES0 bit, called without checking it or saying why.

What it flags: a call that issues a leaf which, in the TDX module data,
fails unless an enumerated TDX_FEATURES0 feature is present (the module
tests the flag the feature bit is enumerated from and returns an error
without it; in the 1.5.01 source that is TDG.MR.VERIFYREPORT, gated by
TDX_FEATURES0 bit 8, LOCAL_ATTESTATION), when nothing in the patch checks
that feature (names its TDX_FEATURES0_* define) and neither the changelog
nor a comment at the call says why the check is left out (mentions the
enumeration, the feature bit or its name). A thin wrapper that only issues
the leaf and returns its status is not flagged: its callers are.

Only gating the data shows is used: leaves the module calls without a
feature test, and leaves newer than the data (TDH.SYS.DISABLE, enumerated
in newer modules), get no remark.

Why: on a module without the feature the leaf fails with an error status
the caller may not expect, and a reader cannot tell whether skipping the
enumeration is deliberate. On the TDH.SYS.DISABLE series the reviewer asked
"Does it need to be enumerated? ... I am seeing the next patch calling it
unconditionally", and, once the reason was given, that skipping the check
"deserves explanation in the commit message or a comment".

Fires on:
    ret = __tdcall(TDG_MR_VERIFYREPORT, &args);
in a patch that neither tests TDX_FEATURES0_LOCAL_ATTESTATION nor explains.
Must not fire when the code returns early unless the feature is present,
when the changelog says the enumeration is ignored on purpose, nor on a
TDH.SYS.DISABLE call.
"""
from __future__ import annotations

from ..lint.kit import TDX, Case, Violation, function_name, lazy_re, re_lower, resolve

ID = "tdx-feature-unchecked"
SEVERITY = "warning"
PATHS = TDX
TOPICS = ("enumerat", "feature", "features0", "unconditional")

_EXPLAINED = lazy_re(r"(?i)\benumerat|\bTDX_FEATURES0\b|\bfeature (?:bit|flag)s?\b")


class GatedLeafUnchecked(Violation):
    message = "{leaf} needs TDX_FEATURES0 bit {bit} ({feature}); nothing checks it or says why not"
    comment = ("The TDX module only runs {leaf} when it enumerates {feature} (TDX_FEATURES0 bit "
               "{bit}); without it the call fails with {fails}. Please check the feature before "
               "calling, or say in the changelog or a comment why the enumeration can be skipped.")


def check_patch(ctx):
    found = []
    for file in ctx.files(TDX):
        for code in file.code:
            for call in code.c.calls():
                ref = code.abi.leaf_ref(call.node)
                if ref is None or not code.c.touches_added(call.node):
                    continue
                leaf = resolve(ref)
                if leaf is None or leaf.gate is None or _is_thin_wrapper(code, call.node, leaf):
                    continue
                found.append((code, call.node, leaf))
    if not found:
        return
    texts = [ln for ln in ctx.patch.changelog_lines]
    sources = [code.c for file in ctx.files(TDX) for code in file.code]
    for code, node, leaf in found:
        gate = leaf.gate
        if any(gate.feature.encode() in region.source for region in sources):
            continue  # the patch tests the feature somewhere
        words = gate.feature.replace("TDX_FEATURES0_", "").replace("_", " ").lower()
        near = [c.prose() for c in code.c.comment_above(_statement(node), max_gap=6)]
        func = code.c.function_at(node.start_byte)
        if func is not None:
            near += [c.prose() for c in code.c.comment_above(func)] + [c.prose() for c in code.c.comments_within(func)]
        said = "\n".join(texts + near)
        if _EXPLAINED.search(said) or words in re_lower(said):
            continue
        code.report(node, GatedLeafUnchecked(leaf=leaf.spec_name, bit=gate.bit,
                                             feature=gate.feature.replace("TDX_FEATURES0_", ""),
                                             fails=" or ".join(gate.fails_with) or "an error"))


def _statement(node):
    while node.parent is not None and node.parent.type not in ("compound_statement", "translation_unit"):
        node = node.parent
    return node


def _is_thin_wrapper(code, call, leaf) -> bool:
    """The call is the body of a function that only wraps the leaf: it is
    named after the leaf, or it returns this call's status."""
    func = code.c.function_at(call.start_byte)
    if func is None:
        return False
    name = function_name(func) or ""
    if name.upper().startswith(leaf.name):
        return True
    returned = [r for r in code.c.returns(within=func) if r.call is not None]
    return any(r.call.start_byte == call.start_byte for r in returned) and name in code.tdx.patch.wrappers


_GUEST = "arch/x86/coco/tdx/tdx.c"
_CHANGELOG = "Let the guest check a TDREPORT from another TD on the same platform\nbefore trusting it."

INVALID = [
    Case(
        path=_GUEST, changelog=_CHANGELOG,
        code="""
        int tdx_mcall_verify_report(u8 *reportmac)
        {
        	struct tdx_module_args args = { .rcx = virt_to_phys(reportmac) };
        	u64 ret;

        	ret = __tdcall(TDG_MR_VERIFYREPORT, &args);
        	if (ret)
        		return -EIO;
        	return 0;
        }
        """,
        at=('6:8: ret = __tdcall(TDG_MR_VERIFYREPORT, &args);',),
        why=("issued unconditionally, nothing said: what a reviewer asked of v1 of the TDH.SYS.DISABLE "
             "wrapper (https://lkml.rescloud.iu.edu/2603.2/02936.html), on the leaf the 1.5.01 data gates"),
    ),
    Case(
        path=_GUEST, changelog=_CHANGELOG,
        before="""
        static u64 tdg_mr_verifyreport(u64 reportmac_pa)
        {
        	struct tdx_module_args args = { .rcx = reportmac_pa };

        	return __tdcall(TDG_MR_VERIFYREPORT, &args);
        }
        """,
        code="""
        int tdx_verify_peer(u8 *reportmac)
        {
        	if (tdg_mr_verifyreport(virt_to_phys(reportmac)))
        		return -EIO;
        	return 0;
        }
        """,
        at=('9:6: if (tdg_mr_verifyreport(virt_to_phys(reportmac)))',),
        why="the caller of the wrapper is flagged, not the wrapper",
    ),
    Case(
        path="drivers/virt/coco/tdx-guest/tdx-guest.c", changelog=_CHANGELOG,
        code="""
        static long tdx_verify(void __user *argp)
        {
        	struct tdx_module_args args = {};

        	/* The caller passes a REPORTMACSTRUCT it got from the peer. */
        	return __tdcall(TDG_MR_VERIFYREPORT, &args) ? -EIO : 0;
        }
        """,
        at=('6:9: return __tdcall(TDG_MR_VERIFYREPORT, &args) ? -EIO : 0;',),
        why="a comment that says nothing about the feature",
    ),
]

VALID = [
    Case(
        path=_GUEST, changelog=_CHANGELOG,
        code="""
        int tdx_mcall_verify_report(u8 *reportmac)
        {
        	struct tdx_module_args args = { .rcx = virt_to_phys(reportmac) };

        	if (!(tdx_features0 & TDX_FEATURES0_LOCAL_ATTESTATION))
        		return -EOPNOTSUPP;
        	if (__tdcall(TDG_MR_VERIFYREPORT, &args))
        		return -EIO;
        	return 0;
        }
        """,
        why="the feature is checked first",
    ),
    Case(
        path=_GUEST,
        changelog=("Let the guest check a TDREPORT from another TD on the same platform.\n\n"
                   "The leaf has an enumeration bit, but it is ignored: a module without it\n"
                   "fails the call with TDX_OPERAND_INVALID, which is reported as -EIO."),
        code="""
        int tdx_mcall_verify_report(u8 *reportmac)
        {
        	struct tdx_module_args args = { .rcx = virt_to_phys(reportmac) };

        	return __tdcall(TDG_MR_VERIFYREPORT, &args) ? -EIO : 0;
        }
        """,
        why=("the changelog says why the enumeration is skipped, as v2 of the TDH.SYS.DISABLE wrapper "
             "did after the review (https://lore.kernel.org/all/20260323-fuller_tdx_kexec_support-v2-3-87a36409e051@intel.com/)"),
    ),
    Case(
        code="""
        void tdx_sys_disable(void)
        {
        	struct tdx_module_args args = {};

        	seamcall(TDH_SYS_DISABLE, &args);
        }
        """,
        why=("v1 of the TDH.SYS.DISABLE series called it unconditionally (https://lkml.rescloud.iu.edu/2603.2/02936.html); its gate is newer "
             "than the module data, so the bot leaves it to humans"),
    ),
    Case(
        path=_GUEST, changelog=_CHANGELOG,
        code="""
        	ret = __tdcall(TDG_MR_REPORT, &args);
        """,
        why="a leaf the module does not gate",
    ),
]
