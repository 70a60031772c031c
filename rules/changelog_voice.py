"""The changelog speaks as "we", "I" or "this patch".

What it flags: changelog prose (not trailers, not quoted or indented text,
not words inside quotes) that uses "we", "us", "our", "I", "This patch" or
"Let's". One finding per line.

Why: the tip handbook asks for changelogs in imperative mood that describe
the change, not the author or the patch: "Add a check for X", not "This
patch adds a check" or "We add a check". The TDH.SYS.DISABLE v2 cover
notes rewording logs "to use the imperative mood" after review.

Fires on:
    So we loop infinitely on either of these error codes.
Must not fire on:
    Loop on either of these error codes until success or another error.
nor on a quoted "we" or on I/O.
"""
from __future__ import annotations

from ..lint.kit import Case, ChangelogLine, Violation, lazy_re

ID = "changelog-voice"
SEVERITY = "warning"
PATHS = None
TOPICS = ("imperative", "mood", "we", "this patch", "let's", "pronoun")

_VOICE = lazy_re(r"\b(?:[Ww]e|[Uu]s|[Oo]ur|I(?![/\-.]\w))\b|\b[Tt]his (?:patch|commit)\b|"
                    r"\b[Ll]et'?s\b|\bLet us\b")
_QUOTED = lazy_re(r"\"[^\"]*\"|`[^`]*`|'[^']{2,}'")


class PersonalVoice(Violation):
    message = "changelog says '{word}'; describe the change in imperative mood"
    comment = ("Please describe the change in imperative mood, without "
               "'we'/'I'/'this patch' (see 'Changelog' in maintainer-tip.rst).")


def check_patch(ctx):
    for index, text in ctx.patch.prose_lines:
        if m := _VOICE.search(_QUOTED.sub(lambda q: " " * len(q.group(0)), text)):
            ctx.report(ChangelogLine(index), PersonalVoice(word=m.group(0)))


INVALID = [
    Case(changelog="Shut the module down before kexec.\n\nSo we loop infinitely on either of these error codes.",
         at=('changelog:3: So we loop',), why="'we'"),
    Case(changelog="This patch adds a wrapper for TDH.SYS.SHUTDOWN.", at=('changelog:1: This patch adds',),
         why="'This patch'"),
    Case(changelog="Let's print the status on failure.\n\nI think this is the simplest fix.",
         at=("changelog:1: Let's print", 'changelog:3: I think'), why="'Let's' and 'I'"),
]

VALID = [
    Case(changelog="Loop on either of these error codes until success or another error.",
         why="imperative"),
    Case(changelog='Print the status. The spec says "we guarantee progress" for this leaf.',
         why="quoted text"),
    Case(changelog="Flush the I/O queues before the SEAMCALL.\n\n    we = something(); /* code */",
         why="I/O and indented code"),
    Case(changelog="Read the TD status.",
         trailers="Signed-off-by: Alice Example <alice@example.org>\nCc: Us Team <us@example.org>",
         why="trailers are not prose"),
]
