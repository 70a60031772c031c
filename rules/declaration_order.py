"""Local variable declarations not in reverse fir tree order (a nit, info).

What it flags: in code that goes through the tip tree (arch/x86/virt/vmx/tdx,
arch/x86/coco/tdx, the TDX headers, the TDX guest driver), a function whose
declarations at the top of its body get longer further down, when the
patch adds one of the two lines. A line may follow a shorter one when its
initializer uses a name declared above it, since the order is forced then.
Lines of one type next to each other (`phys_addr_t start = ...;` over
`phys_addr_t end = ...;`) are taken as a deliberate pair, and function-scope
statics are placed as the author likes. When the patch adds lines to a block that was out of
order already, the block is left alone: the patch did not make it worse.

Why: the tip tree handbook (Documentation/process/maintainer-tip.rst,
"Variable declarations") asks for reverse fir tree order, longest line
first, so the declarations read as a block. KVM x86 finds it "preferred"
but "not strictly required" (maintainer-kvm-x86.rst), so KVM code is out
of scope.

It is an info finding: in the report, never in a reply draft. The
maintainers take the order as it comes: none of the collected TDX reviews
raises it, merged TDX code breaks it (tdx_early_init() in 6.12), and in
6.12's arch/x86 outside KVM it breaks about twice per 1,000 lines,
differences of 30 columns and more included. Set
`tdxbot.severity.declaration-order = warning` to have it drafted.

Fires on:
    int ret;
    struct tdx_module_args args = {};
Must not fire on the two lines swapped, nor on
    struct kvm_tdx *kvm_tdx = to_kvm_tdx(kvm);
    struct tdx_td *td = &kvm_tdx->td, *other = NULL;
where the second needs the first.
"""
from __future__ import annotations

from ..lint.kit import TDX_TIP, TIP, Case, Violation, declared_name, lazy_re

ID = "declaration-order"
SEVERITY = "info"
PATHS = TDX_TIP
TREES = {TIP: 'maintainer-tip.rst, "Variable declarations": reverse fir tree order'}
TOPICS = ("fir tree", "declaration", "order")

_WORD = lazy_re(r"[A-Za-z_]\w*")


class LongerThanAbove(Violation):
    message = ("declarations not in reverse fir tree order: '{declaration}' is longer than the line "
               "above it")
    comment = ("Nit: the tip tree wants local declarations in reverse fir tree order, longest line "
               "first. Please move this one up.")


def check_file(file):
    for code in file.code:
        for func in code.c.functions():
            block = _declaration_block(code, func)
            if block is None or not any(block.added) or _was_out_of_order(block):
                continue
            if (i := _first_longer(block)) is not None:
                code.report([block.rows[i], block.rows[i - 1]],
                            LongerThanAbove(declaration=block.texts[i]))


class _Block:
    """The declarations at the top of a function body, one per line."""

    def __init__(self, decls: list, rows: list[int], texts: list[str], added: list[bool]):
        self.decls = decls  # the declaration nodes
        self.rows = rows  # their post-image lines
        self.texts = texts  # their lines, stripped
        self.added = added  # whether the patch adds each line


def _declaration_block(code, func) -> _Block | None:
    """The function's leading declarations, when they are two or more
    one-line declarations on consecutive lines."""
    body = func.child_by_field_name("body")
    if body is None:
        return None
    decls = _leading_declarations(body)
    if len(decls) < 2 or any(d.start_point[0] != d.end_point[0] for d in decls):
        return None  # one declaration, or one spread over lines: nothing to order
    rows = [code.c.line_no(d.start_point[0]) for d in decls]
    if None in rows or any(b - a != 1 for a, b in zip(rows, rows[1:])):
        return None  # not one block: a blank line or comment splits it
    return _Block(decls, rows, [code.c.text_at(no).strip() for no in rows],
                  [code.c.is_added(no) for no in rows])


def _was_out_of_order(block: _Block) -> bool:
    """Were the lines the patch keeps out of order already? Then the
    patch did not make it worse."""
    old = [len(t) for t, new in zip(block.texts, block.added) if not new]
    return any(b > a for a, b in zip(old, old[1:]))


