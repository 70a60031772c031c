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

from functools import lru_cache

from ..lint.kit import (HYPERCALL, TDX, Case, Violation, call_args, call_name, declaration_type, lazy_re,
                        unwrap)

ID = "tdx-status-truncated"
SEVERITY = "error"
PATHS = TDX
TOPICS = ("u64", "int", "truncat", "type", "bits")

_NARROW = lazy_re(r"^(?:(?:const|volatile|static|register)\s+)*(?:signed\s+|unsigned\s+)?"
                  r"(?:int|long|bool|_Bool|char|short|u8|u16|u32|s8|s16|s32|"
                  r"int8_t|int16_t|int32_t|uint8_t|uint16_t|uint32_t)$")


# What status_kind() can find a status in (after parentheses and casts).
_MAY_HOLD = frozenset({"call_expression", "identifier", "field_expression", "parenthesized_expression",
                       "cast_expression"})


class _Truncated(Violation):
    message = "{what} {verb} a u64 TDX status, but it is {how} {type}"
    comment = ("{what} {verb} a u64 status whose meaningful half is bits 63:32; {how} {type} "
               "throws that away. Please use u64 (or seamcall_prerr() if an errno is all you need).")

    @property
    def verb(self) -> str:
        return "returns" if self.what.endswith("()") else "holds"


class StoredTooNarrow(_Truncated):
    how = "stored in"


class ReturnedTooNarrow(_Truncated):
    how = "returned as"


class PassedTooNarrow(_Truncated):
    @property
    def how(self) -> str:
        return f"passed to {self.callee}() as"


def check_file(file):
    for code in file.code:
        # Where a status goes is asked first: few values are statuses, and
        # a type costs a lookup.
        assignments = code.c.assignments()
        for a in assignments:
            what = _source(code, a.value) if a.is_init else None
            decl = a.node.parent if what else None
            if decl is not None and decl.type == "declaration" \
                    and _narrow(type_text := declaration_type(code.c, decl)):
                code.report(a.node, StoredTooNarrow(what=what, type=type_text))
        for a in assignments:
            if a.is_init or a.target is None or a.target.type != "identifier" or code.c.op(a.node) != "=":
                continue
            what = _source(code, a.value)
            if what and _narrow(type_text := _target_type(code, a)):
                code.report(a.node, StoredTooNarrow(what=what, type=type_text))
        for ret in code.c.returns():
            if ret.value is None:
                continue
            func = code.c.function_at(ret.node.start_byte)
            if func is not None and _narrow(code.c.return_type(func)):
                what = _source(code, ret.value)
                if what:
                    code.report(ret.node, ReturnedTooNarrow(what=what, type=code.c.return_type(func)))
        facts = code.tdx.patch
        for call in code.c.calls():
            if call.name not in facts.declared_in:
                continue  # a callee out of sight: its parameter types are unknown
            params = facts.param_types(call.name)
            if params is None:
                continue
            for arg, type_text in zip(call_args(call.node), params):
                what = _source(code, arg) if _narrow(type_text) else None
                if what:
                    code.report(arg, PassedTooNarrow(what=what, callee=call.name, type=type_text))


@lru_cache(maxsize=4096)  # the same few types come back in every function
def _narrow(type_text: str | None) -> bool:
    return type_text is not None and bool(_NARROW.match(" ".join(type_text.split())))


def _source(code, node) -> str | None:
    """What holds the status: 'name()' for a call, the variable otherwise;
    None when node holds no module status (a hypercall's result is the
    VMM's answer, not a module status)."""
    if node is None or node.type not in _MAY_HOLD:
        return None  # a literal, an expression: no status of its own
    kind = code.tdx.status_kind(node)
    if kind is None or kind == HYPERCALL:
        return None
    node = unwrap(node)
    return f"{call_name(node)}()" if node.type == "call_expression" else f"'{code.c.text(node)}'"


def _target_type(code, a) -> str | None:
    """The declared type of the variable an assignment sets."""
    return code.c.declared_type(code.c.function_at(a.node.start_byte) or code.c.root, code.c.text(a.target))


INVALID = [
    Case(code="""
        	int ret = seamcall(TDH_SYS_SHUTDOWN, &args);

        	if (ret == TDX_UPDATE_COMPAT_SENSITIVE)
        		return -EBUSY;
        """, at=('1:5: int ret = seamcall',), why="the runtime-update v3 shape"),
    Case(code="""
        static int tdx_flush_vp(struct tdx_vp *vp)
        {
        	return tdh_vp_flush(vp);
        }
        """, at=('3:2: return tdh_vp_flush',), why="returned as int"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        	bool busy;

        	busy = tdh_mem_track(&kvm_tdx->td);
        """, at=('3:1: busy = tdh_mem_track',), why="assigned to a bool"),
    Case(path="arch/x86/coco/tdx/tdx.c",
         code="\tu32 status = __tdcall(TDG_MR_REPORT, &args);", at=('1:5: u32 status',), why="u32 keeps the wrong half"),
    Case(code="""
        static void tdx_warn_failure(int err)
        {
        	pr_warn("TDX call failed: %d\\n", err);
        }

        static void tdx_config_key(void)
        {
        	struct tdx_module_args args = {};
        	u64 ret = seamcall(TDH_SYS_KEY_CONFIG, &args);

        	if (ret)
        		tdx_warn_failure(ret);
        }
        """, at=('12:20: tdx_warn_failure(ret);',), why="a status passed to an int parameter"),
    Case(code="""
        static int tdx_lp_init(void)
        {
        	struct tdx_module_args args = {};
        	u64 err;

        	err = seamcall(TDH_SYS_LP_INIT, &args);
        	return err;
        }
        """, at=('7:2: return err;',), why="a u64 status returned through an int return type"),
    Case(before="""
        static u64 tdx_flush_vp_once(struct tdx_vp *vp)
        {
        	return tdh_vp_flush(vp);
        }
        """, code="\tlong ret = tdx_flush_vp_once(&tdx->vp);", at=('5:6: long ret',),
         why="a wrapper's u64 status kept in a long"),
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
    Case(code="""
        static void tdx_warn_failure(u64 err)
        {
        	pr_warn("TDX call failed: 0x%llx\\n", err);
        }

        static void tdx_config_key(void)
        {
        	struct tdx_module_args args = {};
        	u64 ret = seamcall(TDH_SYS_KEY_CONFIG, &args);

        	if (ret)
        		tdx_warn_failure(ret);
        }
        """, why="a u64 parameter"),
    Case(code="""
        static int tdx_lp_init(void)
        {
        	struct tdx_module_args args = {};
        	u64 err;

        	err = seamcall(TDH_SYS_LP_INIT, &args);
        	return err ? -EIO : 0;
        }
        """, why="turned into an errno before it is returned"),
]
