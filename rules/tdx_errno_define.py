"""A new TDX status #define that is malformed or in the wrong header.

What it flags, for a `#define TDX_<NAME> 0x<16 hex digits>` added to TDX
code whose low 32 bits are zero (a status code, not a mask or field ID):
- no ULL suffix: on a 32-bit build (the shared headers are used by the
  decompressor too) the constant is not what it looks like;
- class bits that contradict the name: a *_BUSY code without bit 63 (error)
  or with bit 62 (non-recoverable) set, a *NON_RECOVERABLE* code without
  bit 62;
- an architectural status code added outside the errno header in a tree
  that has one, or a SW-defined code (built from TDX_SW_ERROR) added to
  asm/shared/tdx_errno.h.

Which errno header a tree has (<asm/shared/tdx_errno.h>, <asm/tdx_errno.h>,
KVM's own arch/x86/kvm/vmx/tdx_errno.h, or none, as in 6.12) differs from
tree to tree, and a mail does not show the tree. The rule names a header
only when the patch shows it: the patch adds or changes that file, or a
file of the patch includes it. Without such evidence it says where a code
does not belong (a .c file, the host core's private header) but not which
header to use, and never asks for a header the tree may not have.

Why: tdx_errno.h holds only architecturally defined values (Sean: "the
host's SW-defined error codes should [not] be used by the guest"), and the
kexec series had to switch to 64-bit constants "to address 32 bit build
errors".

Fix (for the missing suffix only): ULL after the value.

Fires on:
    #define TDX_SYS_BUSY	0x8000020200000000
in arch/x86/virt/vmx/tdx/tdx.c.
Must not fire on `#define TDX_SYS_BUSY 0x8000020200000000ULL` in
arch/x86/include/asm/shared/tdx_errno.h, nor on
`#define TDX_SEAMCALL_STATUS_MASK 0xFFFFFFFF00000000ULL` (a mask), nor on a
status added to asm/tdx.h in a patch that shows no errno header (the 6.12
layout), even when KVM's own tdx_errno.h is included somewhere.
"""
from __future__ import annotations

import re

from ..lint.kit import TDX, Case, Violation, lazy_re

ID = "tdx-errno-define"
SEVERITY = "warning"
PATHS = TDX
FIXES = True
TOPICS = ("ull", "header", "errno", "define", "class", "32-bit", "32 bit")

_STATUS_VALUE = lazy_re(r"^\(?\s*0x([0-9a-fA-F]{16})([uUlL]*)\s*\)?$")
# The host core's private header: nothing outside arch/x86/virt sees it.
_PRIVATE_HEADER = "arch/x86/virt/vmx/tdx/tdx.h"


class _StatusDefine(Violation):
    comment = "{said}. {advice}"

    @property
    def said(self) -> str:
        """The message, as a sentence."""
        text = self.text()
        return text[0].upper() + text[1:]

    @property
    def advice(self) -> str:
        header = getattr(self, "header", None)
        if header:
            return (f"Architectural status codes live in {header} as 64-bit (ULL) values named after "
                    "the spec; SW-defined ones stay in <asm/tdx.h>.")
        return ("Status codes are 64-bit (ULL) values named after the spec, kept in a header next to "
                "the other TDX status codes, where the host, KVM and the guest can all see them.")


class NoUll(_StatusDefine):
    message = "{name} has no ULL suffix"


class BusyNotError(_StatusDefine):
    message = "{name} is a busy status but its class bits say {bits_say}"

    @property
    def bits_say(self) -> str:
        return "non-recoverable" if self.fatal else "not an error"


class NonRecoverableBitClear(_StatusDefine):
    message = "{name} is named non-recoverable but bit 62 is clear"


class StatusInCFile(_StatusDefine):
    message = "architectural status {name} is defined in a .c file; status codes belong in {where}"

    @property
    def where(self) -> str:
        return self.header or "a header, with the other TDX status codes"


