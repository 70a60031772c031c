"""The named parts of the kernel tree tdxbot knows, in two tables.

AREAS: every rule's PATHS, the subject-prefix rule's expectations and the
scope option (which patches get reviewed at all) read this table, so a new
TDX file or a renamed folder is taught to tdxbot once.

TREES: which maintainer tree takes a path, and where that tree writes down
its conventions. Style is the taking tree's: the tip tree
(maintainer-tip.rst) for arch/x86 outside KVM, KVM x86
(maintainer-kvm-x86.rst) for KVM, and the generic coding-style.rst and
submitting-patches.rst everywhere else. The style rules declare the trees
whose rule they enforce (their TREES) and read this table to know where a
file or a patch goes.
"""
from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from collections.abc import Iterable

from ..common import NamedTuple

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from ..mail import Patch, Series


class Area(NamedTuple):
    name: str
    patterns: tuple[str, ...]  # fnmatch patterns of repository paths
    prefix: str  # the subject prefix the maintainers of this area use
    accepted: frozenset[str]  # other prefixes seen there, lower-case
    tdx: bool  # TDX code or docs: in tdxbot's default scope
    code: bool  # C code the TDX code rules read
    tip: bool  # goes through the tip tree (x86 maintainers' style rules)


def _area(name, patterns, prefix, accepted=(), tdx=True, code=True, tip=True) -> Area:
    return Area(name, tuple(patterns), prefix, frozenset(a.lower() for a in accepted), tdx, code, tip)


# The first area whose patterns match a path is that path's area.
AREAS: tuple[Area, ...] = (
    _area("seamldr", ["arch/x86/virt/vmx/tdx/seamldr*"], "x86/virt/seamldr",
          ["x86/virt/seamldr", "x86/virt/tdx", "x86/tdx", "x86/seamldr"]),
    _area("tdx-host", ["arch/x86/virt/vmx/tdx/*"], "x86/virt/tdx",
          ["x86/virt/tdx", "x86/tdx", "x86/virt"]),
    _area("tdx-guest", ["arch/x86/coco/tdx/*"], "x86/tdx",
          ["x86/tdx", "x86/coco/tdx", "x86/coco", "x86/virt/tdx"]),
    _area("tdx-headers", ["arch/x86/include/asm/shared/tdx*.h", "arch/x86/include/asm/tdx*.h"], "x86/tdx",
          ["x86/tdx", "x86/virt/tdx", "x86/coco/tdx", "x86/virt/seamldr", "kvm: tdx", "kvm: vmx",
           "kvm: x86"]),
    _area("kvm-tdx", ["arch/x86/kvm/vmx/tdx*"], "KVM: TDX",
          ["kvm: tdx", "kvm: vmx", "kvm: x86", "kvm: tdx: x86"], tip=False),
    _area("tdx-host-driver", ["drivers/virt/coco/tdx-host/*"], "coco/tdx-host",
          ["coco/tdx-host", "virt: tdx-host", "x86/tdx"]),
    _area("tdx-guest-driver", ["drivers/virt/coco/tdx-guest/*"], "virt: tdx-guest",
          ["virt: tdx-guest", "coco/tdx-guest", "x86/tdx", "virt: coco: tdx-guest"]),
    _area("tdx-docs", ["Documentation/arch/x86/tdx.rst", "Documentation/x86/tdx.rst"], "Documentation/x86",
          ["documentation/x86", "documentation/arch/x86", "documentation: x86", "docs: x86", "x86/tdx",
           "x86/virt/tdx", "x86/docs", "docs/x86"], code=False),
    _area("kvm-tdx-docs", ["Documentation/virt/kvm/x86/intel-tdx.rst"], "KVM: TDX",
          ["kvm: tdx", "kvm: documentation", "kvm: docs", "documentation: kvm", "kvm: x86"],
          code=False, tip=False),
)


