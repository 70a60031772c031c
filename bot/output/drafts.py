"""Draft reply mails the way a reviewer writes them on the list.

Trimmed, interleaved quoting: the attribution line, then only the quoted
lines that lead up to each comment (at most CONTEXT lines, plus the file and
hunk headers), '> [...]' where lines are left out, and each comment directly
below the line it is about. Headers thread the reply under the patch.

draft_replies() is pure; write_drafts() is the only function touching disk.
"""
from __future__ import annotations

import os
import re

from .. import __version__
from ..common import NamedTuple, UserError, lazy_re
from ..lint import Finding, Review, preview
from ..mail import (MAX_NAME, MAX_SUBJECT, Address, Intended, Patch, UnsafeReply, clean_address,
                    header_text, printable, trim_references, valid_msgid, verify_reply)

CONTEXT = 5
# The longest block comment stretched into a quote so that it is not cut.
COMMENT_REACH = 20
WRAP = 72
# A reviewer stops well before commenting on every line of a huge patch;
# the rest is summed up in one line and left to the report.
MAX_COMMENTS = 40
GAP = "> [...]"
_FUNCTION_START = lazy_re(r"^[A-Za-z_][\w\s\*]*\(")


class Draft(NamedTuple):
    filename: str
    message: EmailMessage
    patch_index: int | None
    in_reply_to: str | None


def _added_positions(patch: Patch) -> dict[tuple[str, int], int]:
    """(path, post-image line) of every added line -> its index in the body."""
    return {(diff.path, ln.new_no): ln.body_index for diff in patch.files for hunk in diff.hunks
            for ln in hunk.lines if ln.added and ln.body_index is not None}


# The quoted text is the subject line, a blank line (so that a quote of the
# subject never runs into the changelog), then the body from BODY on.
BODY = 2


def _anchor(patch: Patch, f: Finding, positions: dict) -> int | None:
    """Index in the quoted text (0 = subject line, BODY.. = body) of the
    line a finding is about; None for a general remark."""
    if f.on_subject:
        return 0
    if f.changelog_line is not None:
        return BODY + patch.changelog_body_start + f.changelog_line
    if f.path is not None and f.line is not None:
        index = positions.get((f.path, f.line))
        return None if index is None else BODY + index
    return None


def _headers_for(patch: Patch, index: int) -> list[int]:
    """Quoted-text indices of the 'diff --git' and '@@' lines above index."""
    out = []
    for diff in patch.files:
        for hunk in diff.hunks:
            body = [ln.body_index for ln in hunk.lines if ln.body_index is not None]
            if body and min(body) <= index - BODY <= max(body):
                if diff.header_body_index is not None:
                    out.append(BODY + diff.header_body_index)
                if hunk.header_body_index is not None:
                    out.append(BODY + hunk.header_body_index)
                return out
    return out


def _context_start(quoted: list[str], index: int, floor: int, in_diff: bool) -> int:
    """First index of the context shown above an anchor: up to CONTEXT lines,
    stretched by a few to reach the start of the function they are in."""
    def stop(i: int) -> bool:
        prev = quoted[i]
        if in_diff:
            return prev.startswith(("@@ ", "diff --git "))
        return not prev.strip()

    start = index
    while start - 1 > floor and index - (start - 1) <= CONTEXT and not stop(start - 1):
        start -= 1
    if in_diff:
        for i in range(start - 1, max(floor, start - 4), -1):
            if stop(i) or not quoted[i][1:].strip():
                break
            if _FUNCTION_START.match(quoted[i][1:]):
                return i
        start = _comment_start(quoted, start, floor, stop)
    return start


def _comment_start(quoted: list[str], start: int, floor: int, stop) -> int:
    """start, moved up to the '/*' of a block comment the quote would
    otherwise cut (it starts inside one, or one ends right above it): a
    remark about the code below a comment must show the comment whole."""
    first = quoted[start][1:].strip()
    inside = first.startswith("*") and not first.startswith("*/") or first == "*/"
    above = start - 1 > floor and not stop(start - 1) and quoted[start - 1][1:].rstrip().endswith("*/")
    if not inside and not above:
        return start
    for i in range(start - 1, max(floor, start - COMMENT_REACH - 1), -1):
        if stop(i):
            break
        text = quoted[i][1:].strip()
        if text.startswith("/*"):
            return i
        if not text.startswith("*") and not (i == start - 1 and text.endswith("*/")):
            break
    return start


