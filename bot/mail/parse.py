"""Turn one mail message into a Patch: subject, author, changelog, trailers
and the diff (parsed with unidiff) with post-image line numbers."""
from __future__ import annotations

import re

from ..common import UserError, lazy_re
from .model import FileDiff, Hunk, Line, Patch, Trailer
from .safe import decode_words, parse_msgid, parse_msgid_list
from .subjects import parse_subject

TYPE_CHECKING = False  # typing's constant, without importing typing
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


_PATCH_TYPES = ("text/plain", "text/x-patch", "text/x-diff")
_PATCH_NAME = lazy_re(r"\.(patch|diff)$", re.I)
_HAS_DIFF = lazy_re(r"^(diff --git |--- \S.*\n\+\+\+ )", re.M)
_STARTS_WITH_DIFF = lazy_re(r"^\s*(diff --git |Index: |--- )")


def body_text(msg: Message) -> str:
    """The text body, decoded, with LF line endings. A multipart mail's
    first inline text/plain part, unless the diff is in an attachment
    (text/x-patch, text/x-diff, a .patch or .diff file): then the
    attachment, after the inline text when the attachment is a bare diff."""
    if not msg.is_multipart():
        if msg.get_content_type() not in _PATCH_TYPES:
            raise UserError(f"message body is {msg.get_content_type()}, not plain text")
        return _part_text(msg)
    inline = attached = None
    for sub in msg.walk():
        if sub.is_multipart():
            continue
        ctype = sub.get_content_type()
        is_attachment = sub.get_content_disposition() == "attachment"
        if inline is None and ctype == "text/plain" and not is_attachment:
            inline = sub
        elif attached is None and (ctype in _PATCH_TYPES or _PATCH_NAME.search(sub.get_filename() or "")):
            attached = sub
    if inline is None and attached is None:
        raise UserError("message has no text/plain part")
    text = _part_text(inline) if inline is not None else ""
    if attached is not None and (inline is None or not _HAS_DIFF.search(text)):
        extra = _part_text(attached)
        if extra.startswith("From ") and "\n" in extra:  # a format-patch file's mbox line
            extra = extra.split("\n", 1)[1]
        if inline is None:
            text = extra
        elif _HAS_DIFF.search(extra):
            text = text.rstrip("\n") + "\n" + extra if _STARTS_WITH_DIFF.match(extra) else extra
    return text


def _part_text(part) -> str:
    import codecs

    raw = part.get_payload(decode=True)
    if raw is None:
        raw = str(part.get_payload()).encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        name = "utf-8"
    if name == "utf-7":
        # In UTF-7 a '+' starts an encoded run: every added line of a diff
        # would decode to noise. git am cannot apply such a patch either.
        raise UserError("the body is in charset utf-7, which a patch cannot be sent in; "
                        "resend it as utf-8")
    text = raw.decode(name, "replace")
    # Lines end at LF, as git counts them: a lone CR stays inside its line
    # (taken for a line end, it moved every later line of a hunk).
    return text.replace("\r\n", "\n")


def raw_header_values(msg: Message, name: str) -> list[str]:
    """Every value of a header as it was sent (not decoded), unfolded, with
    raw 8-bit bytes read as UTF-8."""
    items = msg.raw_items() if hasattr(msg, "raw_items") else msg.items()
    lname = name.lower()
    out = []
    for key, value in items:
        if key.lower() != lname:
            continue
        value = str(value)
        if not value.isascii():
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        out.append(value.replace("\r", "").replace("\n", ""))
    return out


def raw_header(msg: Message, name: str) -> str | None:
    values = raw_header_values(msg, name)
    return values[0] if values else None


def _msgid(value: str | None) -> str | None:
    """A usable Message-ID from a raw header value (see mailsafe), else None."""
    return parse_msgid(value)[0]


def message_id(msg: Message) -> str | None:
    """The Message-ID of a mail, without its angle brackets; None when it
    has none or one that must not be written into a reply."""
    return _msgid(raw_header(msg, "Message-ID"))


def decode_header_value(value) -> str:
    """RFC 2047 decoding, once, that never raises; control characters and
    line breaks become spaces, whitespace is folded."""
    if value is None:
        return ""

    return decode_words(str(value))


def _header(msg: Message, name: str) -> str:
    return decode_header_value(raw_header(msg, name))


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