def _patterns(pick) -> tuple[str, ...]:
    return tuple(p for a in AREAS if pick(a) for p in a.patterns)


# TDX C code and headers: what the TDX code rules read.
TDX = _patterns(lambda a: a.tdx and a.code)
# TDX code that goes through the tip tree (tip's style rules apply).
TDX_TIP = _patterns(lambda a: a.tdx and a.code and a.tip)
# Everything tdxbot reviews by default: TDX code and TDX documentation.
TDX_SCOPE = _patterns(lambda a: a.tdx)
# x86 code, where the tip tree's comment style applies.
X86 = ("arch/x86/*",) + TDX
# The TDX headers other code includes (where stubs and declarations live).
TDX_HEADERS = ("arch/x86/include/asm/tdx*.h", "arch/x86/include/asm/shared/tdx*.h")
# The host TDX core's C files (where its own export macros are used).
TDX_HOST_C = ("arch/x86/virt/vmx/tdx/*.c",)
# Code KVM's maintainers take (a "KVM:" prefix belongs here).
KVM = ("arch/x86/kvm/*", "virt/kvm/*", "include/linux/kvm*", "include/uapi/linux/kvm*",
       "arch/x86/include/asm/kvm*", "arch/x86/include/uapi/asm/kvm*", "Documentation/virt/kvm/*",
       "tools/testing/selftests/kvm/*", "include/kvm/*")
C_SUFFIXES = (".c", ".h")


@lru_cache(maxsize=256)
def _matchers(patterns: tuple[str, ...]):
    """Each pattern as (prefix, suffix) when it has one '*' and no other
    wildcard (all of the areas'), else as a compiled fnmatch regex: the
    per-patch b4 check runs before any regex is worth compiling."""
    out = []
    for p in patterns:
        if p.count("*") == 1 and not any(c in p for c in "?[]"):
            prefix, suffix = p.split("*")
            out.append((prefix, suffix))
        else:
            out.append(re.compile(fnmatch.translate(p)))
    return tuple(out)


def path_matches(path: str, patterns: Iterable[str] | None) -> bool:
    """True when path matches one of the fnmatch patterns (None: any path)."""
    if patterns is None:
        return True
    if isinstance(patterns, tuple):
        return _tuple_matches(path, patterns)
    return _tuple_matches(path, tuple(patterns))


@lru_cache(maxsize=4096)  # the engine asks it for every rule and file
def _tuple_matches(path: str, patterns: tuple[str, ...]) -> bool:
    for m in _matchers(patterns):
        if isinstance(m, tuple):
            if path.startswith(m[0]) and path.endswith(m[1]) and len(path) >= len(m[0]) + len(m[1]):
                return True
        elif m.match(path):
            return True
    return False


def area_of(path: str) -> Area | None:
    for area in AREAS:
        if path_matches(path, area.patterns):
            return area
    return None


# A subject that names TDX (or its pieces) asks for a TDX review even when
# the files it touches lie elsewhere (a caller in reboot.c, a KVM hook).
_TDX_WORDS = re.compile(r"\b(?:TDX|TDCALL|SEAMCALL|SEAMLDR|TDH[._]\w+|TDG[._]\w+|tdx\w*|seamldr)\b",
                        re.I)


class Tree(NamedTuple):
    """A maintainer tree: who takes a patch, and the documents that hold
    the conventions its maintainers ask for."""
    name: str  # "tip", "kvm-x86", "generic": the key of a rule's TREES
    title: str  # for reports and docs: "the tip tree"
    docs: tuple[str, ...]  # Documentation/process/... files with its conventions
    prefixes: tuple[str, ...]  # subject prefixes (lower-case starts) that name it


TIP = Tree("tip", "the tip tree", ("Documentation/process/maintainer-tip.rst",), ("x86", "documentation/x86",
                                                                                 "documentation/arch/x86"))