def _first_longer(block: _Block) -> int | None:
    """The first line, of a pair the patch touches, that is longer than the
    line above it with nothing to excuse it."""
    decls, texts, added = block.decls, block.texts, block.added
    for i in range(1, len(decls)):
        if len(texts[i]) <= len(texts[i - 1]) or not (added[i] or added[i - 1]):
            continue
        if _type_of(decls[i]) == _type_of(decls[i - 1]) \
                or texts[i].startswith("static") or texts[i - 1].startswith("static"):
            continue  # a pair of one type, or function-scope statics: both deliberate
        declared = {name for above in decls[:i] for d in above.children_by_field_name("declarator")
                    if (name := declared_name(d))}
        if declared & set(_WORD.findall(texts[i].split("=", 1)[1] if "=" in texts[i] else "")):
            continue  # uses a name declared above: the order is forced
        return i
    return None


def _type_of(decl) -> str:
    node = decl.child_by_field_name("type")
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _leading_declarations(body) -> list:
    out = []
    # One sibling at a time: most bodies have few declarations.
    child = body.named_child(0) if body.named_child_count else None
    while child is not None and child.type in ("declaration", "comment"):
        if child.type == "declaration":
            out.append(child)
        child = child.next_named_sibling
    return out


INVALID = [
    Case(code="""
        static int tdx_sys_shutdown(void)
        {
        	int ret;
        	struct tdx_module_args args = {};

        	ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	return ret ? -EIO : 0;
        }
        """, at=('4:0: struct tdx_module_args args = {};',), why="classic short-before-long"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        static void tdx_report_version(void)
        {
        	u64 major, minor;
        	struct tdx_sys_info_version *version = &tdx_sysinfo.version;
        	unsigned int i;

        	major = version->major_version;
        	minor = version->minor_version;
        	pr_info("version %llu.%llu\\n", major, minor);
        }
        """, at=('4:0: struct tdx_sys_info_version *version',), why="three lines, middle too long"),
    Case(before="""
        static int tdx_module_reset(void)
        {
        	struct tdx_module_args args = {};
        	int ret;
        """, code="\tunsigned long flags;", after="""

        	local_irq_save(flags);
        	ret = seamcall(TDH_SYS_RESET, &args);
        	local_irq_restore(flags);
        	return ret;
        }
        """, at=('5:0: unsigned long flags;',), why="a new line put below a shorter one"),
]

VALID = [
    Case(code="static void tdx_nothing_to_do(void)\n{\n}", why="an empty body: no declarations"),
    Case(code="""
        static int tdx_sys_shutdown(void)
        {
        	struct tdx_module_args args = {};
        	int ret;

        	ret = seamcall(TDH_SYS_SHUTDOWN, &args);
        	return ret ? -EIO : 0;
        }
        """, why="in order"),
    Case(code="""
        static void tdx_td_teardown(struct kvm *kvm)
        {
        	struct kvm_tdx *kvm_tdx = to_kvm_tdx(kvm);
        	struct tdx_td *td = &kvm_tdx->td, *other = NULL;

        	tdx_reclaim_td(td, other);
        }
        """, why="the second line needs the first"),
    Case(path="arch/x86/kvm/vmx/tdx.c", code="""
        static int tdx_vcpu_reset(struct kvm_vcpu *vcpu)
        {
        	int ret;
        	struct vcpu_tdx *tdx = to_tdx(vcpu);

        	ret = tdx_vcpu_do_reset(tdx);
        	return ret;
        }
        """, why="KVM code is out of scope"),
    Case(before="""
        static int tdx_module_reset(void)
        {
        	int ret;
        	struct tdx_module_args args = {};
        """, code="\tunsigned long flags;", after="""

        	local_irq_save(flags);
        	ret = seamcall(TDH_SYS_RESET, &args);
        	local_irq_restore(flags);
        	return ret;
        }
        """, why="the block was out of order before the patch"),
    Case(path="arch/x86/coco/tdx/tdx.c", code="""
        static bool tdx_map_gpa(unsigned long vaddr, int numpages)
        {
        	phys_addr_t start = __pa(vaddr);
        	phys_addr_t end   = __pa(vaddr + numpages * PAGE_SIZE);

        	return tdx_map_gpa_range(start, end);
        }
        """, why="a start/end pair of one type"),
    Case(code="""
        static int try_init_module_global(void)
        {
        	struct tdx_module_args args = {};
        	static DEFINE_RAW_SPINLOCK(sysinit_lock);
        	static bool sysinit_done;

        	return sysinit_done ? 0 : seamcall(TDH_SYS_INIT, &args);
        }
        """, why="function-scope statics"),
    Case(code="""
        static int tdx_cpu_setup(void)
        {
        	int cpu = smp_processor_id();
        	/* The module wants the logical CPU id in RCX. */
        	struct tdx_module_args args = { .rcx = cpu };

        	return seamcall(TDH_SYS_LP_INIT, &args);
        }
        """, why="a comment splits the block"),
]
