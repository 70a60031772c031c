"""A Reported-by: without a Closes: or Link: to the report right after it (a nit, info).

What it flags: a Reported-by: trailer (or a run of them, for one report
several people sent) not directly followed by a Closes: or Link: trailer.
One finding per run, on its first Reported-by.

Why: submitting-patches.rst asks for the report to be linked right after
the Reported-by tag, so that whoever reads the commit can find the
original report and its discussion; checkpatch warns about it
(BAD_REPORTED_BY_LINK) and maintainers ask for the lore link when it is
missing ("Please add a Closes: tag pointing to the report").

It is an info finding: in the report, never in a reply draft. checkpatch
already tells the author before the patch is sent, many reports have no
public URL to give (a maintainer's off-list note, a private bug tracker),
and in the TDX threads collected the maintainers applied patches without
the link and without asking for it.

Fires on:
    Reported-by: Bob Tester <bob@example.com>
    Signed-off-by: Alice Example <alice@example.org>
Must not fire on:
    Reported-by: Bob Tester <bob@example.com>
    Closes: https://lore.kernel.org/all/20260301.bob@example.com/
    Signed-off-by: Alice Example <alice@example.org>
"""
from __future__ import annotations

from ..lint.kit import GENERIC, KVM_X86, TIP, Case, ChangelogLine, Violation

ID = "reported-by-link"
SEVERITY = "info"
PATHS = None
TREES = {TIP: 'submitting-patches.rst, "Using Reported-by:, Tested-by:, Reviewed-by:, Suggested-by: and '
              'Fixes:": Closes: right after Reported-by',
         KVM_X86: 'submitting-patches.rst, the same section (maintainer-kvm-x86.rst adds nothing)',
         GENERIC: 'submitting-patches.rst, "Using Reported-by:, Tested-by:, Reviewed-by:, Suggested-by: and '
                  'Fixes:"'}
TOPICS = ("reported-by", "closes", "link", "report", "lore")

_REPORTED = ("reported-by", "reported-and-tested-by")
_LINKS = ("closes", "link")


class NoReportLink(Violation):
    message = "Reported-by: {reporter} has no Closes: or Link: to the report after it"
    comment = ("Please add a 'Closes:' tag with the URL of the report (lore link) directly below "
               "the Reported-by.")


def check_patch(ctx):
    for run, after in _report_runs(ctx.patch.trailers):
        if after is None or after.name.lower() not in _LINKS or after.line != run[-1].line + 1:
            ctx.report(ChangelogLine(run[0].line), NoReportLink(reporter=run[0].value))


def _report_runs(trailers):
    """(run, the trailer after it or None) for each run of Reported-by
    trailers."""
    i = 0
    while i < len(trailers):
        if trailers[i].name.lower() not in _REPORTED:
            i += 1
            continue
        start = i
        while i < len(trailers) and trailers[i].name.lower() in _REPORTED:
            i += 1
        yield trailers[start:i], trailers[i] if i < len(trailers) else None


INVALID = [
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>",
         at=('changelog:4: Reported-by: Bob Tester',), why="no link at all"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>\n"
                  "Link: https://lore.kernel.org/r/20260301.bob@example.com",
         at=('changelog:4: Reported-by: Bob Tester',), why="the link is not right after the Reported-by"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Reported-by: Carol Fuzzer <carol@example.net>\n"
                  "Tested-by: Carol Fuzzer <carol@example.net>\n"
                  "Signed-off-by: Alice Example <alice@example.org>",
         at=('changelog:4: Reported-by: Bob Tester',), why="a run of two reporters, no link after the run"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Closes: https://lore.kernel.org/all/20260301.bob@example.com/\n"
                  "Reported-by: Dan Static <dan@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>",
         at=('changelog:6: Reported-by: Dan Static',), why="the second report has no link"),
]

VALID = [
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Closes: https://lore.kernel.org/all/20260301.bob@example.com/\n"
                  "Signed-off-by: Alice Example <alice@example.org>", why="Closes right after"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\n"
                  "Reported-by: Carol Fuzzer <carol@example.net>\n"
                  "Link: https://lore.kernel.org/all/20260301.bob@example.com/\n"
                  "Signed-off-by: Alice Example <alice@example.org>", why="one link for a run"),
    Case(trailers="Suggested-by: Bob Tester <bob@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>", why="not a report"),
    Case(changelog="Bob reported-by mail that the module hangs. Print the status.",
         why="prose, not a trailer"),
]