KVM_X86 = Tree("kvm-x86", "the KVM x86 tree", ("Documentation/process/maintainer-kvm-x86.rst",), ("kvm:",))
GENERIC = Tree("generic", "the generic rules",
               ("Documentation/process/coding-style.rst", "Documentation/process/submitting-patches.rst"), ())

# Which tree takes a path: the first row whose patterns match (KVM's folders
# sit inside arch/x86, and some arch/x86 code goes through other trees, so
# the order matters). Everything no row names follows the generic rules.
TREE_TABLE: tuple[tuple[tuple[str, ...], Tree], ...] = (
    # MAINTAINERS, "KERNEL VIRTUAL MACHINE FOR X86 (KVM/x86)" and KVM's common code.
    (("arch/x86/kvm/*", "virt/kvm/*", "arch/x86/include/asm/kvm*", "arch/x86/include/uapi/asm/kvm*",
      "Documentation/virt/kvm/*", "tools/testing/selftests/kvm/*"), KVM_X86),
    # arch/x86 code that other trees take: crypto, BPF, Xen, Hyper-V, UML.
    (("arch/x86/crypto/*", "arch/x86/net/*", "arch/x86/xen/*", "arch/x86/include/asm/xen/*",
      "arch/x86/hyperv/*", "arch/x86/include/asm/mshyperv.h", "arch/x86/um/*"), GENERIC),
    # The rest of arch/x86, and the TDX drivers and docs the x86 maintainers take.
    (("arch/x86/*", "drivers/virt/coco/tdx-*", "Documentation/arch/x86/*", "Documentation/x86/*"), TIP),
)
TREES = (TIP, KVM_X86, GENERIC)


@lru_cache(maxsize=4096)
def tree_of(path: str) -> Tree:
    """The maintainer tree that takes a path."""
    for patterns, tree in TREE_TABLE:
        if _tuple_matches(path, patterns):
            return tree
    return GENERIC


def patch_tree(patch: Patch) -> Tree:
    """The tree that takes a patch: the one its subject prefix names when
    the patch touches that tree (or no file at all), else the tree most of
    its changed lines go to."""
    weight: dict[Tree, int] = {}
    for diff in patch.files:
        tree = tree_of(diff.path)
        weight[tree] = weight.get(tree, 0) + 1 + sum(
            1 for hunk in diff.hunks for ln in hunk.lines if ln.kind != " ")
    prefix = patch.subsystem.lower()
    for tree in (KVM_X86, TIP):
        if prefix.startswith(tree.prefixes) and (not weight or tree in weight):
            return tree
    return max(weight, key=weight.__getitem__) if weight else GENERIC


def subject_names_tdx(subject: str) -> bool:
    return bool(_TDX_WORDS.search(subject))


def in_scope(paths: Iterable[str], subject: str, patterns: Iterable[str] = TDX_SCOPE) -> bool:
    """Whether a patch belongs to what tdxbot reviews: it touches a path in
    patterns, or its subject names TDX."""
    patterns = tuple(patterns)
    return any(path_matches(p, patterns) for p in paths) or subject_names_tdx(subject)


def patch_in_scope(patch: Patch, patterns: Iterable[str] = TDX_SCOPE) -> bool:
    """Whether tdxbot reviews this patch by default (see in_scope); the
    old path of a rename or deletion counts as touched."""
    paths = [p for d in patch.files for p in (d.path, d.old_path) if p]
    return in_scope(paths, patch.title, patterns)


def split_by_scope(series: Series, patterns: Iterable[str] = TDX_SCOPE) -> tuple[Series, tuple]:
    """The series cut down to its in-scope patches (numbering kept), and
    the patches left out."""
    patterns = tuple(patterns)
    kept = tuple(p for p in series.patches if patch_in_scope(p, patterns))
    kept_ids = {id(p) for p in kept}
    left_out = tuple(p for p in series.patches if id(p) not in kept_ids)
    return series._replace(patches=kept), left_out
