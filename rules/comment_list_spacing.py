"""A list in a block comment is not set off by an empty ' *' line.

What it flags: inside a block comment in code the tip tree takes, on added
lines, (a) a bulleted or numbered list item that directly follows a prose
sentence ending in '.', '!' or '?', and (b) in such a list (one glued to
the sentence above it), a list item that directly follows a list item
spanning several lines. The finding sits on the line after which the
empty ' *' line belongs: the lead sentence, or the last line of the long
item.

It leaves alone what the x86 maintainers merge as it is: a list that a
lead-in ending in ':' announces, whose items may run over several lines
without blank lines between them (merged tip code does this throughout,
e.g. the numbered list above paddr_is_tdx_private() in 6.12's
arch/x86/virt/vmx/tdx/tdx.c), and a comment whose unchanged lines already
glue a list to its sentence: a patch that adds to it keeps the style the
comment was accepted with.

Why: maintainer-tip.rst ("Comment style") asks that "larger multi-line
comments should be split into paragraphs"; a list glued to the sentence
above it, its long items glued together, reads as one run-on block. The
TDH.SYS.DISABLE v2 review asked for exactly these two lines ("Nit: Add a
new line here." / "And here."). KVM x86 and the generic rules say nothing
about lists, and KVM's code glues them freely, so only tip code is
judged.

Fix: an empty ' *' line, indented like the comment, where the finding is.

Fires on:
    /*
     * Don't loop forever.
     *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
     *    calls.
     *  - TDX_SYS_BUSY could transiently contend with other SEAMCALLs.
     */
Must not fire on the same comment with ' *' lines in both places, nor on
items introduced by a line ending in ':', one-line or not.
"""
from __future__ import annotations

from ..lint.kit import TIP, X86, Case, Violation, comment_inner, insert_line, lazy_re

ID = "comment-list-spacing"
SEVERITY = "warning"
PATHS = X86
TREES = {TIP: 'maintainer-tip.rst, "Comment style": "Larger multi-line comments should be split into '
              'paragraphs"'}
FIXES = True
TOPICS = ("new line", "newline", "blank", "empty", "spacing", "line here")

_ITEM = lazy_re(r"^(\s*)(?:[-*+\u2022]|\d{1,2}[.)]|[a-z][)])\s+\S")
_KERNEL_DOC = lazy_re(r"^\s*@\w+:")


class _Spacing(Violation):
    # One wording for both places, so that the second one reads "And here."
    comment = ("Nit: add an empty ' *' line here; a list reads better with blank lines "
               "before it and between items that run over several lines.")


class ListAfterSentence(_Spacing):
    message = "no empty ' *' line between the sentence and the list below it"


class LongItemsGlued(_Spacing):
    message = "no empty ' *' line between multi-line list items"


def check_file(file):
    for code in file.code:
        for comment in code.c.comments():
            if comment.is_block and len(comment.lines) > 1:
                _check_comment(comment, code)


def _classify(inner: str | None) -> tuple[str, int]:
    """('blank'|'item'|'text', indent) for one comment line's inner text."""
    if inner is None or not inner.strip():
        return "blank", 0
    inner = inner.expandtabs(8)  # "1.<tab>text" over "<tab>more text": the tab indents the item's rest
    m = _ITEM.match(inner)
    if m and not _KERNEL_DOC.match(inner):
        return "item", len(m.group(1))
    return "text", len(inner) - len(inner.lstrip())


def _blank_line(code, before: int):
    """The empty ' *' line, indented like the comment line it goes above."""
    text = code.c.text_at(before)
    star = text.find("*")
    return insert_line(code.path, before, text[:star + 1].rstrip()) if star >= 0 else None


def _check_comment(comment, code):
    rows = [(no, _classify(inner), inner or "")
            for no, text in comment.lines for inner in (comment_inner(text),)]
    gaps = []  # (line after which the ' *' line belongs, the item's line, violation)
    item_start = None  # line number of the current item's first line
    item_indent = 0
    item_lines = 0
    glued = False  # the current list follows a sentence directly
    prev = None
    for no, (kind, indent), inner in rows:
        if kind == "item":
            if prev is not None:
                p_no, (p_kind, p_indent), p_inner = prev
                if p_kind == "text" and item_start is None and p_inner.rstrip().endswith((".", "!", "?")):
                    glued = True
                    gaps.append((p_no, no, ListAfterSentence()))
                elif item_start is not None and item_lines > 1 and indent <= item_indent and glued:
                    gaps.append((p_no, no, LongItemsGlued()))
                elif item_start is None:
                    glued = False  # a list of its own: after a blank line or a ':' lead-in
            item_start, item_lines, item_indent = no, 1, indent
        elif kind == "text" and item_start is not None and indent > item_indent:
            item_lines += 1  # continuation of the current item
        else:
            item_start, item_lines, glued = None, 0, False
        prev = (no, (kind, indent), inner)
    added = code.c.is_added
    if any(not added(before) and not added(item) for before, item, _ in gaps):
        return  # the comment was merged glued: what the patch adds keeps its style
    for before, item, violation in gaps:
        # The blank line belongs after `before`; on the item when that is context.
        code.report([before, item], violation, fix=[_blank_line(code, item)])


