"""A multi-line comment whose text starts on the '/*' line or ends on the '*/' line.

What it flags: an added block comment spanning several lines whose first
line carries text after '/*', or whose last line carries text before '*/'.
Kernel-doc '/**' openers are fine when alone; comments inside macro bodies
(lines ending in '\\') are left alone.

Why: coding-style.rst and the tip handbook want the opening '/*' and the
closing '*/' on lines of their own for multi-line comments. checkpatch
does not enforce the opener outside networking (the rule was nacked for
the 50,000 existing instances), so reviewers ask for it by hand; tdxbot
applies it to new comments only.

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

from ..lint.kit import X86, Case, lazy_re, line_edit

ID = "comment-block-style"
SEVERITY = "warning"
PATHS = X86
FIXES = True
TOPICS = ("/*", "*/", "line of its own", "comment style")


_KERNEL_DOC_TITLE = lazy_re(r"^\s*/\*\s*(?:(?:struct|union|enum)\s+\w+|\w+\(\))\s*[:-]")
_MEMBER = lazy_re(r"^\s*\*\s*@\w+\s*:")


def check_file(file):
    for code in file.code:
        for comment in code.comments():
            if not comment.is_block or not comment.complete_start or len(comment.lines) < 2:
                continue
            if any(text.rstrip().endswith("\\") for _, text in comment.lines):
                continue
            if _KERNEL_DOC_TITLE.match(comment.lines[0][1]) and \
                    any(_MEMBER.match(text) for _, text in comment.lines[1:]):
                continue  # kernel-doc missing its '/**': scripts/kernel-doc's remark, not this one
            first_no, first = comment.lines[0]
            last_no, last = comment.lines[-1]
            indent = first[:len(first) - len(first.lstrip())]
            opener = first.find("/*")
            marker_end = opener + 2 + len(first[opener + 2:]) - len(first[opener + 2:].lstrip("*"))
            text_start = len(first) - len(first[marker_end:].lstrip()) if opener >= 0 else len(first)
            if opener >= 0 and text_start < len(first.rstrip()):
                code.report(first_no, "multi-line comment starts its text on the '/*' line",
                            "Please put the opening '/*' of a multi-line comment on a line of its own.",
                            fix=[line_edit(file.path, first_no, first, marker_end, text_start,
                                           f"\n{indent} * ")])
            closer = last.rstrip()
            if closer.endswith("*/"):
                text_end = len(closer[:-2].rstrip())
                inner = closer[:text_end].strip().lstrip("*").strip()
                if inner:
                    code.report(last_no, "multi-line comment ends its text on the '*/' line",
                                "Please put the closing '*/' on a line of its own.",
                                fix=[line_edit(file.path, last_no, last, text_end, len(closer) - 2,
                                               f"\n{indent} ")])


INVALID = [
    Case(code="""
        	/* Retry on the transient errors: the module
        	 * releases its locks between calls. */
        """, at=("/* Retry on", "releases its locks"), why="both ends", fixed="""
        	/*
        	 * Retry on the transient errors: the module
        	 * releases its locks between calls.
        	 */
        """),
    Case(code="""
        	/* The module may return TDX_SYS_BUSY
        	 * while another TDH.SYS.* call runs.
        	 */
        """, at=("/* The module",), why="text on the opener", fixed="""
        	/*
        	 * The module may return TDX_SYS_BUSY
        	 * while another TDH.SYS.* call runs.
        	 */
        """),
    Case(path="arch/x86/include/asm/tdx.h", code="""
        /*
         * SW-defined error codes. */
        """, at=("SW-defined error codes. */",), why="text on the closer", fixed="""
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