class StatusOutsideErrnoHeader(_StatusDefine):
    message = "architectural status {name} belongs in {where}"

    @property
    def where(self) -> str:
        return self.header or "a header KVM and the guest can include, not the host core's private tdx.h"


class SwCodeInErrnoHeader(_StatusDefine):
    message = "SW-defined {name} does not belong in the architectural tdx_errno.h"


def check_file(file):
    header = False  # the errno header the patch shows (None: none); asked only when there is a TDX_ define
    for code in file.code:
        for node, name, value in code.c.define_nodes():
            if not name.startswith("TDX_"):
                continue
            if header is False:
                header = _errno_header(file)
            for problem in _problems(file.path, name, value, header):
                code.report(node, problem, fix=[_ull(code, node)] if isinstance(problem, NoUll) else [])


def _problems(path: str, name: str, value: str, header: str | None) -> list[Violation]:
    out = []
    m = _STATUS_VALUE.match(value)
    if m:
        bits = int(m.group(1), 16)
        if bits & 0xFFFFFFFF or not bits >> 32 or "MASK" in name:
            return []
        if m.group(2).upper() != "ULL":
            out.append(NoUll(name=name, header=header))
        error, fatal = bool(bits >> 63 & 1), bool(bits >> 62 & 1)
        if name.endswith("_BUSY") and (not error or fatal):
            out.append(BusyNotError(name=name, fatal=fatal, header=header))
        if "NON_RECOVERABLE" in name and not fatal:
            out.append(NonRecoverableBitClear(name=name, header=header))
        if path.endswith(".c"):
            out.append(StatusInCFile(name=name, header=header))
        elif path == _PRIVATE_HEADER or (header and not path.endswith("tdx_errno.h")):
            out.append(StatusOutsideErrnoHeader(name=name, header=header))
    elif "TDX_SW_ERROR" in value and path.endswith("shared/tdx_errno.h"):
        out.append(SwCodeInErrnoHeader(name=name, header=header))
    return out


# The shared errno headers a tree may have, as they are included. KVM's own
# arch/x86/kvm/vmx/tdx_errno.h is no evidence: the host and the guest cannot
# include it.
_HEADERS = {"arch/x86/include/asm/shared/tdx_errno.h": "<asm/shared/tdx_errno.h>",
            "arch/x86/include/asm/tdx_errno.h": "<asm/tdx_errno.h>"}
_INCLUDE = lazy_re(r"^\s*#\s*include\s*<(asm/(?:shared/)?tdx_errno\.h)>")


def _errno_header(file) -> str | None:
    """The shared errno header the patch shows the tree has (it adds or
    changes the file, or a file of the patch includes it), else None."""
    for diff in file.patch.files:
        if not diff.is_deleted and diff.path in _HEADERS:
            return _HEADERS[diff.path]
    for diff in file.patch.files:
        for hunk in diff.hunks:
            for line in hunk.lines:
                if line.kind != "-" and (m := _INCLUDE.match(line.text)):
                    return f"<{m.group(1)}>"
    for code in file.code:  # the whole file, under tdxbot check
        for text in code.c.lines:
            if "tdx_errno" in text and (m := _INCLUDE.match(text)):
                return f"<{m.group(1)}>"
    return None


def _ull(code, define):
    """The edit that gives a status value its ULL suffix (replacing U, UL...)."""
    value = define.child_by_field_name("value")
    m = re.search(r"0x[0-9a-fA-F]{16}([uUlL]*)", code.c.text(value))
    return code.edit(value, m.group(0)[:18] + "ULL", m.start(), m.end()) if m else None


