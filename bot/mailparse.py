"""Turn one mail message into a Patch: subject, author, changelog, trailers
and the diff (parsed with unidiff) with post-image line numbers."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import UserError
from .lazyre import lazy_re
from .model import FileDiff, Hunk, Line, Patch, Trailer
from .subjects import parse_subject

if TYPE_CHECKING:
    from email.message import Message

_TRAILER = lazy_re(r"^([A-Za-z0-9][A-Za-z0-9-]*):\s+(\S.*)$")
_HANDLER_NOTE = lazy_re(r"^\s*\[.*\]\s*$")
_KNOWN_TRAILERS = {
    "fixes", "link", "closes", "cc", "signed-off-by", "reviewed-by", "acked-by",
    "tested-by", "reported-by", "suggested-by", "co-developed-by", "originally-by",
    "assisted-by", "message-id", "change-id",
}
_DIFF_START = lazy_re(r"^(diff --git |Index: |--- (a/|/dev/null))")


def body_text(msg: Message) -> str:
    """The text/plain body, decoded, with LF line endings."""
    part = msg
    if msg.is_multipart():
        part = None
        for sub in msg.walk():
            if sub.get_content_type() == "text/plain" and not sub.is_multipart() \
                    and sub.get_content_disposition() != "attachment":
                part = sub
                break
        if part is None:
            for sub in msg.walk():
                if sub.get_content_type() in ("text/plain", "text/x-patch", "text/x-diff") \
                        and not sub.is_multipart():
                    part = sub
                    break
        if part is None:
            raise UserError("message has no text/plain part")
    elif part.get_content_type() not in ("text/plain", "text/x-patch", "text/x-diff"):
        raise UserError(f"message body is {part.get_content_type()}, not plain text")
    raw = part.get_payload(decode=True)
    if raw is None:
        raw = str(part.get_payload()).encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = raw.decode(charset, "replace")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _header_values(msg: Message, header: str) -> tuple[str, ...]:
    return tuple(decode_header_value(v) for v in msg.get_all(header, []))


def _msgid(value: str | None) -> str | None:
    if not value:
        return None
    m = re.search(r"<([^<>\s]+)>", str(value))
    if m:
        return m.group(1)
    value = str(value).strip()
    return value or None


def message_id(msg: Message) -> str | None:
    """The Message-ID of a mail, without its angle brackets."""
    return _msgid(msg.get("Message-ID"))


def decode_header_value(value) -> str:
    """RFC 2047 decoding that never raises; whitespace folded."""
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        from email.header import decode_header, make_header

        try:
            text = str(make_header(decode_header(text)))
        except Exception:  # noqa: BLE001 - a broken encoded word stays as sent
            pass
    return " ".join(text.split())


def _header(msg: Message, name: str) -> str:
    return decode_header_value(msg.get(name))


def find_trailers(lines: list[str]) -> list[Trailer]:
    """Trailers are the last paragraph of the commit message when every line
    in it looks like a trailer, a handler note or a continuation."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].strip():
        start -= 1
    block = range(start, end)
    found: list[Trailer] = []
    known = False
    for i in block:
        text = lines[i]
        m = _TRAILER.match(text)
        if m:
            found.append(Trailer(m.group(1), m.group(2).strip(), i))
            known = known or m.group(1).lower() in _KNOWN_TRAILERS or m.group(1).lower().endswith("-by")
        elif _HANDLER_NOTE.match(text) or (text[:1] in (" ", "\t") and found):
            continue
        else:
            return []
    return found if known else []


def handler_notes(lines: tuple[str, ...], trailers: tuple[Trailer, ...]) -> list[int]:
    """Indices of '[...]' lines inside the trailer block."""
    if not trailers:
        return []
    out = []
    for i in range(trailers[0].line, len(lines)):
        if not lines[i].strip():
            break
        if _HANDLER_NOTE.match(lines[i]):
            out.append(i)
    return out


def _split_body(lines: list[str]) -> tuple[int, int | None]:
    """Return (end of the commit message, start of the diff or None)."""
    diff_start = None
    for i, text in enumerate(lines):
        if text.startswith("diff --git ") or text.startswith("Index: "):
            diff_start = i
            break
        if text.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            diff_start = i
            break
    limit = diff_start if diff_start is not None else len(lines)
    for i in range(limit):
        if lines[i].rstrip() == "---":
            return i, diff_start
    return limit, diff_start


