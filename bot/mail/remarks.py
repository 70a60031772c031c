"""What reviewers wrote below the lines they quoted: the remarks of the
human replies in a thread, read once when the series is put together.

A reply that quotes a line and comments right below it makes a point on
that line. "And here." and the like repeat the point before them; a bare
"ok" or "agreed" is no point; a quote of a quote is somebody else's; the
signature ends the reply.
"""
from __future__ import annotations

import re

from ..common import NamedTuple, lazy_re
from .model import Patch


class Remark(NamedTuple):
    """A reviewer's words right below a line they quoted."""
    message_id: str | None  # the reply's
    in_reply_to: str | None  # the message the reply answers
    quoted: str  # the quoted line as quote_key gives it
    text: str  # the words below it


def remarks_in(reply: Patch) -> list[Remark]:
    """The remarks of one reply (none when it answers no message)."""
    if not reply.in_reply_to:
        return []
    return [Remark(reply.message_id, reply.in_reply_to, key, text)
            for key, text in _comments_below_quotes(reply.body_lines)]


def quote_key(text: str) -> str:
    """A line as a quote of it is matched: no diff marker, whitespace folded."""
    return " ".join(text.lstrip("+").split())


_SAME_AGAIN = lazy_re(r"(?i)^(?:nit:\s*)?(?:and|same|ditto|also|here|too|likewise|again|as well)"
                      r"(?:[\s,]+(?:here|too|again|as well|above|below))*\W*$")


def same_again(text: str) -> bool:
    """"And here.", "Same here.", "Ditto.": the point before, made again."""
    return bool(_SAME_AGAIN.match(text.strip()))


def _comments_below_quotes(body: tuple[str, ...]) -> list[tuple[str, str]]:
    """(quoted line, the replier's words right below it) for each comment.
    "And here." and the like repeat the comment before them."""
    out: list[tuple[str, str]] = []
    last_quoted = None
    own: list[str] = []
    previous = ""

    def close():
        nonlocal previous
        if last_quoted is None or not own:
            return
        content = last_quoted[1:] if last_quoted[:1] in ("+", "-", " ") else last_quoted
        key = quote_key(content)
        text = " ".join(own)
        if not _makes_a_point(text):
            return  # "ok" under a line is no point made
        if _SAME_AGAIN.match(text.strip()) and previous:
            text = previous
        previous = text
        if key:
            out.append((key, text))

    for text in body:
        if text.startswith(">"):
            if own:
                close()
                own = []
            inner = text[1:]
            inner = inner[1:] if inner.startswith(" ") else inner
            # A quote of a quote is somebody else's point.
            last_quoted = None if inner.startswith(">") else inner
            continue
        if text.startswith("-- "):
            break
        if text.strip() and last_quoted is not None:
            own.append(text.strip())
    close()
    return out


_ACK = lazy_re(r"^[^\w+]*+(ok(ay)?|yes|yep|sure|right|agreed|ack(ed)?|nod|fine|good|thanks?|"
               r"looks (good|fine|ok)|lgtm|\+1|same here)\W*$", re.I)


def _makes_a_point(text: str) -> bool:
    """A comment under a quoted line that could be a review point ("And
    here.", "Nit: a new line here."): not a bare acknowledgement ("ok",
    "agreed") and more than one word. (A reply saying "ok" under every
    line must not hide the findings.)"""
    return not _ACK.match(text) and len(text.split()) >= 2


# -- a reply read as a reviewer writes it ------------------------------------------
#
# The follow-up on an earlier version (lint.followup) needs more than the
# last quoted line: the whole block of quoted lines each point stands
# under, the reviewer's paragraphs without the greeting, the sign-off, the
# signature and the tags they give, and what the author answered.


class Part(NamedTuple):
    """One stretch of a reply: a block of quoted lines and the writer's own
    words right below it (up to the next quote). The text above the first
    quote (or of a reply that quotes nothing) is a part with no block."""
    block: tuple[str, ...]  # the quoted lines, quote markers taken off
    depths: tuple[int, ...]  # how deep each of them is quoted (1: '>', 2: '>>')
    paragraphs: tuple[str, ...]  # the writer's points, each folded to one line
    tags: tuple[str, ...]  # Reviewed-by: and the like given here
    own: tuple[str, ...]  # the writer's lines as written (kept paragraphs and tags), stripped
    top: bool  # above every quote


