"""Tags out of the order the tip tree documents.

What it flags, for patches to tip-tree TDX code (not KVM's, whose
maintainers order tags their own way), against "Ordering of commit tags" in
Documentation/process/maintainer-tip.rst:
- a Fixes: tag that is not the first tag;
- Reported-by:, Closes:, Originally-by: or Suggested-by: below the first
  Signed-off-by (they go above the Co-developed-by/Signed-off-by chain; a
  Closes: or Link: right after a misplaced Reported-by goes with it);
- Tested-by:, Reviewed-by: or Acked-by: above the first Signed-off-by
  (they go below the chain); only a nit (info), as authors who collect
  reviews often put them there and the maintainers reorder them anyway.
At most one finding per kind, on the first tag out of place. Where handler
notes go is tag-chain's business.

Why: the tip maintainers read tags in one order ("To have a uniform view
of the commit tags, the tip maintainers use the following tag ordering
scheme") and ask submitters to follow it, so that the chain of authorship
and handling reads top to bottom and credits sit where they look for them.

Fires on:
    Signed-off-by: Alice Example <alice@example.org>
    Suggested-by: Dave Maintainer <dave@example.org>
Must not fire on:
    Suggested-by: Dave Maintainer <dave@example.org>
    Signed-off-by: Alice Example <alice@example.org>
    Reviewed-by: Bob Reviewer <bob@example.com>
"""
from __future__ import annotations

from ..lint.kit import KVM, TDX_TIP, Case, ChangelogLine, Violation, path_matches

ID = "tag-order"
SEVERITY = "warning"
PATHS = TDX_TIP
TOPICS = ("order", "tag", "tags", "maintainer-tip", "above", "below", "before", "after")

_ABOVE_CHAIN = ("reported-by", "closes", "originally-by", "suggested-by")
_BELOW_CHAIN = ("tested-by", "reviewed-by", "acked-by")
_CHAIN = ("signed-off-by", "co-developed-by")
_DOC = "the tag order in Documentation/process/maintainer-tip.rst"


class FixesNotFirst(Violation):
    message = "Fixes: is not the first tag"
    comment = f"Please put the Fixes: tag first; see {_DOC}."


class BelowChain(Violation):
    message = "{tag}: sits below the Signed-off-by chain"
    comment = (f"Please move {{tag}}: (and the Closes: with it) above the "
               f"Co-developed-by/Signed-off-by lines; see {_DOC}.")


class AboveChain(Violation):
    message = "{tag}: sits above the Signed-off-by chain"
    comment = f"Nit: {{tag}}: goes below the Signed-off-by lines; see {_DOC}."


def check_patch(ctx):
    patch = ctx.patch
    if any(path_matches(f.path, KVM) for f in patch.files):
        return
    trailers = patch.trailers
    names = [t.name.lower() for t in trailers]
    if "fixes" in names and names[0] != "fixes":
        ctx.report(ChangelogLine(trailers[names.index("fixes")].line), FixesNotFirst())
    chain = [i for i, n in enumerate(names) if n in _CHAIN]
    if not chain:
        return
    first_sob = chain[0]
    late = [i for i, n in enumerate(names) if n in _ABOVE_CHAIN and i > first_sob]
    if late:
        t = trailers[late[0]]
        ctx.report(ChangelogLine(t.line), BelowChain(tag=t.name))
    early = [i for i, n in enumerate(names) if n in _BELOW_CHAIN and i < first_sob]
    if early:
        t = trailers[early[0]]
        # Authors who collect reviews often put them above their own SoB
        # and the tip maintainers reorder them when applying: a nit.
        ctx.report(ChangelogLine(t.line), AboveChain(tag=t.name), severity="info")


_SOB = "Signed-off-by: Alice Example <alice@example.org>"

INVALID = [
    Case(trailers=f"{_SOB}\nSuggested-by: Dave Maintainer <dave@example.org>",
         at=('changelog:5: Suggested-by: Dave',), why="Suggested-by below the SoB"),
    Case(trailers=f"Reviewed-by: Bob Reviewer <bob@example.com>\n{_SOB}",
         at=('changelog:4: Reviewed-by: Bob',), why="Reviewed-by above the SoB"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Fixes: 0123456789ab (\"x86/virt/tdx: Add TDH.SYS.DISABLE\")\n" + _SOB,
         at=('changelog:5: Fixes: 0123456789ab',), why="Fixes not first"),
    Case(trailers=f"Tested-by: Carol Tester <carol@example.net>\n{_SOB}\n"
                  "Reported-by: Bob Tester <bob@example.com>\n"
                  "Closes: https://lore.kernel.org/all/20260301.bob@example.com/",
         at=('changelog:4: Tested-by: Carol', 'changelog:6: Reported-by: Bob'), why="both directions, one finding each"),
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
    Case(path="arch/x86/kvm/vmx/tdx.c",
         trailers=f"Reviewed-by: Bob Reviewer <bob@example.com>\n{_SOB}", why="KVM orders its own way"),
]