# The line a mail program puts above a message it forwards or answers
# without quoting it (Outlook's "-----Original Message-----", Gmail's
# "---------- Forwarded message ---------", Apple Mail's "Begin forwarded
# message:", Thunderbird's "-------- Original Message --------", Outlook
# on the web's line of underscores). A diff below it is somebody else's.
_FORWARDED = lazy_re(r"^\s*+(?:-{2,}+ ?(?:Original|Forwarded) Message ?-{2,}+|-{2,}+ ?Urspr\u00fcngliche "
                     r"Nachricht ?-{2,}+|Begin forwarded message:|_{10,}+)\s*+$", re.I)


def forwarded_at(lines: list[str]) -> int | None:
    """The index of the line that starts a forwarded or answered message
    (see _FORWARDED; a line of underscores counts only with a header line
    such as 'From:' right after it), or None."""
    for i, text in enumerate(lines):
        if text.startswith(("diff --git ", "Index: ")):
            return None  # the mail's own diff comes first
        if (text[:1] in ("-", "_", "B", "b", " ") and _FORWARDED.match(text)
                and (not text.strip().startswith("_") or (i + 1 < len(lines)
                                                            and _HEADER_LINE.match(lines[i + 1])))):
            return i
    return None


_HEADER_LINE = lazy_re(r"^\s*+(?:From|Von|De|Da|Van|Fr\u00e5n|Od|Sent|Gesendet) ?:", re.I)


def _split_body(lines: list[str]) -> tuple[int, int | None]:
    """Return (end of the commit message, start of the diff or None). A
    diff below a forwarded or answered message is never the mail's own."""
    forwarded = forwarded_at(lines)
    if forwarded is not None:
        lines = lines[:forwarded]
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
        path = _unquote_path(pf.path)
        source = _unquote_path(pf.source_file or "")
        old_path = source[2:] if source.startswith("a/") else None
        files.append(FileDiff(
            path=path,
            old_path=old_path,
            is_new=pf.is_added_file,
            is_deleted=pf.is_removed_file,
            is_binary=pf.is_binary_file,
            hunks=tuple(hunks),
        ))
    starts = _file_header_indices(diff_lines, [f.path for f in files], body_offset)
    return tuple(f._replace(header_body_index=start) for f, start in zip(files, starts))


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


def _unquote_path(path: str) -> str:
    """git writes a file name with a tab, quote or non-ASCII byte as a C
    string ("a/t\\tx.c", "b/caf\\303\\251.c"); read it as the name it is.
    (unidiff keeps the quotes; its path has the a/ or b/ taken off.)"""
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    import codecs

    try:
        raw = codecs.escape_decode(path[1:-1].encode("utf-8"))[0]
    except ValueError:
        return path
    return raw.decode("utf-8", "replace")


def _file_header_indices(diff_lines: list[str], paths: list[str], offset: int) -> list[int | None]:
    """The body index of each file's 'diff --git' line. The files come in
    the order of those lines, so each search starts where the last one
    ended and looks a few headers ahead at most: linear in the diff, not
    files times lines."""
    headers = [i for i, text in enumerate(diff_lines) if text.startswith("diff --git ")]
    out: list[int | None] = []
    cursor = 0
    for path in paths:
        found = None
        for k in range(cursor, min(cursor + 8, len(headers))):
            text = diff_lines[headers[k]]
            if text.endswith("/" + path) or text.endswith("/" + path + '"'):
                found, cursor = offset + headers[k], k + 1
                break
        out.append(found)
    return out


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
    # (a format-patch file attached to a mail also has its long Subject folded).
    while start < changelog_end and (re.match(r"^(From|Subject|Date): ", lines[start])
                                     or (start and lines[start][:1] in (" ", "\t") and lines[start].strip())):
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

    refs = tuple(parse_msgid_list(" ".join(raw_header_values(msg, "References")))[0])
    return Patch(
        subject=subject,
        title=title,
        tags=tags,
        version=version,
        index=0 if (index == 0) else index,
        total=total,
        from_header=raw_header(msg, "From") or "",
        date=_header(msg, "Date"),
        message_id=message_id(msg),
        in_reply_to=_msgid(raw_header(msg, "In-Reply-To")),
        references=refs,
        to_headers=tuple(raw_header_values(msg, "To")),
        cc_headers=tuple(raw_header_values(msg, "Cc")),
        reply_to_headers=tuple(raw_header_values(msg, "Reply-To")),
        changelog_lines=tuple(changelog),
        trailers=trailers,
        files=files,
        body_lines=tuple(lines),
        changelog_body_start=start,
        headers=tuple((k, decode_header_value(v)) for k, v in
                      (msg.raw_items() if hasattr(msg, "raw_items") else msg.items())
                      if k.lower() in ("auto-submitted", "x-mailer", "list-id", "precedence")),
        is_cover=index == 0 and total > 0 and not files,
    )
