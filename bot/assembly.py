"""From messages to series: a thread (or a loose mbox) becomes the Series
the rules review. b4 decides which messages form a series (see b4glue); a
lone patch, or messages with no [PATCH] subjects, need no b4."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .b4glue import SeriesPlan, is_patch_message, plan_series
from .errors import UserError
from .mailparse import patch_from_message
from .model import Patch, Reply, Series

if TYPE_CHECKING:
    from email.message import Message


def assemble(messages: list[Message], version: int | None = None, where: str = "input") -> Series:
    """Turn the messages of a thread (or a loose mbox) into one Series."""
    plan = plan_series(messages, version, where) if needs_b4(messages) else None
    return build_series(messages, version, where, plan)


def needs_b4(messages: list[Message]) -> bool:
    return len(messages) > 1 and any(is_patch_message(m) for m in messages)


def parse_all(messages: list[Message], where: str) -> list[Patch | None]:
    """Every message as a Patch, None where it cannot be read (build_series
    parses that one again when it needs it, for its error message)."""
    out: list[Patch | None] = []
    for i, msg in enumerate(messages):
        try:
            out.append(patch_from_message(msg, f"{where} message {i + 1}"))
        except UserError:
            out.append(None)
    return out


def build_series(messages: list[Message], version: int | None, where: str,
                 plan: SeriesPlan | None, parsed: list[Patch | None] | None = None) -> Series:
    """The Series that plan describes; without a plan, every message with a
    diff is a patch. parsed: the messages already parsed by parse_all."""
    def patch_at(pos: int, label: str) -> Patch:
        if parsed is not None and parsed[pos] is not None:
            return parsed[pos]
        return patch_from_message(messages[pos], label)

    if len(messages) == 1:
        patch = patch_at(0, where)
        if not patch.files:
            raise UserError(f"{where}: no patch found in the message")
        missing = tuple(i for i in range(1, patch.total + 1) if i != patch.index)
        return Series(title=patch.title, version=patch.version, total=patch.total, cover=None,
                      patches=(patch,), missing=missing)
    if plan is not None:
        return _series_from_plan(messages, plan, where, patch_at)
    if version is not None:
        raise UserError(f"{where}: no version {version} of a series found")
    # No [PATCH] subjects b4 recognises: every message with a diff is a patch.
    patches = []
    replies = []
    for i in range(len(messages)):
        p = patch_at(i, f"{where} message {i + 1}")
        if is_standalone_patch(p):
            patches.append(p)
        else:
            replies.append(_reply(p))
    if not patches:
        raise UserError(f"{where}: no patch found in {len(messages)} messages")
    total = len(patches)
    patches = [_renumber(p, i + 1, total) for i, p in enumerate(patches)]
    return Series(title=patches[0].title, version=patches[0].version, total=total, cover=None,
                  patches=tuple(patches), replies=tuple(replies))


def is_standalone_patch(p: Patch) -> bool:
    """A message with a diff that is not a reply: a patch in its own right."""
    return bool(p.files) and not p.subject.lower().startswith("re:")


def _renumber(p: Patch, index: int, total: int) -> Patch:
    return p._replace(index=index, total=total)


def _reply(p: Patch) -> Reply:
    return Reply(p.message_id, p.in_reply_to, p.author, p.body_lines)


def _series_from_plan(messages: list[Message], plan: SeriesPlan, where: str, patch_at) -> Series:
    def label(pos: int) -> str:
        from .mailparse import decode_header_value

        return f"{where}: {decode_header_value(messages[pos].get('Subject'))}"

    cover = patch_at(plan.cover, label(plan.cover)) if plan.cover is not None else None
    patches = [patch_at(pos, label(pos)) for pos in plan.patches]
    present = {p.index for p in patches}
    missing = tuple(i for i in range(1, plan.expected + 1) if i not in present)
    if not patches:
        raise UserError(f"{where}: the thread has a cover letter but no patches")
    for p in patches:
        if not p.files:
            raise UserError(f"{where}: no diff found in '{p.subject}'")
    used = set(plan.patches) | ({plan.cover} if plan.cover is not None else set())
    replies = []
    for pos in range(len(messages)):
        if pos in used:
            continue
        try:
            replies.append(_reply(patch_at(pos, where)))
        except UserError:
            continue
    title = cover.title if cover is not None else patches[0].title
    return Series(title=title, version=plan.version, total=plan.expected, cover=cover,
                  patches=tuple(patches), missing=missing, replies=tuple(replies))
