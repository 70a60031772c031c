"""What TDX code means, for the rules that need it: which calls are
SEAMCALLs/TDCALLs, which status codes carry detail bits, and how a retry
loop is bounded or justified. Facts about TDX, not about any one rule."""
from __future__ import annotations

import re

from .csyntax import LOOP_TYPES, Region, ancestor, call_name, declared_name, iter_nodes
from .lazyre import lazy_re

# Calls that issue a SEAMCALL or TDCALL and hand back the raw u64 status.
_STATUS_CALL = lazy_re(
    r"^(?:__)?seamcall(?:_ret|_saved_ret|_dirty_cache)?$|^sc_retry$|^tdh_[a-z0-9_]+$|"
    r"^tdg_[a-z0-9_]+$|^__tdcall(?:_ret|_saved_ret)?$|^__tdx_hypercall$|^__tdx_module_call$|"
    r"^tdh_do_no_vcpus$"
)
# Host SEAMCALLs: a failure here is a TDX-module or kernel bug worth a print.
# (Guest code treats most TDCALL failures as impossible; the guest's tdcall()
# helper panics instead of returning a status.)
_HOST_CALL = lazy_re(r"^(?:__)?seamcall(?:_ret|_saved_ret|_dirty_cache)?$|^sc_retry$|"
                        r"^tdh_[a-z0-9_]+$")
# Calls that issue one but return an errno (they print the status themselves).
_ERRNO_CALL = lazy_re(r"^seamcall_prerr\w*$|^sc_retry_prerr$")

# Statuses the TDX module returns with operand or detail bits in 31:0:
# compare them only after masking (Dave: "mask out the fancy pants bits").
DETAIL_STATUSES = frozenset({
    "TDX_OPERAND_BUSY", "TDX_OPERAND_INVALID", "TDX_EPT_WALK_FAILED",
    "TDX_EPT_ENTRY_STATE_INCORRECT", "TDX_PREVIOUS_TLB_EPOCH_BUSY", "TDX_HPA_RANGE_NOT_FREE",
    "TDX_PAGE_METADATA_INCORRECT", "TDX_KEY_STATE_INCORRECT", "TDX_METADATA_FIELD_NOT_READABLE",
    "TDX_UPDATE_COMPAT_SENSITIVE", "TDX_OPERAND_PAGE_METADATA_INCORRECT", "TDX_ERROR_SEPT_BUSY",
})
# Complete 64-bit values the kernel synthesises: compare with ==, never mask.
SW_FULL_CODES = frozenset({"TDX_SEAMCALL_GP", "TDX_SEAMCALL_UD", "TDX_SEAMCALL_VMFAILINVALID"})
BUSY_NAMES = frozenset({"TDX_OPERAND_BUSY", "TDX_ERROR_SEPT_BUSY", "TDX_PREVIOUS_TLB_EPOCH_BUSY"})
BUSY_HELPERS = frozenset({"IS_TDX_OPERAND_BUSY", "tdx_operand_busy", "IS_TDX_PREVIOUS_TLB_EPOCH_BUSY"})
MASK_TOKENS = lazy_re(r"\bTDX_(?:SEAMCALL_)?STATUS_MASK\b|\bTDX_STATUS\s*\(|\bIS_TDX_\w+\s*\(|"
                         r"\btdx_operand_busy\s*\(|\bTDCALL_RETURN_CODE\s*\(")

_STATUS_CONST = lazy_re(r"^TDX_[A-Z0-9_]+$")
_NOT_STATUS = lazy_re(r"^TDX_(?:SEAMCALL_STATUS_MASK|STATUS_MASK|OPERAND_ID_\w+|SW_ERROR|ERROR|"
                         r"NON_RECOVERABLE|VERSION_SHIFT|\w*_SHIFT|\w*_MASK|FEATURES\w*|ATTR\w*|"
                         r"MD_\w+|PS_\w+|TD_\w+|PAGE_SIZE\w*|SEAMCALL_RETRIES)$")
_STATUS_TEST = lazy_re(r"\bTDX_[A-Z0-9_]+\b|\bIS_TDX_\w+\s*\(|\btdx_operand_busy\s*\(|"
                          r"\bTDVMCALL_STATUS_RETRY\b|\bTDCALL_[A-Z_]+\b")

