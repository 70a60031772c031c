"""The subject prefix does not match the files the patch touches.

What it flags: a `KVM:` prefix on a patch that touches no KVM code; a
prefix that fits none of the TDX areas the patch changes
(arch/x86/virt/vmx/tdx -> `x86/virt/tdx:`, arch/x86/coco/tdx and the
shared headers -> `x86/tdx:`, arch/x86/kvm/vmx/tdx* -> `KVM: TDX:`,
drivers/virt/coco/tdx-host -> `coco/tdx-host:`, ...); and a file name used
as the prefix (`tdx.c:`). Patches that also touch code outside these
areas are only held to the KVM check and the file-name check.

Why: the prefix routes the patch to the right tree and maintainer. Chao on
"KVM: x86: Disable the TDX module during kexec and kdump": "The scope
'KVM: x86' is wrong as this doesn't touch any KVM code."

Fires on `KVM: x86: Shut the TDX module down on reboot` touching only
arch/x86/kernel/reboot.c and arch/x86/virt/vmx/tdx/tdx.c.
Must not fire on `x86/virt/tdx: Add SEAMCALL wrapper for TDH.SYS.DISABLE`
touching arch/x86/virt/vmx/tdx/ and the TDX headers.
"""
from __future__ import annotations

from ..lint.kit import KVM, SUBJECT, Case, Violation, area_of, lazy_re, path_matches

ID = "subject-prefix"
SEVERITY = "warning"
PATHS = None
TOPICS = ("prefix", "subject", "scope")

_FILE_NAME = lazy_re(r"\.(c|h|S|rst|txt)$")


class FileNameAsPrefix(Violation):
    message = "the prefix '{prefix}' is a file name, not a subsystem"
    comment = "Please use the subsystem as the prefix, not the file name."


class KvmWithoutKvmCode(Violation):
    message = "the prefix '{prefix}' names KVM but the patch touches no KVM code"
    comment = ("This doesn't touch KVM, so '{prefix}' is the wrong scope; please use the prefix of "
               "the code it changes{hint}.")

    @property
    def hint(self) -> str:
        return f" (e.g. '{self.suggested}:')" if self.suggested else ""


class WrongPrefix(Violation):
    message = "the prefix '{prefix}' does not match the files touched; expected '{expected}:'"
    comment = "The prefix for this code is '{expected}:'."


def check_patch(ctx):
    patch = ctx.patch
    prefix = patch.subsystem
    if not prefix or not patch.files:
        return
    norm = _norm(prefix)
    first = norm.split(":")[0].strip()
    if _FILE_NAME.search(first):
        ctx.report(SUBJECT, FileNameAsPrefix(prefix=prefix))
    elif first == "kvm" and not any(path_matches(d.path, KVM) for d in patch.files):
        ctx.report(SUBJECT, KvmWithoutKvmCode(prefix=prefix, suggested=_suggested(patch.files)))
    elif (expected := _expected(patch.files, norm)) is not None:
        ctx.report(SUBJECT, WrongPrefix(prefix=prefix, expected=expected))


def _norm(prefix: str) -> str:
    return ": ".join(p.strip().lower() for p in prefix.rstrip(":").split(":") if p.strip())


def _area(path: str):
    area = area_of(path)
    return (area.prefix, area.accepted) if area is not None else None


def _added(diff) -> int:
    return len(diff.added_lines()) + 1


def _suggested(files) -> str | None:
    """The prefix of the file the patch changes most, unless it is KVM's."""
    best = _area(max(files, key=_added).path)
    return best[0] if best and not best[0].startswith("KVM") else None


def _expected(files, norm: str) -> str | None:
    """The prefix of the TDX area the patch changes most, when every file
    is in a TDX area and the prefix fits none of them."""
    areas = [(_area(d.path), _added(d)) for d in files]
    if any(a is None for a, _ in areas):
        return None  # code outside the TDX areas: its owners' conventions apply
    if any(norm in accepted or norm.startswith(tuple(x + ":" for x in accepted))
           for (_, accepted), _ in areas):
        return None
    (canonical, _), _ = max(areas, key=lambda item: item[1])
    return canonical


def _file(path: str) -> tuple[tuple[str, str], ...]:
    return ((path, "int x;"),)


INVALID = [
    Case(subject="KVM: x86: Disable the TDX module during kexec and kdump",
         path="arch/x86/kernel/machine_kexec_64.c", extra_files=_file("arch/x86/virt/vmx/tdx/tdx.c"),
         at=('subject: KVM: x86: Disable',), why="Chao's remark"),
    Case(subject="KVM: TDX: Add the TDX_SYS_BUSY status code",
         path="arch/x86/include/asm/shared/tdx_errno.h", code="#define X 1",
         extra_files=_file("arch/x86/virt/vmx/tdx/tdx.c"),
         at=('subject: KVM: TDX: Add',), why="KVM prefix, no KVM file"),
    Case(subject="x86/virt/tdx: Handle TDX_OPERAND_BUSY in the S-EPT zap path",
         path="arch/x86/kvm/vmx/tdx.c", at=('subject: x86/virt/tdx: Handle',), why="KVM code under a tip prefix"),
    Case(subject="tdx.c: Print the shutdown status", at=('subject: tdx.c: Print',), why="file name as prefix"),
]

VALID = [
    Case(subject="x86/virt/tdx: Add SEAMCALL wrapper for TDH.SYS.DISABLE",
         path="arch/x86/virt/vmx/tdx/tdx.c",
         extra_files=_file("arch/x86/include/asm/shared/tdx_errno.h") + _file("arch/x86/include/asm/tdx.h"),
         why="the seed"),
    Case(subject="x86/tdx: Disable the TDX module during kexec and kdump",
         path="arch/x86/kernel/machine_kexec_64.c", extra_files=_file("arch/x86/virt/vmx/tdx/tdx.c"),
         why="Chao's suggested prefix"),
    Case(subject="KVM: TDX: Kick vCPUs before retrying TDH.MEM.TRACK", path="arch/x86/kvm/vmx/tdx.c",
         why="KVM code"),
    Case(subject="x86/tdx: Remove TDCALL_RETURN_CODE()", path="arch/x86/coco/tdx/tdx.c", why="guest code"),
    Case(subject="mm: Teach page allocation about TDX", path="mm/page_alloc.c",
         extra_files=_file("arch/x86/virt/vmx/tdx/tdx.c"), why="other subsystems' conventions"),
]