_QUOTE = lazy_re(r"^[ \t]{0,3}>")
_ELIDED = lazy_re(r"^\s*+(?:\[\s*+(?:\.\.\.|\u2026|snip(?:ped)?|trimmed|cut)\s*+\]|<\s*+snip\s*+>|\.\.\.|\u2026)\s*+$",
                  re.I)
_ATTRIBUTION = lazy_re(r"\b(?:wrote|writes|said|schrieb|a \u00e9crit)\s*+:\s*+$", re.I)
_GREETING = lazy_re(r"^(?:hi|hello|hey|dear|morning|hi all|hello all)\b[^.?]{0,40}+$", re.I)
_CLOSING = lazy_re(r"^(?:thanks(?: again| a lot)?|thank you|regards|best regards|kind regards|cheers|best|"
                   r"br|thx|ta)\s*+[,.!]?\s*+$", re.I)
TAG_LINE = lazy_re(r"^\s*+((?:Reviewed|Acked|Tested|Reviewed-and-tested|Nacked)-by):\s++(\S[^\n]{0,300}+)$",
                   re.I)
_INTRO = lazy_re(r"^(?:a few|some|several|couple of|two|three|minor)?\s*+(?:small\s++|minor\s++)?"
                 r"(?:nits?|comments?|notes?|remarks?|questions?|things?)\b[^.]{0,40}?(?:below|inline)\b"
                 r"[^.]{0,20}+[:.]?\s*+$", re.I)


def quote_depth(text: str) -> tuple[int, str]:
    """(depth, the line without its quote markers) of a quoted line:
    '> > +foo' and '>> +foo' are both (2, '+foo')."""
    depth = 0
    i = 0
    n = len(text)
    while i < n and text[i] in " \t" and i < 3:
        i += 1
    while i < n and text[i] == ">":
        depth += 1
        i += 1
        if i < n and text[i] == " ":
            # '> >' nests; '> +' does not
            if i + 1 < n and text[i + 1] == ">":
                i += 1
                continue
            i += 1
            break
    return depth, text[i:]


def reply_parts(body: tuple[str, ...] | list[str], writer: str = "") -> list[Part]:
    """The parts of a reply's body (see Part). The attribution line above a
    quote ("On ..., X wrote:") is no one's point; the signature ('-- ')
    ends the reply; '[...]' between quoted lines starts a new block.
    writer: the sender's name, whose sign-off ("Kalle") is no point."""
    parts: list[Part] = []
    block: list[tuple[int, str]] = []
    own: list[str] = []
    seen_quote = False

    def close() -> None:
        if block or own:
            parts.append(_part(block, own, not seen_quote and not block, writer))

    lines = list(body)
    for i, text in enumerate(lines):
        if text.startswith("-- ") and text.rstrip() == "--":
            break
        if _QUOTE.match(text):
            if own and any(t.strip() for t in own):
                close()
                block, own = [], []
            elif own:
                own = []
            block.append(quote_depth(text))
            seen_quote = True
            continue
        if block and _ELIDED.match(text) and not any(t.strip() for t in own):
            block = []  # an elision: what follows is a block of its own
            continue
        if not own and not text.strip():
            continue
        if _ATTRIBUTION.search(text) and _next_is_quote(lines, i):
            continue
        if not block and not seen_quote and own and _ATTRIBUTION.search(text):
            continue
        own.append(text)
    close()
    return parts


def _next_is_quote(lines: list[str], i: int) -> bool:
    for text in lines[i + 1:i + 3]:
        if text.strip():
            return bool(_QUOTE.match(text))
    return False