def _sentence_end(quoted: list[str], index: int, limit: int) -> int:
    """A prose line is quoted through the end of its sentence (a few lines at
    most), so the comment does not interrupt it."""
    end = index
    while end + 1 < limit and end - index < 3 and quoted[end + 1].strip() \
            and not quoted[end].rstrip().endswith((".", "!", "?", ":")) \
            and not _NOT_PROSE.match(quoted[end]) and not _NOT_PROSE.match(quoted[end + 1]):
        end += 1
    return end


# Lines a sentence does not run on through: a trailer, the '---' line and
# what follows it (a trailer has no full stop; its comment belongs under it).
_NOT_PROSE = lazy_re(r"^(?:[A-Za-z][\w-]{0,40}+: \S|---\s*$| \S.* \| +\d)")


def wrap(text: str) -> list[str]:
    """A comment's paragraphs wrapped at WRAP columns. Whatever it carries
    from the patch (a name, a piece of code) is made printable: a draft is
    read in a terminal and a mail program too."""
    import textwrap

    out = []
    for para in text.split("\n"):
        lines: list[str] = []
        for line in textwrap.wrap(printable(para), WRAP, break_long_words=False, break_on_hyphens=False) or [""]:
            if lines and _reads_as_trailer(line):
                lines[-1] += " " + line  # a longer line, not a trailer of the sender's choosing
            else:
                lines.append(line)
        out.extend(lines)
    return out


# A line b4 reads as a trailer in a follow-up: "Name-by: A <a@b.c>", or
# one of the trailers that name no person ("Fixes: ...", "Link: ...");
# b4 allows white space before it. A comment carries text from the patch,
# and where it wraps is the sender's choice: no line of ours may read like
# this, or `b4 trailers -u` credits the bot's mail with it.
_TRAILER_LIKE = lazy_re(r"^\s*+(\w\S*?):\s++\S")
_TRAILER_PERSON = lazy_re(r"@[^\s.@]*+\.\S")
_NON_PERSON = frozenset({"fixes", "link", "buglink", "closes", "subject", "date", "obsoleted-by", "change-id",
                         "base-commit"})


def _reads_as_trailer(line: str) -> bool:
    m = _TRAILER_LIKE.match(line)
    return bool(m) and (m.group(1).lower() in _NON_PERSON or bool(_TRAILER_PERSON.search(line, m.end())))


def _text(f: Finding) -> str:
    return f.comment or (f.message[:1].upper() + f.message[1:] + ".")


def _comment_text(f: Finding, said: set[tuple[str, str]]) -> str:
    """A finding's words in the draft: its comment, or "And here." when the
    same rule made the same point earlier in this reply."""
    text = _text(f)
    point = (f.rule, text)
    if point in said:
        text = "And here."
    said.add(point)
    return f"{text} [{f.rule}]"


def _paragraph(findings: list[Finding], said: set[tuple[str, str]]) -> list[str]:
    """Several findings on one line make one paragraph, the weightiest first."""
    ordered = sorted(findings, key=lambda f: -f.rank)
    # Each point is a paragraph of its own, so that a rule id does not sit
    # in the middle of the next point's sentence.
    out: list[str] = []
    for f in ordered:
        out += ([""] if out else []) + wrap(_comment_text(f, said))
    return out


def _suggestion(patch: Patch, findings: list[Finding]) -> list[str]:
    """"Something like:" and the fix as a few diff lines, as reviewers write
    it under a point that has a mechanical answer; nothing when the fix is
    long or spans files."""
    edits = [e for f in findings for e in f.fix]
    if not edits:
        return []
    lines = {(d.path, ln.new_no): ln.text for d in patch.files for h in d.hunks for ln in h.lines
             if ln.new_no is not None}
    shown = preview(edits, lambda n: lines.get((edits[0].path, n))) or []
    if any(_reads_as_trailer(ln) for ln in shown):
        # A context line (" Reviewed-by: ...") would read as a trailer of ours.
        return []
    return ["Something like:", ""] + [_quote_diff(ln) for ln in shown] + [""] if shown else []


