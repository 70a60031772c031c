"""A comment trailing code on the same line, outside struct member declarations.

What it flags: a comment that starts on the same line as a statement or
local declaration it follows (`stmt; /* ... */`, `x = y; // ...`) in added
code. Struct and union member declarations, enum constants, initializer
tables and preprocessor lines (`#endif /* CONFIG_X */`) are exempt.

Why: the tip handbook asks for comments above the code they describe;
tail comments are allowed only for documenting struct members in headers.
They also get lost in diffs and break the 80-column flow.

Fires on:
    u64 ret = 0; /* assume success */
Must not fire on a struct member `u16 version; // always 0x100`, nor on
`#endif /* CONFIG_INTEL_TDX_HOST */`.
"""
from __future__ import annotations

from ..lint.kit import X86, Case, Violation, ancestor

ID = "comment-tail"
SEVERITY = "warning"
PATHS = X86
TOPICS = ("tail", "comment above")

_STATEMENTS = {"expression_statement", "declaration", "return_statement", "break_statement",
               "continue_statement", "goto_statement", "if_statement", "while_statement",
               "for_statement", "do_statement", "switch_statement"}
_EXEMPT_ANCESTORS = {"field_declaration_list", "enumerator_list", "initializer_list",
                     "preproc_def", "preproc_function_def", "preproc_call", "argument_list"}


class TailComment(Violation):
    message = "tail comment after code"
    comment = ("Please move this comment above the line it describes; tail comments are for "
               "struct members only.")


def check_file(file):
    for code in file.code:
        for comment in code.c.comments():
            if _trails_statement(comment.node) and ancestor(comment.node, _EXEMPT_ANCESTORS) is None:
                code.report(comment.node, TailComment())


def _trails_statement(node) -> bool:
    """Does the comment start on the line where the statement before it ends?"""
    prev = node.prev_sibling
    return prev is not None and prev.type in _STATEMENTS and prev.end_point[0] == node.start_point[0]


INVALID = [
    Case(code="""
        	u64 ret = 0; /* assume success */
        """, at=('1:14: u64 ret = 0;',), why="after a declaration"),
    Case(code="""
        	ret = seamcall(TDH_SYS_SHUTDOWN, &args);	// may be busy
        """, at=('1:42: ret = seamcall',), why="C99 tail comment"),
    Case(code="""
        	if (ret)
        		return -EIO; /* module is gone */
        """, at=('2:15: return -EIO;',), why="after a return"),
]

VALID = [
    Case(path="arch/x86/include/asm/tdx.h", code="""
        struct tdx_module_hdr {
        	u16 version;	// This ABI is always 0x100
        	u16 checksum;
        };
        """, why="struct member documentation"),
    Case(path="arch/x86/include/asm/tdx.h", code="#endif\t/* CONFIG_INTEL_TDX_HOST */",
         why="preprocessor"),
    Case(code="""
        	struct tdx_module_args args = {
        		.rdx = TDX_SYS_VERSION_FIELD,	/* major/minor/update */
        	};
        """, why="initializer table"),
    Case(code="""
        	/* Comment above the code. */
        	ret = 0;
        """, why="not a tail comment"),
    Case(code="#define TDH_SYS_SHUTDOWN\t52\t/* TDX module 1.5 */", why="leaf table"),
]