def _part(block: list[tuple[int, str]], own: list[str], top: bool, writer: str) -> Part:
    paragraphs: list[list[str]] = [[]]
    for text in own:
        if text.strip():
            paragraphs[-1].append(text)
        elif paragraphs[-1]:
            paragraphs.append([])
    kept: list[str] = []
    tags: list[str] = []
    raw: list[str] = []
    groups = [p for p in paragraphs if p]
    for n, para in enumerate(groups):
        tag_at = next((k for k, t in enumerate(para) if TAG_LINE.match(t)), None)
        if tag_at is not None:
            tags += [" ".join(t.split()) for t in para if TAG_LINE.match(t)]
            raw += [t.strip() for t in para if TAG_LINE.match(t)]
            rest = para[tag_at + 1:]
            rest = [t for t in rest if not TAG_LINE.match(t)]
            if rest and not _is_closing(rest, writer):
                kept.append(" ".join(" ".join(rest).split()))
                raw += [t.strip() for t in rest]
            continue  # what leads up to a tag in its paragraph is the tag's
        if n + 1 < len(groups) and TAG_LINE.match(groups[n + 1][0]) and len(para) <= 3:
            continue  # "Looks good to me." right above the tag
        if _is_greeting(para) or _is_closing(para, writer) or _INTRO.match(" ".join(para).strip()):
            continue
        kept.append(" ".join(" ".join(para).split()))
        raw += [t.strip() for t in para]
    return Part(tuple(text for _, text in block), tuple(d for d, _ in block), tuple(kept), tuple(tags),
                tuple(raw), top)


def _is_greeting(para: list[str]) -> bool:
    return len(para) == 1 and bool(_GREETING.match(para[0].strip()))


def _is_closing(para: list[str], writer: str) -> bool:
    """'Thanks,' with a name below it (or alone), or the writer's name
    alone ("Kalle", "Dorian Hale")."""
    if _CLOSING.match(para[0].strip()) and len(para) <= 3 and all(len(t.split()) <= 4 for t in para[1:]):
        return True
    names = {w.lower() for w in writer.replace(",", " ").split()}
    words = [w.rstrip(".,").lower() for t in para for w in t.split()]
    return bool(names) and len(para) <= 2 and 0 < len(words) <= 3 and all(w in names for w in words)


# What an author's answer to a point says about it.
_AGREES = lazy_re(
    r"\b(?:will (?:do|fix|change|update|add|rename|rework|split|drop|remove|move|take|address|reword|"
    r"send|use|fold|squash|document|comment|clarify|align|include)|i'?ll (?:do|fix|change|update|add|"
    r"rename|rework|split|drop|remove|move|take|address|reword|send|use|fold|squash)|i will\b|"
    r"good (?:point|idea|catch|suggestion)|nice catch|makes sense|agreed|agree\b|fair (?:enough|point)|"
    r"seems reasonable|sounds (?:good|reasonable|right)|you'?re right|we can\b|can do\b|let me\b|"
    r"(?:fixed|done|changed|updated)\b(?: in| for)?)",
    re.I)
_AGREES_ALONE = lazy_re(r"^\W*+(?:ok(?:ay)?|sure|right|yes, please|yep|ack(?:ed)?|thanks?(?: you)?|"
                        r"thx|will do|done|agreed|indeed)\b[\W]*+", re.I)
_DECLINES = lazy_re(
    r"\b(?:i'?d (?:rather not|leave|keep|prefer not)|leave it(?: as is)?\b|rather not\b|i don'?t (?:think|see|"
    r"agree)|not (?:needed|necessary|worth)|prefer to keep|keep it as is|won'?t\b|separate fix|"
    r"no need\b|disagree)",
    re.I)
_PROPOSAL = lazy_re(r"^[\w.:]{3,80}+\(\)\s*+\?$")


def answer_of(paragraphs: tuple[str, ...] | list[str]) -> str | None:
    """What an author's words below a point say: 'agreed' ("Will do.",
    "Good point", "Ok, we can parse the errors.", a new name offered as
    "foo()?"), 'declined' ("I'd leave it", "I don't think so"), or None
    (an explanation, a question back)."""
    text = " ".join(paragraphs).strip()
    if not text:
        return None
    head = text[:400]
    if _DECLINES.search(head):
        return "declined"
    if _AGREES_ALONE.match(head) or _AGREES.search(head) or _PROPOSAL.match(head):
        return "agreed"
    return None