_DEADLINE = lazy_re(r"\b(time_before\w*|time_after\w*|time_is_\w+|ktime_\w+|jiffies|"
                       r"timeout|deadline)\b")
_EVENT_EXIT = lazy_re(r"\b(signal_pending|fatal_signal_pending|kvm_vcpu_has_events|"
                         r"need_resched|kthread_should_stop|KVM_REQ_VM_DEAD|vm_dead|"
                         r"kvm_check_request)\b")
# A condition comparing two moving values (next < end): the loop ends on progress.
_RELATIONAL = lazy_re(r"[\w)\]]\s*(?:<=?|>=?)\s*[\w(]")
_JUSTIFICATION = lazy_re(
    r"forward progress|guarantee|lock(?:s|ed)? out|terminat|will (?:eventually )?succeed|"
    r"bounded by|cannot livelock|can't livelock|never return|short[- ]lived|serializ|"
    r"makes? progress|always (?:completes|succeeds)", re.I)


def returns_status(name: str) -> bool:
    return bool(_STATUS_CALL.match(name))


def is_host_seamcall(name: str) -> bool:
    return bool(_HOST_CALL.match(name))


def returns_module_status(name: str) -> bool:
    """Calls whose result is the TDX module's u64 status (a hypercall's
    result is the VMM's answer in R10 instead)."""
    return returns_status(name) and name != "__tdx_hypercall"


def issues_seamcall(name: str) -> bool:
    return bool(_STATUS_CALL.match(name) or _ERRNO_CALL.match(name))


def is_status_name(name: str) -> bool:
    return bool(_STATUS_CONST.match(name)) and not _NOT_STATUS.match(name)


def status_names(text: str) -> list[str]:
    """TDX status constants a piece of code tests, in order, no repeats."""
    out = []
    for tok in re.findall(r"\bTDX_[A-Z0-9_]+\b", text):
        if is_status_name(tok) and tok not in out:
            out.append(tok)
    return out


_BUSY_TEST = lazy_re(r"\b(?:" + "|".join(sorted(BUSY_NAMES | BUSY_HELPERS)) + r")\b")


def tests_busy(text: str) -> bool:
    return bool(_BUSY_TEST.search(text))


class LoopInfo:
    def __init__(self, node, condition: str, infinite: bool):
        self.node = node
        self.condition = condition  # the loop's continue condition ('' for for(;;))
        self.infinite = infinite  # while (1), while (true), for (;;)
        self.seamcalls: list[str] = []  # SEAMCALL names called in the loop
        self.retry_tests: list[str] = []  # texts deciding another round
        self.codes: list[str] = []  # status names those tests retry on
        self.bound: str | None = None  # "counter", "deadline", "progress", "event" or None
        self.numeric_bound: int | None = None

    @property
    def retries_on_status(self) -> bool:
        return bool(self.seamcalls) and any(_STATUS_TEST.search(t) for t in self.retry_tests)


def _is_infinite(loop, region: Region) -> tuple[str, bool]:
    cond = loop.child_by_field_name("condition")
    if loop.type == "for_statement":
        if cond is None:
            return "", True
    if cond is None:
        return "", False
    text = region.text(cond).strip()
    inner = text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text
    return inner, inner in ("1", "true")


def _statements(body):
    if body is None:
        return []
    if body.type == "compound_statement":
        return [c for c in body.named_children if c.type != "comment"]
    return [body]


def _exits(node) -> bool:
    return any(True for _ in iter_nodes(node, {"break_statement", "return_statement", "goto_statement"}))


def _continues(node) -> bool:
    return any(True for _ in iter_nodes(node, {"continue_statement"}))


def analyze_loop(region: Region, loop) -> LoopInfo:
    """What a loop retries on and what bounds it (computed once per loop)."""
    memo = region.__dict__.setdefault("_loop_infos", {})
    key = (loop.start_byte, loop.end_byte)
    if key not in memo:
        memo[key] = _analyze_loop(region, loop)
    return memo[key]