def _quote_diff(line: str) -> str:
    return printable(line) if line.strip() else line.rstrip()


def quote_body(patch: Patch, findings: list[Finding]) -> list[str]:
    """The trimmed, interleaved body: quotes and comments, no attribution."""
    quoted = [patch.title, ""] + list(patch.body_lines)
    diff_start = BODY + patch.diff_body_start
    anchored: dict[int, list[Finding]] = {}
    general: list[Finding] = []
    positions = _added_positions(patch)
    for f in findings:
        idx = _anchor(patch, f, positions)
        if idx is None or idx >= len(quoted):
            general.append(f)
        else:
            anchored.setdefault(idx, []).append(f)
    out: list[str] = []
    said: set[tuple[str, str]] = set()
    for f in general:
        out.extend(wrap(_comment_text(f, said)))
        out.append("")
    shown = -1  # last quoted index already printed
    for idx in sorted(anchored):
        if idx <= shown:
            # An earlier prose anchor already quoted through this line: the
            # comment above stands for it, so a point made there is not
            # repeated ("And here." would have no line to point at).
            fresh = [f for f in anchored[idx] if (f.rule, _text(f)) not in said]
            if fresh:
                out.extend(_paragraph(fresh, said))
                out.append("")
            continue
        in_diff = idx >= diff_start
        wanted = [h for h in _headers_for(patch, idx) if h > shown] if in_diff else []
        start = _context_start(quoted, idx, shown, in_diff)
        end = idx if in_diff else _sentence_end(quoted, idx, diff_start)
        if shown == 0 and start == BODY:
            start = 1  # right below the quoted subject: its blank line, not a gap
        for i in wanted + list(range(start, end + 1)):
            if i <= shown:
                continue
            if i > shown + 1:
                out.append(GAP)
            out.append(_quote(quoted[i]))
            shown = i
        out.append("")
        fixable = [f for f in anchored[idx] if f.fix and (f.rule, _text(f)) not in said]
        out.extend(_paragraph(anchored[idx], said))
        out.append("")
        out.extend(_suggestion(patch, fixable))
    if shown < len(quoted) - 1 and anchored:
        out.append(GAP)
        out.append("")
    while out and not out[-1]:
        out.pop()
    return out


def _quote(text: str) -> str:
    """A quoted line of the patch, its control characters (escape
    sequences, bells, bidirectional overrides) shown, not sent."""
    return "> " + printable(text) if text else ">"


def _attribution(patch: Patch) -> str:
    who = str(patch.author) if patch.author.email else (patch.author.name or "the author")
    when = patch.date or "an unknown date"
    return printable(f"On {when}, {who} wrote:")


def _dedupe_addresses(addrs: list[Address], exclude: set[str]) -> list[Address]:
    out, seen = [], set(exclude)
    for a in addrs:
        key = a.email.lower()
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


MAX_RECIPIENTS = 100  # To and Cc together; no patch on the list needs more


def _mailbox(a: Address):
    from email.headerregistry import Address as Mailbox


    local, domain = a.email.split("@")
    name = header_text(a.name, MAX_NAME)
    if any(c in name for c in "@<>"):
        name = ""  # a name that reads like an address is a spoof, not a name
    return Mailbox(display_name=name, username=local, domain=domain)


