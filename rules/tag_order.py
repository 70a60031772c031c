"""Tags out of the order the tip tree documents (a nit, info).

What it flags, for patches the tip tree takes (not KVM's, whose
maintainers order tags their own way), against "Ordering of commit tags" in
Documentation/process/maintainer-tip.rst:
- a Fixes: tag that is not the first tag;
- Reported-by:, Closes:, Originally-by: or Suggested-by: below the first
  Signed-off-by (they go above the Co-developed-by/Signed-off-by chain; a
  Closes: or Link: right after a misplaced Reported-by goes with it).
One finding per tag block, on the first tag out of place, naming every
problem. Reviews collected above the author's Signed-off-by are not
flagged: b4 and the maintainers put them where they go when applying. Where
handler notes go is tag-chain's business.

It is an info finding: in the report, never in a reply draft. The tip
maintainers reorder tags themselves when they apply a patch, and none of
the collected TDX reviews asks for it; an author checking a branch before
sending may still want to know.

Why: the tip maintainers read tags in one order ("To have a uniform view
of the commit tags, the tip maintainers use the following tag ordering
scheme"), so that the chain of authorship and handling reads top to bottom
and credits sit where they look for them.

Fires on:
    Signed-off-by: Alice Example <alice@example.org>
    Suggested-by: Dave Maintainer <dave@example.org>
Must not fire on:
    Suggested-by: Dave Maintainer <dave@example.org>
    Signed-off-by: Alice Example <alice@example.org>
    Reviewed-by: Bob Reviewer <bob@example.com>
nor on a Reviewed-by above the Signed-off-by.
"""
from __future__ import annotations

from ..lint.kit import TDX_TIP, TIP, Case, ChangelogLine, Violation

ID = "tag-order"
SEVERITY = "info"
PATHS = TDX_TIP
TREES = {TIP: 'maintainer-tip.rst, "Ordering of commit tags"'}
TOPICS = ("order", "tag", "tags", "maintainer-tip", "above", "below", "before", "after")

_ABOVE_CHAIN = ("reported-by", "closes", "originally-by", "suggested-by")
_CHAIN = ("signed-off-by", "co-developed-by")


class OutOfOrder(Violation):
    message = "tags not in the tip order: {problems}"
    comment = ("Nit: {problems}; see the tag order in Documentation/process/maintainer-tip.rst.")

    @property
    def problems(self) -> str:
        return "; ".join(self.found)


def check_patch(ctx):
    trailers = ctx.patch.trailers
    names = [t.name.lower() for t in trailers]
    found = []  # (trailer index, what is wrong)
    if "fixes" in names and names[0] != "fixes":
        found.append((names.index("fixes"), "Fixes: is not the first tag"))
    chain = [i for i, n in enumerate(names) if n in _CHAIN]
    late = [i for i, n in enumerate(names) if chain and n in _ABOVE_CHAIN and i > chain[0]]
    if late:
        found.append((late[0], f"{trailers[late[0]].name}: sits below the Signed-off-by chain"))
    if found:
        first = min(i for i, _ in found)
        ctx.report(ChangelogLine(trailers[first].line), OutOfOrder(found=[what for _, what in found]))


_SOB = "Signed-off-by: Alice Example <alice@example.org>"

INVALID = [
    Case(trailers=f"{_SOB}\nSuggested-by: Dave Maintainer <dave@example.org>",
         at=('changelog:5: Suggested-by: Dave',), why="Suggested-by below the SoB"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Fixes: 0123456789ab (\"x86/virt/tdx: Add TDH.SYS.DISABLE\")\n" + _SOB,
         at=('changelog:5: Fixes: 0123456789ab',), why="Fixes not first"),
    Case(trailers=f"{_SOB}\nReported-by: Bob Tester <bob@example.com>\n"
                  "Fixes: 0123456789ab (\"x86/virt/tdx: Add TDH.SYS.DISABLE\")",
         at=('changelog:5: Reported-by: Bob',), why="two problems in one block: one finding naming both"),
]

VALID = [
    Case(trailers="Fixes: 0123456789ab (\"x86/virt/tdx: Add TDH.SYS.DISABLE\")\n"
                  "Reported-by: Bob Tester <bob@example.com>\n"
                  "Closes: https://lore.kernel.org/all/20260301.bob@example.com/\n"
                  "Suggested-by: Dave Maintainer <dave@example.org>\n"
                  "Co-developed-by: Tomas Lindqvist <tomas@example.org>\n"
                  "Signed-off-by: Tomas Lindqvist <tomas@example.org>\n"
                  f"{_SOB}\nTested-by: Carol Tester <carol@example.net>\n"
                  "Reviewed-by: Bob Reviewer <bob@example.com>\nLink: https://lore.kernel.org/r/1",
         why="the documented order"),
    Case(trailers=f"{_SOB}\nReviewed-by: Bob Reviewer <bob@example.com>\n"
                  "Signed-off-by: Rick Handler <rick@example.com>", why="a handler signs after a review"),
    Case(path="arch/x86/include/asm/tdx.h", code="u64 tdh_vp_flush(struct tdx_vp *vp);",
         extra_files=(("arch/x86/kvm/vmx/tdx.c", "\terr = tdh_vp_flush(&tdx->vp);"),),
         subject="KVM: TDX: Flush the vCPU before reclaiming it",
         trailers=f"{_SOB}\nSuggested-by: Dave Maintainer <dave@example.org>",
         why="a KVM patch that also touches a TDX header: KVM orders tags its own way"),
    Case(trailers=f"Reviewed-by: Bob Reviewer <bob@example.com>\n{_SOB}",
         why="a review collected above the SoB: b4 and the maintainers move it when applying"),
]