def _analyze_loop(region: Region, loop) -> LoopInfo:
    cond_text, infinite = _is_infinite(loop, region)
    info = LoopInfo(node=loop, condition=cond_text, infinite=infinite)
    info.seamcalls = [n for n in (call_name(c) for c in iter_nodes(loop, {"call_expression"}))
                      if issues_seamcall(n)]
    # What decides whether the loop goes round again.
    exit_tests = []
    if not infinite and cond_text:
        info.retry_tests.append(cond_text)
    body = loop.child_by_field_name("body")
    for stmt in _statements(body):
        if stmt.type != "if_statement":
            continue
        test = stmt.child_by_field_name("condition")
        cons = stmt.child_by_field_name("consequence")
        if test is None or cons is None:
            continue
        ttext = region.text(test)
        if _continues(cons):
            info.retry_tests.append(ttext)
        elif _exits(cons):
            # if (!busy) break; leaves on one status, so it retries on the rest.
            exit_tests.append(ttext)
            info.retry_tests.append(ttext)
    for stmt in _statements(body):
        if stmt.type == "switch_statement":
            for case in iter_nodes(stmt, {"case_statement"}):
                if _continues(case):
                    info.retry_tests.append(region.text(case).split(":", 1)[0])
    retried = " ".join(info.retry_tests)
    info.codes = status_names(retried)
    if not info.codes and tests_busy(retried):
        info.codes = ["TDX_OPERAND_BUSY"]
    info.bound, info.numeric_bound = _bound(region, loop, cond_text, exit_tests)
    return info


def _bound(region: Region, loop, cond_text: str, exit_tests: list[str]) -> tuple[str | None, int | None]:
    deciding = " ".join([cond_text] + exit_tests)
    if loop.type == "for_statement":
        for part in ("initializer", "update"):
            node = loop.child_by_field_name(part)
            if node is not None:
                deciding += " " + region.text(node)
    updated = set()
    for node in iter_nodes(loop, {"update_expression", "assignment_expression"}):
        if node.type == "assignment_expression":
            op = node.child_by_field_name("operator")
            if op is None or region.text(op) not in ("+=", "-="):
                continue
            target = node.child_by_field_name("left")
        else:
            target = node.child_by_field_name("argument")
        if target is not None:
            updated.add(region.text(target).strip())
    number = None
    m = re.search(r"\b(\d+)\b", deciding)
    if m:
        number = int(m.group(1))
    for name in updated:
        if name and re.search(rf"(?<![\w>.]){re.escape(name)}(?!\w)", deciding):
            return "counter", number
    if _DEADLINE.search(deciding):
        return "deadline", None
    if _EVENT_EXIT.search(deciding):
        return "event", None
    if _RELATIONAL.search(cond_text):
        return "progress", None
    return None, None


def justifying_comment(region: Region, loop, codes: list[str]) -> bool:
    """A comment near the loop that names every retried status and says why
    retrying ends (forward progress, a lock-out, a guarantee...)."""
    for comment in region.comment_above(loop):
        prose = comment.prose()
        if not _JUSTIFICATION.search(prose):
            continue
        if all(code in prose or code.replace("TDX_", "", 1) in prose for code in codes):
            return True
    return False


def loop_report_line(region: Region, loop) -> int | None:
    """The added line a loop finding sits on: its condition, else its start."""
    cond = loop.child_by_field_name("condition")
    return (region.first_added(cond) if cond is not None else None) or region.first_added(loop)


def loops_in(region: Region):
    return region.find(*LOOP_TYPES)


def enclosing_function(node):
    return ancestor(node, ("function_definition",))


def declared_type(region: Region, scope, name: str) -> str | None:
    """The declared type of a local variable or parameter, searched in scope."""
    if scope is None:
        return None
    memo = region.__dict__.setdefault("_decl_types", {})
    key = (scope.start_byte, scope.end_byte)
    if key not in memo:
        memo[key] = _declarations(region, scope)
    return memo[key].get(name)


def declaration_type(region: Region, decl) -> str | None:
    """The type a declaration gives, qualifiers included ('const u32')."""
    tnode = decl.child_by_field_name("type")
    if tnode is None:
        return None
    quals = [region.text(c) for c in decl.children if c.type == "type_qualifier"]
    return " ".join(quals + [region.text(tnode)])


def _declarations(region: Region, scope) -> dict[str, str]:
    """name -> type text for every declaration and parameter in scope (the
    first one wins, as the nearest enclosing declaration usually comes first)."""
    types: dict[str, str] = {}
    for decl in region.find("declaration", "parameter_declaration", within=scope):
        type_text = declaration_type(region, decl)
        if type_text is None:
            continue
        for d in decl.children_by_field_name("declarator"):
            name = declared_name(d)
            if name is not None:
                types.setdefault(name, type_text)
    return types