INVALID = [
    Case(
        code="""
        	/*
        	 * Don't loop forever.
        	 *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
        	 *    calls.
        	 *  - TDX_SYS_BUSY could transiently contend with TDH.SYS.* SEAMCALLs,
        	 *    but will lock out future ones.
        	 */
        """,
        at=("2:0: Don't loop forever.", '4:0: *    calls.'),
        why="the seed review: both places Kiryl marked",
        fixed="""
        	/*
        	 * Don't loop forever.
        	 *
        	 *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
        	 *    calls.
        	 *
        	 *  - TDX_SYS_BUSY could transiently contend with TDH.SYS.* SEAMCALLs,
        	 *    but will lock out future ones.
        	 */
        """,
    ),
    Case(
        code="""
        /*
         * Reclaim the page in three steps.
         * 1. Block new mappings of the page.
         * 2. Flush the TLB.
         */
        """,
        at=('2:0: three steps.',),
        why="numbered list glued to a sentence",
        fixed="""
        /*
         * Reclaim the page in three steps.
         *
         * 1. Block new mappings of the page.
         * 2. Flush the TLB.
         */
        """,
    ),
    Case(
        before="""
        	/*
        	 * Keep issuing the SEAMCALL until it completes.
        """,
        code="""
        	 *  - TDX_INTERRUPTED_RESUMABLE means an interrupt arrived.
        """,
        after="""
        	 */
        """,
        at=('3:0: TDX_INTERRUPTED_RESUMABLE means',),
        why="the lead sentence is context: the finding goes on the added item",
    ),
]

VALID = [
    Case(
        code="""
        /*
         * The caller is one of three, each with its own needs:
         *
         * 1.	Kexec, which runs it once on the way down and cares
         *	only that the module is quiet.
         * 2.	Reboot, where the status is printed and then ignored
         *	because nothing is left to act on it.
         */
        """,
        why="items indented with a tab after the marker, their rest with a tab",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	/*
        	 * The TDX module may return either of these:
        	 *  - TDX_OPERAND_BUSY when another vCPU holds the S-EPT lock,
        	 *    which is released when that vCPU exits.
        	 *  - TDX_PREVIOUS_TLB_EPOCH_BUSY when tracking is incomplete.
        	 */
        """,
        why="KVM code, and multi-line items after a ':' lead-in",
    ),
    Case(
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	/*
        	 * Don't loop forever.
        	 *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
        	 *    calls.
        	 *  - TDX_OPERAND_BUSY could transiently contend with another vCPU.
        	 */
        """,
        why="the seed's shape in KVM code: KVM x86 asks nothing about lists",
    ),
    Case(
        code="""
        /*
         * Tell whether a physical page belongs to TDX private memory.
         *
         * The answer can be wrong in two cases:
         * 1. The PAMT pages count as private before the module can answer
         *    TDH_PHYMEM_PAGE_RDMD for them, for a short while at boot.
         * 2. The module's view lags behind: a page it calls shared can still
         *    raise #MC until it has been converted with MOVDIR64B.
         */
        """,
        why="the shape merged as is in 6.12 (above paddr_is_tdx_private()): a ':' lead-in announces the list",
    ),
    Case(
        before="""
        	/*
        	 * Keep issuing the SEAMCALL until it completes.
        	 *  - TDX_INTERRUPTED_RESUMABLE means an interrupt arrived and the
        	 *    call picks up where it stopped.
        """,
        code="""
        	 *  - TDX_SYS_BUSY means another TDH.SYS.* call is running.
        """,
        after="""
        	 */
        """,
        why="the comment was merged with its list glued: an added item keeps that style",
    ),
    Case(
        code="""
        	/*
        	 * Don't loop forever.
        	 *
        	 *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
        	 *    calls.
        	 *
        	 *  - TDX_SYS_BUSY could transiently contend with TDH.SYS.* SEAMCALLs.
        	 */
        """,
        why="already spaced",
    ),
    Case(
        code="""
        /*
         * SEAMCALL was successful -- read page type (via RCX):
         *  - PT_NDA: Page is not used by the TDX module
         *  - PT_RSVD: Reserved for Non-TDX use
         */
        """,
        why="one-line items introduced by ':'",
    ),
    Case(
        code="""
        /**
         * tdh_sys_disable() - Disable the TDX module
         * @args: the SEAMCALL arguments
         * @retry: how often to retry
         */
        """,
        why="kernel-doc parameter lines are not a list",
    ),
    Case(
        code="""
        	/*
        	 * -EBUSY tells userspace it can retry.
        	 * -EIO means the TDX module is gone.
        	 */
        """,
        why="errno values at the start of a line are not bullets",
    ),
    Case(
        path="net/core/dev.c",
        code="""
        /*
         * Walk the list.
         *  - first the head
         */
        """,
        why="out of scope: not x86",
    ),
]
