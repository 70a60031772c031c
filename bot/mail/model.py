"""The data model every other part of tdxbot works on.

Immutable records (NamedTuple: cheap to define, which matters for a
command b4 starts once per patch): a Series holds Patches, a Patch holds
FileDiffs, a FileDiff holds Hunks of Lines. Line numbers of added and
context lines are post-image numbers (the file as it is after the patch).
"""
from __future__ import annotations


from ..common import NamedTuple
from .safe import decode_words, split_addresses
from .subjects import split_title



class Line(NamedTuple):
    kind: str  # "+", "-" or " "
    text: str
    new_no: int | None  # post-image line number, None for removed lines
    old_no: int | None  # pre-image line number, None for added lines
    body_index: int | None = None  # index of this line in the mail body

    @property
    def added(self) -> bool:
        return self.kind == "+"


class Hunk(NamedTuple):
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str
    lines: tuple[Line, ...]
    header_body_index: int | None = None

    def post_image(self) -> list[Line]:
        return [ln for ln in self.lines if ln.kind != "-"]


class _FileDiffFields(NamedTuple):
    path: str  # post-image path; the pre-image path for a deleted file
    old_path: str | None
    is_new: bool
    is_deleted: bool
    is_binary: bool
    hunks: tuple[Hunk, ...]
    header_body_index: int | None = None
    # The whole post-image file when it is known (local git checks); else None.
    post_image_text: str | None = None


class FileDiff(_FileDiffFields):
    """One file's diff. Still an immutable tuple, but with no __slots__, so
    each instance has a __dict__ to keep what its methods work out once:
    every rule asks for the added lines, thousands of times in a big review.
    _replace makes a new instance, with nothing kept."""

    def added_lines(self) -> tuple[Line, ...]:
        kept = self.__dict__.get("_added")
        if kept is None:
            kept = self.__dict__["_added"] = tuple(ln for h in self.hunks for ln in h.lines if ln.kind == "+")
        return kept

    @property
    def added_line_numbers(self) -> frozenset[int]:
        kept = self.__dict__.get("_added_numbers")
        if kept is None:
            kept = self.__dict__["_added_numbers"] = frozenset(ln.new_no for ln in self.added_lines())
        return kept


class Trailer(NamedTuple):
    name: str
    value: str
    line: int  # index into Patch.changelog_lines


class Address(NamedTuple):
    name: str
    email: str

    def __str__(self) -> str:
        """For reading (an attribution line, a log): the name as it reads,
        quoted when it holds specials. Headers are written from the parts
        by the email package (see output.drafts)."""
        if not self.name:
            return self.email
        name = self.name
        if any(c in name for c in '()<>[]:;@\\,."'):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{self.email}>"


def parse_addresses(values: tuple[str, ...]) -> tuple[Address, ...]:
    """The mailboxes of raw (undecoded) address headers: split first, with
    encoded words held whole, then each display name decoded once and
    cleaned; only plain ASCII addresses are kept (see mailsafe)."""
    return tuple(Address(name, addr) for name, addr in split_addresses(values))


class _PatchFields(NamedTuple):
    subject: str  # the Subject header as sent
    title: str  # subject without [PATCH ...] bracket prefixes
    tags: tuple[str, ...]  # words inside the brackets, e.g. ("PATCH", "v2", "3/5")
    version: int
    index: int  # N of N/M; 0 for a cover letter; 1 for a lone patch
    total: int  # M of N/M; 1 for a lone patch
    from_header: str  # the From: header as sent (not decoded), parsed on demand (see author)
    date: str  # the Date header as sent
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    to_headers: tuple[str, ...]  # To:/Cc:/Reply-To: values as sent (not decoded)
    cc_headers: tuple[str, ...]
    reply_to_headers: tuple[str, ...]
    # The commit message: everything above the '---' line, trailers included.
    changelog_lines: tuple[str, ...]
    trailers: tuple[Trailer, ...]
    files: tuple[FileDiff, ...]
    body_lines: tuple[str, ...]  # the decoded mail body, for quoting in replies
    changelog_body_start: int = 0  # index of changelog_lines[0] in body_lines
    headers: tuple[tuple[str, str], ...] = ()
    is_cover: bool = False


class Patch(_PatchFields):
    """One mail of a series. Like FileDiff, it keeps what several rules ask
    for (the prose lines, the summary) in its __dict__."""

    # Addresses are parsed only when a draft needs them: the email.utils
    # import is a cost the per-patch b4 check does not need to pay.
    @property
    def author(self) -> Address:
        found = parse_addresses((self.from_header,))
        if found:
            return found[0]

        return Address(decode_words(self.from_header), "")

    @property
    def to(self) -> tuple[Address, ...]:
        return parse_addresses(self.to_headers)

    @property
    def cc(self) -> tuple[Address, ...]:
        return parse_addresses(self.cc_headers)

    @property
    def reply_to(self) -> tuple[Address, ...]:
        return parse_addresses(self.reply_to_headers)

    @property
    def prose_lines(self) -> list[tuple[int, str]]:
        """Changelog lines a human wrote as prose: no trailers, no quoted or
        indented (code/log) text. Each with its index in changelog_lines."""
        kept = self.__dict__.get("_prose")
        if kept is None:
            trailer_lines = {t.line for t in self.trailers}
            kept = self.__dict__["_prose"] = [
                (i, text) for i, text in enumerate(self.changelog_lines)
                if i not in trailer_lines and not text.startswith((">", "\t", "    "))]
        return kept

    @property
    def diff_body_start(self) -> int:
        """Index in body_lines of the first file's diff header (the end of
        the body when there is no diff)."""
        return min((d.header_body_index for d in self.files if d.header_body_index is not None),
                   default=len(self.body_lines))

    @property
    def summary(self) -> str:
        """The part of the title after the subsystem prefix."""
        kept = self.__dict__.get("_summary")
        if kept is None:
            kept = self.__dict__["_summary"] = split_title(self.title)[1]
        return kept

    @property
    def subsystem(self) -> str:
        return split_title(self.title)[0]


class Series(NamedTuple):
    title: str
    version: int
    total: int
    cover: Patch | None
    patches: tuple[Patch, ...]
    missing: tuple[int, ...] = ()
    # What reviewers in the thread wrote below quoted lines (mail.remarks):
    # a finding does not repeat a point a human already made.
    remarks: tuple = ()  # of Remark
    # The thread's other mails (the review, the author's answers), as Patches,
    # for the follow-up on this version when a later one is reviewed.
    replies: tuple = ()  # of Patch
    # The version before this one, with its review, when it is known
    # (lint.followup compares the two; series rules may read it).
    previous: "Series | None" = None

    @property
    def message_id(self) -> str | None:
        if self.cover is not None:
            return self.cover.message_id
        return self.patches[0].message_id if self.patches else None