def build_message(patch: Patch, body: str, sender: Address, date, extra_headers=()) -> EmailMessage:
    """The reply to one patch. Every header value comes from a checked
    source (see mailsafe): addresses split from the raw headers, ids that
    passed the Message-ID rule, text decoded once and cleaned. What the
    headers must read back as is kept with the message (as
    `tdxbot_intended`) and checked by message_bytes."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    if clean_address(sender.email) is None:
        raise UserError(f"the sender address {sender.email!r} is not a plain address")
    msg = EmailMessage()
    names = ["From", "Subject", "Date", "Message-ID", "X-Mailer"]
    to = list(patch.reply_to) or [patch.author]
    to = [a for a in to if a.email]
    cc = _dedupe_addresses(list(patch.to) + list(patch.cc),
                           {a.email.lower() for a in to} | {sender.email.lower()})
    to = _dedupe_addresses(to, {sender.email.lower()})[:MAX_RECIPIENTS]
    cc = cc[:MAX_RECIPIENTS - len(to)]
    msg["From"] = _mailbox(sender)
    if to:
        msg["To"] = tuple(_mailbox(a) for a in to)
        names.append("To")
    if cc:
        msg["Cc"] = tuple(_mailbox(a) for a in cc)
        names.append("Cc")
    subject = header_text(patch.subject, MAX_SUBJECT)
    subject = subject if re.match(r"(?i)^re:", subject) else f"Re: {subject}"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    domain = sender.email.split("@", 1)[1]
    msg["Message-ID"] = make_msgid(idstring="tdxbot", domain=domain)
    refs: list[str] = []
    if patch.message_id and valid_msgid(patch.message_id):
        refs = trim_references([r for r in patch.references if r != patch.message_id and valid_msgid(r)]
                               + [patch.message_id])
        msg["In-Reply-To"] = f"<{patch.message_id}>"
        msg["References"] = " ".join(f"<{r}>" for r in refs)
        names += ["In-Reply-To", "References"]
    msg["X-Mailer"] = f"tdxbot {__version__}"
    for name, value in extra_headers:
        if not re.fullmatch(r"[A-Za-z0-9-]+", name) or name.lower() in {n.lower() for n in names}:
            raise UnsafeReply(f"extra header {name!r} is not one tdxbot may add")
        msg[name] = header_text(str(value), 200)
        names.append(name)
    long_lines = any(len(ln.encode("utf-8")) > 900 for ln in body.split("\n"))
    ascii_only = body.isascii()
    cte = "quoted-printable" if long_lines else ("7bit" if ascii_only else "8bit")
    msg.set_content(body, charset="utf-8", cte=cte)
    names += ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
    msg.tdxbot_intended = Intended(
        names=tuple(names), recipients=frozenset(a.email.lower() for a in to + cc),
        sender=sender.email, subject=subject,
        in_reply_to=patch.message_id if refs else None, references=tuple(refs))
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The mail as sent: LF line ends, headers folded only when very long.
    A reply made by build_message is read back and must come out exactly
    as intended (mailsafe.verify_reply), or nothing is returned."""
    from email.policy import default

    data = msg.as_bytes(policy=default.clone(max_line_length=998, linesep="\n"))
    intended = getattr(msg, "tdxbot_intended", None)
    if intended is not None:
        verify_reply(data, intended)
    return data


def _slug(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:52].rstrip("-") or "patch"