def parse_diff(diff_lines: list[str], body_offset: int, where: str) -> tuple[FileDiff, ...]:
    """The files of a diff, each with its hunks of numbered lines.

    unidiff reads the structure (files, renames, binary parts, hunk headers)
    and checks every hunk's line counts, without building an object per
    line (metadata_only); _hunk_lines then reads the hunks' lines straight
    into the model, one pass over lines unidiff has already checked."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    # A format-patch signature ('-- ' then the git version) ends the diff.
    end = len(diff_lines)
    for i in range(len(diff_lines) - 1, -1, -1):
        if diff_lines[i] == "-- ":
            if not any(ln.startswith(("diff --git ", "@@ ")) for ln in diff_lines[i + 1:]):
                end = i
            break
    text = "\n".join(diff_lines[:end]) + "\n"
    try:
        patchset = PatchSet(text, metadata_only=True)
    except UnidiffParseError as exc:
        raise UserError(f"{where}: broken diff: {exc}") from None
    except (ValueError, IndexError) as exc:
        raise UserError(f"{where}: broken diff: {exc}") from None
    read = _hunk_lines(diff_lines, end, body_offset)
    files = []
    for pf in patchset:
        hunks = []
        for h in pf:
            header_index, hunk_lines = next(read)
            hunks.append(Hunk(h.source_start, h.source_length, h.target_start, h.target_length,
                              (h.section_header or "").strip(), hunk_lines, header_index))
        path = pf.path
        old_path = pf.source_file[2:] if pf.source_file and pf.source_file.startswith("a/") else None
        files.append(FileDiff(
            path=path,
            old_path=old_path,
            is_new=pf.is_added_file,
            is_deleted=pf.is_removed_file,
            is_binary=pf.is_binary_file,
            hunks=tuple(hunks),
            header_body_index=_file_header_index(diff_lines, path, body_offset),
        ))
    return tuple(files)


def _hunk_lines(diff_lines: list[str], end: int, body_offset: int):
    """(body index of the '@@' line, its Lines) for each hunk of a diff that
    unidiff has checked, in order. A hunk is read as unidiff reads it: its
    header's counts say where it ends; an empty line is context; a '\\'
    line (no newline at end of file) counts for neither side."""
    from unidiff.constants import RE_HUNK_HEADER

    make = tuple.__new__
    i = 0
    while i < end:
        header = RE_HUNK_HEADER.match(diff_lines[i]) if diff_lines[i].startswith("@@ -") else None
        i += 1
        if header is None:
            continue
        header_at = body_offset + i - 1
        old_no, old_len, new_no, new_len = (int(g) if g is not None else 1 for g in header.groups()[:4])
        old_end, new_end = old_no + old_len, new_no + new_len
        lines = []
        while (old_no < old_end or new_no < new_end) and i < end:
            text = diff_lines[i]
            kind = text[:1] or " "
            index = body_offset + i
            i += 1
            if kind == "+":
                lines.append(make(Line, ("+", text[1:], new_no, None, index)))
                new_no += 1
            elif kind == "-":
                lines.append(make(Line, ("-", text[1:], None, old_no, index)))
                old_no += 1
            elif kind == " ":
                lines.append(make(Line, (" ", text[1:], new_no, old_no, index)))
                new_no += 1
                old_no += 1
        yield (header_at if lines else None), tuple(lines)


def _file_header_index(diff_lines: list[str], path: str, offset: int) -> int | None:
    for i, text in enumerate(diff_lines):
        if text.startswith("diff --git ") and text.endswith("/" + path):
            return offset + i
    return None


def patch_from_message(msg: Message, where: str = "message") -> Patch:
    """Build a Patch from a parsed mail. Raises UserError on unusable input."""
    subject = _header(msg, "Subject")
    title, tags, version, index, total, _ = parse_subject(subject)
    if index > total or total == 0:
        index, total = 1, max(total, 1)
    body = body_text(msg)
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    changelog_end, diff_start = _split_body(lines)
    # A format-patch mail may carry in-body 'From:'/'Subject:' headers first.
    start = 0
    while start < changelog_end and re.match(r"^(From|Subject|Date): ", lines[start]):
        start += 1
    if start and start < changelog_end and not lines[start].strip():
        start += 1
    else:
        start = 0 if start == 0 else start
    changelog = lines[start:changelog_end]
    while changelog and not changelog[-1].strip():
        changelog.pop()
    trailers = tuple(find_trailers(changelog))
    files: tuple[FileDiff, ...] = ()
    if diff_start is not None:
        files = parse_diff(lines[diff_start:], diff_start, where)
    refs = tuple(re.findall(r"<([^<>\s]+)>", _header(msg, "References")))
    return Patch(
        subject=subject,
        title=title,
        tags=tags,
        version=version,
        index=0 if (index == 0) else index,
        total=total,
        from_header=_header(msg, "From"),
        date=_header(msg, "Date"),
        message_id=_msgid(msg.get("Message-ID")),
        in_reply_to=_msgid(msg.get("In-Reply-To")),
        references=refs,
        to_headers=_header_values(msg, "To"),
        cc_headers=_header_values(msg, "Cc"),
        reply_to_headers=_header_values(msg, "Reply-To"),
        changelog_lines=tuple(changelog),
        trailers=trailers,
        files=files,
        body_lines=tuple(lines),
        changelog_body_start=start,
        headers=tuple((k, decode_header_value(v)) for k, v in msg.items()
                      if k.lower() in ("auto-submitted", "x-mailer", "list-id", "precedence")),
        is_cover=index == 0 and total > 0 and not files,
    )
