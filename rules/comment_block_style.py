"""A multi-line comment whose text starts on the '/*' line or ends on the '*/' line.

What it flags: an added block comment spanning several lines whose first
line carries text after '/*', or whose last line carries text before '*/'.
Kernel-doc '/**' openers are fine when alone; comments inside macro bodies
(lines ending in '\\') and comments that start after code on their first
line (a struct member's or an enum constant's note, which tip allows as a
tail comment; elsewhere comment-tail's business) are left alone.

Why: every tree tdxbot reviews asks for it: coding-style.rst ("the
preferred style for long (multi-line) comments"), maintainer-tip.rst
("Comment style", multi-line comments) and maintainer-kvm-x86.rst, which
follows tip's coding style. checkpatch does not enforce the opener outside
networking (the rule was nacked for the 50,000 existing instances), so
reviewers ask for it by hand; tdxbot applies it to the lines a patch adds
or changes only, and merged comments keep the style they were accepted
with.

Fix: the text moved off the '/*' line (or the '*/' moved to a line of its
own), indented like the comment.

Fires on:
    /* Retry on the transient errors: the module
     * releases its locks between calls. */
Must not fire on:
    /*
     * Retry on the transient errors: the module
     * releases its locks between calls.
     */
nor on a one-line /* comment */.
"""
from __future__ import annotations

from ..lint.kit import GENERIC, KVM_X86, TIP, X86, Case, Violation, lazy_re, line_edit

ID = "comment-block-style"
SEVERITY = "warning"
PATHS = X86
TREES = {TIP: 'maintainer-tip.rst, "Comment style": multi-line comments',
         KVM_X86: 'maintainer-kvm-x86.rst, "Coding Style": follow the tip tree\'s coding style',
         GENERIC: 'coding-style.rst, "Commenting": the preferred style for long (multi-line) comments'}
FIXES = True
TOPICS = ("/*", "*/", "line of its own", "comment style")


_KERNEL_DOC_TITLE = lazy_re(r"^\s*/\*\s*(?:(?:struct|union|enum)\s+\w+|\w+\(\))\s*[:-]")
_MEMBER = lazy_re(r"^\s*\*\s*@\w+\s*:")


class TextOnOpener(Violation):
    message = "multi-line comment starts its text on the '/*' line"
    comment = "Please put the opening '/*' of a multi-line comment on a line of its own."


class TextOnCloser(Violation):
    message = "multi-line comment ends its text on the '*/' line"
    comment = "Please put the closing '*/' on a line of its own."


def check_file(file):
    for code in file.code:
        for comment in code.c.comments():
            if not _judged(comment):
                continue
            first_no, first = comment.lines[0]
            last_no, last = comment.lines[-1]
            indent = first[:len(first) - len(first.lstrip())]
            if opener := _text_after_opener(file.path, first_no, first, indent):
                code.report(first_no, TextOnOpener(), fix=[opener])
            if closer := _text_before_closer(file.path, last_no, last, indent):
                code.report(last_no, TextOnCloser(), fix=[closer])


def _judged(comment) -> bool:
    """Is this a complete multi-line block comment the rule judges?"""
    if not comment.is_block or not comment.complete_start or len(comment.lines) < 2:
        return False
    if any(text.rstrip().endswith("\\") for _, text in comment.lines):
        return False  # inside a macro body
    first = comment.lines[0][1]
    if first[:max(first.find("/*"), 0)].strip():
        return False  # it trails code (a struct member's note): comment-tail's business
    if _KERNEL_DOC_TITLE.match(comment.lines[0][1]) and \
            any(_MEMBER.match(text) for _, text in comment.lines[1:]):
        return False  # kernel-doc missing its '/**': scripts/kernel-doc's remark, not this one
    return True


def _text_after_opener(path: str, no: int, first: str, indent: str):
    """The fix that moves text off the '/*' line, if it carries any."""
    opener = first.find("/*")
    marker_end = opener + 2 + len(first[opener + 2:]) - len(first[opener + 2:].lstrip("*"))
    text_start = len(first) - len(first[marker_end:].lstrip()) if opener >= 0 else len(first)
    if opener >= 0 and text_start < len(first.rstrip()):
        return line_edit(path, no, first, marker_end, text_start, f"\n{indent} * ")
    return None


def _text_before_closer(path: str, no: int, last: str, indent: str):
    """The fix that puts the '*/' on a line of its own, if text comes before it."""
    closer = last.rstrip()
    if closer.endswith("*/"):
        text_end = len(closer[:-2].rstrip())
        inner = closer[:text_end].strip().lstrip("*").strip()
        if inner:
            return line_edit(path, no, last, text_end, len(closer) - 2, f"\n{indent} ")
    return None


INVALID = [
    Case(code="""
        	/* Retry on the transient errors: the module
        	 * releases its locks between calls. */
        """, at=('1:0: /* Retry on', '2:0: releases its locks'), why="both ends", fixed="""
        	/*
        	 * Retry on the transient errors: the module
        	 * releases its locks between calls.
        	 */
        """),
    Case(code="""
        	/* The module may return TDX_SYS_BUSY
        	 * while another TDH.SYS.* call runs.
        	 */
        """, at=('1:0: /* The module',), why="text on the opener", fixed="""
        	/*
        	 * The module may return TDX_SYS_BUSY
        	 * while another TDH.SYS.* call runs.
        	 */
        """),
    Case(path="arch/x86/include/asm/tdx.h", code="""
        /*
         * SW-defined error codes. */
        """, at=('2:0: SW-defined error codes. */',), why="text on the closer", fixed="""
        /*
         * SW-defined error codes.
         */
        """),
]

VALID = [
    Case(code="""
        	/*
        	 * Retry on the transient errors: the module
        	 * releases its locks between calls.
        	 */
        """, why="proper style"),
    Case(code="\t/* Single-line comment. */", why="one line"),
    Case(code="""
        /**
         * tdx_sys_shutdown() - Shut the TDX module down
         */
        """, why="kernel-doc opener"),
    Case(code="""
        #define TDX_DO_THING(x)		\\
        	do {	/* run it once	\\
        		 * more */	\\
        		thing(x);	\\
        	} while (0)
        """, why="inside a macro body"),
    Case(before="""
        	/* Merged long ago with its text on the opener,
        	 * and the closer on a line of its own.""", code="""
        	 * A patch adds this line to the middle of it.""", after="""
        	 */""", why="only added lines count: the opener the patch did not write is left alone"),
    Case(path="arch/x86/include/asm/tdx.h", code="""
        struct tdx_sys_info_features {
        	u64 tdx_features0;	/* TDX_FEATURES0: which optional leaves
        				 * and behaviours the module supports */
        };
        """, why="a struct member's tail note running over two lines"),
    Case(path="net/ipv4/tcp.c", code="""
        	/* Networking code is out of scope
        	 * here. */
        """, why="not x86"),
    Case(path="drivers/virt/coco/tdx-guest/tdx-guest.c", code="""
        /* struct tdx_quote_buf: Format of Quote request buffer.
         * @version: Quote format version, filled by TD.
         * @status: Status code of Quote request, filled by VMM.
         */
        """, why="a kernel-doc block that lacks its '/**' (kernel-doc's own check says so)"),
]