def follow_up_summary(review: Review) -> list[str]:
    """The follow-up on the previous version's review as a reviewer would
    put it at the top of a reply: the open points first (not addressed,
    then unclear), each with who made it, where, and why it looks open;
    the addressed ones counted; tags given then and not carried now. No
    lines when every point looks addressed and every tag is carried."""
    report = review.follow_up
    if report is None:
        return []
    items = report.open_first()
    open_items = [f for f in items if f.status != "addressed"]
    dropped = [t for t in report.tags if t.carried is False]
    if not open_items and not dropped:
        return []
    prev = f"v{report.previous_version}"
    looks = "looks" if len(open_items) == 1 else "look"
    lines = wrap(f"Follow-up on the {prev} review: {len(open_items)} of {len(items)} point"
                 f"{'s' * (len(items) != 1)} raised there still {looks} open.") + [""]
    for status, head in (("not addressed", "Not addressed:"), ("unclear", "Unclear:")):
        mine = [f for f in items if f.status == status]
        if not mine:
            continue
        lines.append(head)
        for f in mine:
            where = "the cover letter" if f.patch_index == 0 else f"{f.patch_index}/{report.previous_total}"
            if f.path is not None:
                where += f" ({f.path}{':' + str(f.line) if f.line is not None else ''})"
            remark = f.remark if len(f.remark) <= 90 else f.remark[:87].rstrip() + "..."
            text = f'{f.reviewer} on {where}: "{remark}" - {f.why[:1].upper() + f.why[1:]}.'
            lines += _bullet(text)
        lines.append("")
    done = len(items) - len(open_items)
    if done:
        lines += wrap(f"The other {done} look addressed.") + [""]
    if dropped:
        lines += wrap(f"Tags given on {prev} that this version does not carry: " + "; ".join(
            f"{t.tag} ({'the cover letter' if not t.patch_index else f'{t.patch_index}/{report.previous_total}'})"
            for t in dropped) + ".") + [""]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _bullet(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(printable(text), WRAP, initial_indent="- ", subsequent_indent="  ",
                         break_long_words=False, break_on_hyphens=False)


def draft_replies(review: Review, sender: Address, date, extra_headers=()) -> list[Draft]:
    series = review.series
    # Findings go to their patch by its Message-ID where there is one: two
    # mails of a thread can carry the same number (anyone can answer a
    # cover letter with a "[PATCH 1/1]" of their own), and a reply to one
    # must not carry the review of the other.
    by_patch: dict[tuple, list[Finding]] = {}
    for f in review.findings:
        if not f.already_raised and f.severity != "info":
            key = ("id", f.message_id) if f.message_id and f.patch_index is not None else ("index", f.patch_index)
            by_patch.setdefault(key, []).append(f)
    drafts = []
    series_level = by_patch.pop(("index", None), [])

    def mine(patch: Patch) -> list[Finding]:
        return (by_patch.get(("id", patch.message_id), []) if patch.message_id else []) \
            + by_patch.get(("index", patch.index), [])

    if series_level and series.cover is None and series.patches:
        first = series.patches[0]
        by_patch[("index", first.index)] = series_level + by_patch.get(("index", first.index), [])
        series_level = []
    targets: list[tuple[Patch, list[Finding]]] = []
    summary = follow_up_summary(review)
    # The follow-up goes to the cover letter, else to the first patch (the
    # single patch of a one-patch series).
    summary_to = series.cover if series.cover is not None else (series.patches[0] if series.patches else None)
    if (series_level or summary) and series.cover is not None:
        targets.append((series.cover, series_level))
    for patch in series.patches:
        found = mine(patch)
        if found or (summary and patch is summary_to):
            targets.append((patch, found))
    for patch, findings in targets:
        extra = findings[MAX_COMMENTS:]
        findings = findings[:MAX_COMMENTS]
        body_lines = quote_body(patch, findings)
        if summary and patch is summary_to:
            body_lines = summary + ([""] if body_lines else []) + body_lines
        # "X wrote:" only above something quoted (a cover letter's reply may
        # be general remarks only).
        lines = ([_attribution(patch)] if any(ln.startswith(">") for ln in body_lines) else []) + body_lines
        if extra:
            rules = sorted({f.rule for f in extra})
            lines += ["", *wrap(f"There are {len(extra)} more findings of the same kinds "
                                f"({', '.join(rules)}); 'tdxbot review' lists them all.")]
        lines += ["", "-- ", f"Drafted by tdxbot {__version__}. 'tdxbot rules --doc RULE-ID'",
                  "explains each [rule-id] above."]
        body = "\n".join(lines) + "\n"
        msg = build_message(patch, body, sender, date, extra_headers)
        name = f"v{series.version}-{patch.index:04d}-{_slug(patch.title)}.eml"
        drafts.append(Draft(name, msg, patch.index, patch.message_id))
    return drafts


def write_drafts(drafts: list[Draft], folder: str) -> list[str]:
    """Write each draft as a new file; an existing file is never replaced
    (the new draft gets a numbered name instead)."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: cannot create drafts folder: {exc.strerror or exc}") from None
    if not os.path.isdir(folder):
        raise UserError(f"{folder}: not a directory")
    written = []
    for draft in drafts:
        data = message_bytes(draft.message)
        stem, ext = os.path.splitext(draft.filename)
        for n in range(1, 1000):
            name = draft.filename if n == 1 else f"{stem}.{n}{ext}"
            path = os.path.join(folder, name)
            try:
                with open(path, "xb") as fh:
                    fh.write(data)
            except FileExistsError:
                continue
            except OSError as exc:
                raise UserError(f"{path}: cannot write draft: {exc.strerror or exc}") from None
            written.append(path)
            break
        else:
            raise UserError(f"{folder}: too many drafts named {draft.filename}")
    return written
