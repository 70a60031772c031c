"""A comment trailing code on the same line, outside struct member declarations.

What it flags: in code the tip tree takes, a comment that starts on the
same line as a statement or local declaration it follows (`stmt; /* ...
*/`, `x = y; // ...`) in added code. Struct and union member declarations,
enum constants, initializer tables, file-scope macro tables
(`DEFINE_FORMAT_ATTR(...); /* note */`) and preprocessor lines (`#endif /*
CONFIG_X */`) are exempt, and so is a tail comment that says its line is
temporary ("for now", "a later patch", "placeholder", "TODO"): a stub that
a later patch replaces never reaches the tree in that form. (Across a
whole series, a line a later patch removes again is left alone anyway.)

Why: maintainer-tip.rst ("Comment style") asks for comments above the code
they describe: "Please refrain from using tail comments", which are
allowed only for documenting structs in headers. They also get lost in
diffs and break the 80-column flow. KVM code is left alone: KVM x86 takes
tip's coding style only as a default behind "consistency is the number
one priority ... match what already exists" (maintainer-kvm-x86.rst),
KVM's code carries tail comments throughout and its maintainers do not ask
for them to move. The generic coding-style.rst leaves room for "a small
comment on each item" of data, so elsewhere this is no rule either.

Fires on, in arch/x86/virt/vmx/tdx/tdx.c:
    u64 ret = 0; /* assume success */
Must not fire on a struct member `u16 version; // always 0x100`, nor on
`#endif /* CONFIG_INTEL_TDX_HOST */`, nor on the same line in
arch/x86/kvm/vmx/tdx.c, nor on `return -EOPNOTSUPP; /* until the update
support lands in a later patch */`.
"""
from __future__ import annotations

import re

from ..lint.kit import TIP, X86, Case, Violation, ancestor, lazy_re

ID = "comment-tail"
SEVERITY = "warning"
PATHS = X86
TREES = {TIP: 'maintainer-tip.rst, "Comment style": "Please refrain from using tail comments"'}
TOPICS = ("tail", "comment above")

# A comment that says the line it sits on is temporary.
_TEMPORARY = lazy_re(r"\b(?:for now|for the time being|(?:a |the )?(?:later|next|following|future|"
                     r"subsequent) (?:patch|patches|commit|change)|placeholder|todo|temporar(?:y|ily)|"
                     r"stub(?:bed)?|not (?:yet )?implemented|until\b.{0,60}\b(?:lands?|is added|"
                     r"are added|implemented|supported))", re.I)

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
            if _trails_statement(comment.node) and ancestor(comment.node, _EXEMPT_ANCESTORS) is None \
                    and not _TEMPORARY.search(comment.prose()):
                code.report(comment.node, TailComment())


def _trails_statement(node) -> bool:
    """Does the comment start on the line where the statement before it ends?"""
    prev = node.prev_sibling
    if prev is not None and prev.type == "expression_statement" and prev.parent is not None \
            and prev.parent.type == "translation_unit" and _macro_call(prev):
        return False  # a file-scope macro table (DEFINE_FOO(...); /* note */), not code
    return prev is not None and prev.type in _STATEMENTS and prev.end_point[0] == node.start_point[0]


def _macro_call(stmt) -> bool:
    """Is the statement a call of an upper-case name (a macro), as
    `DEFINE_FOO(bar, 0x1);`?"""
    call = stmt.named_children[0] if stmt.named_children else None
    if call is None or call.type != "call_expression":
        return False
    name = call.child_by_field_name("function")
    text = name.text.decode(errors="replace") if name is not None and name.text is not None else ""
    return len(text) > 1 and text.upper() == text and any(c.isalpha() for c in text)


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
    Case(path="arch/x86/virt/vmx/tdx/tdx.c", code="""
        TDX_SYSFS_ATTR(major_version, 0x0800000100000003);	/* since module 1.0 */
        TDX_SYSFS_ATTR(update_version, 0x0800000100000005);	/* since module 1.5 */
        """, why="a file-scope table of macro definitions"),
    Case(code="""
        int tdx_module_update(void)
        {
        	return -EOPNOTSUPP; /* Filled in by a later patch of this series. */
        }
        """, why="a temporary stub: the comment says a later patch replaces it"),
    Case(code="""
        static u64 tdx_get_handoff_version(void)
        {
        	return 0;	// TODO: ask the module once TDH.SYS.QUERY is wired up
        }
        """, why="a stub marked TODO"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	if (kvm_tdx->state != TD_STATE_RUNNABLE)
        		return -EINVAL;	/* the TD must be finalized first */
        """, why="KVM code: KVM x86 keeps the style of the code around it"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="\tu64 err = 0; /* assume success */",
         why="KVM x86 does not take tip's tail-comment rule"),
    Case(path="drivers/gpu/drm/i915/i915_tdx.c", code="\tret = 0; /* assume success */",
         why="outside the x86 trees (and outside PATHS)"),
]
