"""A u64 SEAMCALL status stored in or returned as int, long or bool.

What it flags: the result of a call that returns the raw TDX status
(seamcall(), seamcall_ret(), __seamcall*(), sc_retry(), tdh_*(), tdg_*(),
__tdcall*()) initialised into, assigned to, or returned
directly from something declared int, long, bool, u32 or smaller.

Why: the status lives in bits 63:32 and the details in 31:0. An int keeps
only the detail half, so `int ret = seamcall(...)` followed by
`ret == TDX_OPERAND_BUSY` can never be true, and `if (ret)` misses every
error whose low half is zero. seamcall_prerr() is the variant that returns
an errno.

Fires on:
    int ret = seamcall(TDH_SYS_SHUTDOWN, &args);
Must not fire on `u64 err = seamcall(...)` nor on
`int ret = seamcall_prerr(TDH_SYS_INIT, &args);`.
"""
from __future__ import annotations

from ..csyntax import call_name
from ..lazyre import lazy_re
from ..areas import TDX
from ..rulekit import Case, Hit
from ..tdxsem import declaration_type, declared_type, enclosing_function, returns_module_status

ID = "tdx-status-truncated"
SEVERITY = "error"
PATHS = TDX

_NARROW = lazy_re(r"^(?:(?:const|volatile|static|register)\s+)*(?:signed\s+|unsigned\s+)?"
                     r"(?:int|long|bool|_Bool|char|short|u8|u16|u32|s8|s16|s32|"
                     r"int8_t|int16_t|int32_t|uint8_t|uint16_t|uint32_t)$")


def _status_call(node) -> str | None:
    while node is not None and node.type in ("parenthesized_expression",):
        node = node.named_children[0] if node.named_children else None
    if node is not None and node.type == "call_expression":
        name = call_name(node)
        if returns_module_status(name):
            return name
    return None


def _narrow(type_text: str | None) -> bool:
    return type_text is not None and bool(_NARROW.match(" ".join(type_text.split())))


def _hit(name: str, what: str, type_text: str, line: int) -> Hit:
    return Hit(
        f"{name}() returns a u64 TDX status, but it is {what} {type_text}",
        line=line,
        comment=f"{name}() returns a u64 status whose meaningful half is bits 63:32; "
                f"{what} {type_text} throws that away. Please use u64 (or seamcall_prerr() "
                "if an errno is all you need).")


def check_file(source, patch):
    for region in source.regions:
        for decl in region.find("declaration"):
            type_text = declaration_type(region, decl)
            if type_text is None:
                continue
            for init in decl.children_by_field_name("declarator"):
                if init.type != "init_declarator":
                    continue
                name = _status_call(init.child_by_field_name("value"))
                line = region.line_no(init.start_point[0])
                if name and _narrow(type_text) and region.is_added(line):
                    yield _hit(name, "stored in", type_text, line)
        for assign in region.find("assignment_expression"):
            name = _status_call(assign.child_by_field_name("right"))
            target = assign.child_by_field_name("left")
            if not name or target is None or target.type != "identifier":
                continue
            scope = enclosing_function(assign) or region.root
            type_text = declared_type(region, scope, region.text(target))
            line = region.line_no(assign.start_point[0])
            if _narrow(type_text) and region.is_added(line):
                yield _hit(name, "stored in", type_text, line)
        for ret in region.find("return_statement"):
            value = ret.named_children[0] if ret.named_children else None
            name = _status_call(value)
            func = enclosing_function(ret)
            if not name or func is None:
                continue
            tnode = func.child_by_field_name("type")
            type_text = region.text(tnode) if tnode is not None else None
            declarator = func.child_by_field_name("declarator")
            if declarator is not None and declarator.type == "pointer_declarator":
                continue
            line = region.line_no(ret.start_point[0])
            if _narrow(type_text) and region.is_added(line):
                yield _hit(name, "returned as", type_text, line)


INVALID = [
    Case(code="""
        	int ret = seamcall(TDH_SYS_SHUTDOWN, &args);

        	if (ret == TDX_UPDATE_COMPAT_SENSITIVE)
        		return -EBUSY;
        """, at=("int ret = seamcall",), why="the runtime-update v3 shape"),
    Case(code="""
        static int tdx_flush_vp(struct tdx_vp *vp)
        {
        	return tdh_vp_flush(vp);
        }
        """, at=("return tdh_vp_flush",), why="returned as int"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	bool busy;

        	busy = tdh_mem_track(&kvm_tdx->td);
        """, at=("busy = tdh_mem_track",), why="assigned to a bool"),
    Case(path="arch/x86/coco/tdx/tdx.c",
         code="\tu32 status = __tdcall(TDG_MR_REPORT, &args);", at=("u32 status",), why="u32 keeps the wrong half"),
]

VALID = [
    Case(code="\tu64 err = seamcall(TDH_SYS_SHUTDOWN, &args);", why="u64"),
    Case(code="""
        	int ret = seamcall_prerr(TDH_SYS_INIT, &args);
        	if (ret)
        		return ret;
        """, why="seamcall_prerr() returns an errno"),
    Case(code="""
        u64 tdh_sys_shutdown(void)
        {
        	struct tdx_module_args args = {};

        	return seamcall(TDH_SYS_SHUTDOWN, &args);
        }
        """, why="u64 wrapper"),
    Case(code="""
        	int err;

        	err = tdx_sys_shutdown();
        """, why="not a raw-status call"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        long tdx_kvm_hypercall(unsigned int nr, unsigned long p1)
        {
        	struct tdx_module_args args = { .r10 = nr, .r11 = p1 };

        	return __tdx_hypercall(&args);
        }
        """, why="a hypercall returns the VMM's answer, not a module status"),
]
