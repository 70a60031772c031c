"""What a patch subject says: `[PATCH v2 3/5] x86/virt/tdx: Add a wrapper`.

Numbers read from a subject are bounded: a mail is written by whoever sends
it, and a version or counter of a thousand digits must not cost time or
memory anywhere later (a missing-patch list, an int() conversion).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..common import lazy_re

# No real series comes near these; larger numbers are read as plain words.
MAX_DIGITS = 4
# With match(subject, pos): the subject has no leading space, and each
# match takes the spaces after its bracket.
_BRACKETS = lazy_re(r"\[([^][]*+)\]\s*+")
# The reply and forward prefixes mail programs put before a subject, in the
# languages seen on the lists: English (Re, Fwd, Fw), German (AW, WG), the
# Nordic languages (SV, VS, VB, VL), Italian (R, RIF, I), Dutch (Antw,
# Doorst), French (TR, RE), Spanish and Portuguese (RV, RES, ENC), Polish
# (Odp, PD), Turkish (YNT), Chinese and Japanese (回复, 答复, 转发, 回覆,
# 轉寄, 返信, 転送), and the notices of absence ("Automatic reply"). Each
# may carry a count (RE[2], Re^3, Re(2)) and a full-width colon. The
# quantifiers are possessive: a long run of prefixes is read once.
_REPLY_PREFIX = lazy_re(
    r"^\s*+(?:(?:re|fwd?|aw|wg|sv|vs|vb|vl|r|rif|i|antw|doorst|tr|rv|res|enc|odp|pd|ynt|"
    r"回复|答复|转发|回覆|轉寄|返信|転送|automatic reply|auto-?reply|autoreply|"
    r"out of (?:the )?office(?: reply)?|undeliverable)"
    r"\s*+(?:\[\d{1,4}\]|\^\d{1,4}|\(\d{1,4}\))?\s*+[:：]\s*+)++", re.I)
# Words and a colon before the [PATCH] brackets ("Xyz: [PATCH] ..."): in a
# mail that answers another, an unknown reply prefix.
_WORDS_BEFORE_BRACKETS = lazy_re(r"^[^\[:]{1,40}+:\s*+\[")
_COUNTER = lazy_re(rf"^(\d{{1,{MAX_DIGITS}}})/(\d{{1,{MAX_DIGITS}}})$")
_VERSION = lazy_re(rf"^v(\d{{1,{MAX_DIGITS}}})$", re.I)
# "x86/virt/tdx: ", "KVM: TDX: ", "coco/tdx-host: "
_SUBSYSTEM = lazy_re(r"^((?:[A-Za-z0-9_][\w./+,-]*:\s+)+)(.*)$", re.S)


class Subject(NamedTuple):
    title: str  # without the [PATCH ...] brackets
    tags: tuple[str, ...]  # words inside the brackets, e.g. ("PATCH", "v2", "3/5")
    version: int
    index: int  # N of N/M; 1 for a lone patch
    total: int  # M of N/M; 1 for a lone patch
    is_reply: bool


def parse_subject(subject: str, threaded: bool = False) -> Subject:
    """threaded: the mail answers another (In-Reply-To or References name
    a message); then words and a colon before the brackets make it a reply
    whatever language they are in."""
    subject = " ".join(subject.split())
    prefix = _REPLY_PREFIX.match(subject)
    is_reply = bool(prefix) or (threaded and bool(_WORDS_BEFORE_BRACKETS.match(subject)))
    pos = prefix.end() if prefix else 0
    tags: list[str] = []
    while m := _BRACKETS.match(subject, pos):  # by position: a thousand '[]' are read once
        tags.extend(m.group(1).replace(",", " ").split())
        pos = m.end()
    rest = subject[pos:]
    version, index, total = 1, 1, 1
    for tag in tags:
        if m := _VERSION.match(tag):
            version = int(m.group(1))
        elif m := _COUNTER.match(tag):
            index, total = int(m.group(1)), int(m.group(2))
    return Subject(rest.strip(), tuple(tags), version, index, total, is_reply)


def is_patch_subject(subject: str, threaded: bool = False) -> bool:
    """A [PATCH ...] subject that is not a reply."""
    parsed = parse_subject(subject, threaded)
    return not parsed.is_reply and any(t.upper() == "PATCH" for t in parsed.tags)


def split_title(title: str) -> tuple[str, str]:
    """'KVM: TDX: Fix foo' -> ('KVM: TDX:', 'Fix foo')."""
    m = _SUBSYSTEM.match(title)
    if not m:
        return "", title.strip()
    return m.group(1).strip(), m.group(2).strip()
