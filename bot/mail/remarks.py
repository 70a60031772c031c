"""What reviewers wrote below the lines they quoted: the remarks of the
human replies in a thread, read once when the series is put together.

A reply that quotes a line and comments right below it makes a point on
that line. "And here." and the like repeat the point before them; a bare
"ok" or "agreed" is no point; a quote of a quote is somebody else's; the
signature ends the reply.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..common import lazy_re
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
