"""A list in a block comment is not set off by an empty ' *' line.

What it flags: inside a block comment on added lines, (a) a bulleted or
numbered list item that directly follows a prose sentence ending in '.',
'!' or '?', and (b) a list item that directly follows a list item spanning
several lines. The finding sits on the line after which the empty ' *'
line belongs: the lead sentence, or the last line of the long item.

Why: x86/tip reviewers read multi-line comments as paragraphs; a list glued
to the sentence above it, or long items glued together, read as one run-on
block. The TDH.SYS.DISABLE v2 review asked for exactly these two lines
("Nit: Add a new line here." / "And here.").

Fix: an empty ' *' line, indented like the comment, where the finding is.

Fires on:
    /*
     * Don't loop forever.
     *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
     *    calls.
     *  - TDX_SYS_BUSY could transiently contend with other SEAMCALLs.
     */
Must not fire on the same comment with ' *' lines in both places, nor on a
run of one-line items introduced by a line ending in ':'.
"""
from __future__ import annotations

from ..lint.kit import X86, Case, Violation, comment_inner, insert_line, lazy_re

ID = "comment-list-spacing"
SEVERITY = "warning"
PATHS = X86
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
    item_start = None  # line number of the current item's first line
    item_indent = 0
    item_lines = 0
    prev = None
    for no, (kind, indent), inner in rows:
        if kind == "item":
            if prev is not None:
                p_no, (p_kind, p_indent), p_inner = prev
                # The blank line belongs after p_no; on the item when that is context.
                if p_kind == "text" and item_start is None and p_inner.rstrip().endswith((".", "!", "?")):
                    code.report([p_no, no], ListAfterSentence(), fix=[_blank_line(code, no)])
                elif item_start is not None and item_lines > 1 and indent <= item_indent:
                    code.report([p_no, no], LongItemsGlued(), fix=[_blank_line(code, no)])
            item_start, item_lines, item_indent = no, 1, indent
        elif kind == "text" and item_start is not None and indent > item_indent:
            item_lines += 1  # continuation of the current item
        else:
            item_start, item_lines = None, 0
        prev = (no, (kind, indent), inner)


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
        path="arch/x86/kvm/vmx/tdx.c",
        code="""
        	/*
        	 * The TDX module may return either of these:
        	 *  - TDX_OPERAND_BUSY when another vCPU holds the S-EPT lock,
        	 *    which is released when that vCPU exits.
        	 *  - TDX_PREVIOUS_TLB_EPOCH_BUSY when tracking is incomplete.
        	 */
        """,
        at=('4:0: which is released',),
        why="multi-line items after a ':' lead-in still need separating",
        fixed="""
        	/*
        	 * The TDX module may return either of these:
        	 *  - TDX_OPERAND_BUSY when another vCPU holds the S-EPT lock,
        	 *    which is released when that vCPU exits.
        	 *
        	 *  - TDX_PREVIOUS_TLB_EPOCH_BUSY when tracking is incomplete.
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