INVALID = [
    Case(before="#include <asm/shared/tdx_errno.h>", code="#define TDX_SYS_BUSY\t\t0x8000020200000000",
         at=('2:1: #define TDX_SYS_BUSY', '2:1: #define TDX_SYS_BUSY'), why="no ULL and outside tdx_errno.h"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code="#define TDX_SYS_BUSY\t\t\t\t0x8000020200000000UL",
         at=('1:1: #define TDX_SYS_BUSY',), why="UL is 32 bits on a 32-bit build",
         fixed="#define TDX_SYS_BUSY\t\t\t\t0x8000020200000000ULL"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code="#define TDX_SYS_SHUTDOWN_BUSY\t\t0x4000020600000000ULL",
         at=('1:1: TDX_SYS_SHUTDOWN_BUSY',), why="a busy code with non-recoverable class bits"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code="#define TDX_SEAMCALL_GP\t\t\t(TDX_SW_ERROR | X86_TRAP_GP)",
         at=('1:1: TDX_SEAMCALL_GP',), why="SW-defined code in the architectural header"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code="#define TDX_NON_RECOVERABLE_TD_CORRUPT\t0x8000000900000000ULL",
         at=('1:1: TDX_NON_RECOVERABLE_TD_CORRUPT',), why="non-recoverable name, bit 62 clear"),
    Case(code="#define TDX_SYS_NOT_READY\t\t0x8000020B00000000ULL",
         at=('1:1: TDX_SYS_NOT_READY',), why="a status defined in a .c file (a tree without tdx_errno.h)"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.h", code="#define TDX_SYS_SHUTDOWN\t\t0x8000020C00000000ULL",
         at=('1:1: TDX_SYS_SHUTDOWN',), why="a status in the host core's private header"),
    Case(path="arch/x86/include/asm/tdx.h", code="#define TDX_FLUSHVP_NOT_DONE\t0x8000082400000000ULL",
         extra_files=(("arch/x86/include/asm/shared/tdx_errno.h", "#define TDX_SYS_BUSY\t\t0x8000020200000000ULL"),),
         at=('1:1: TDX_FLUSHVP_NOT_DONE',), why="asm/tdx.h in a tree whose patch has tdx_errno.h"),
    Case(path="arch/x86/include/asm/tdx.h", before="#include <asm/tdx_errno.h>",
         code="#define TDX_FLUSHVP_NOT_DONE\t0x8000082400000000ULL",
         at=('2:1: TDX_FLUSHVP_NOT_DONE',), why="a tree whose errno header is <asm/tdx_errno.h> (DPAMT v2)"),
]

VALID = [
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code="#define TDX_SYS_BUSY\t\t\t\t0x8000020200000000ULL", why="the seed's define"),
    Case(path="arch/x86/include/asm/shared/tdx_errno.h",
         code="#define TDX_SEAMCALL_STATUS_MASK\t\t0xFFFFFFFF00000000ULL", why="a mask"),
    Case(path="arch/x86/include/asm/tdx.h",
         code="#define TDX_SEAMCALL_UD\t\t\t(TDX_SW_ERROR | X86_TRAP_UD)", why="SW code where it belongs"),
    Case(path="arch/x86/virt/vmx/tdx/tdx.h",
         code="#define TDX_MD_FEATURES0\t\t0x0A00000300000008ULL", why="a metadata field ID"),
    Case(path="arch/x86/kvm/vmx/tdx_errno.h",
         code="#define TDX_FLUSHVP_NOT_DONE\t\t\t0x8000082400000000ULL", why="older trees' errno header"),
    Case(path="arch/x86/include/asm/tdx.h",
         code="#define TDX_RND_NO_ENTROPY\t0x8000020300000000ULL", why="v6.12 tree: no tdx_errno.h yet"),
    Case(code="\t/* TDX_SYS_BUSY is 0x8000020200000000 in the spec. */", why="the value in a comment"),
    Case(path="arch/x86/include/asm/tdx.h", before="#include <asm/shared/tdx.h>",
         code="#define TDX_UPDATE_COMPAT_SENSITIVE\t0x8000051200000000ULL",
         extra_files=(("arch/x86/kvm/vmx/tdx.c", '#include "tdx_errno.h"'),),
         why="no shared errno header in sight (KVM's own tdx_errno.h is none): asm/tdx.h it is"),
]
