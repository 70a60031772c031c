"""Which mails the responder reads, and which it must not answer.

Read from the raw header block, never decoded before it is split: ids
must pass the Message-ID rule (mailsafe), addresses are compared whole,
by their parsed addr-spec, never as substrings.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..mail import (Address, decode_header_value, parse_msgid, parse_msgid_list, parse_subject,
                    printable, split_addresses)

OWN_HEADER = "X-Tdxbot"
# Local parts that only machines send from (exact matches, any domain).
MACHINE_SENDERS = frozenset({"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply",
                             "do-not-reply", "bounce", "bounces"})


class Routed(NamedTuple):
    msgid: str
    root: str
    is_patch: bool


def raw_headers(raw: bytes) -> dict[str, list[str]]:
    """Every header of a raw mail, unfolded and not decoded, by lower-case
    name. Only the header block is read."""
    end = len(raw)
    for sep in (b"\n\n", b"\r\n\r\n"):
        at = raw.find(sep)
        if 0 <= at < end:
            end = at
    head = raw[:end].decode("utf-8", "replace").replace("\r\n", "\n")
    out: dict[str, list[str]] = {}
    last = None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and last:
            out[last][-1] += line
            continue
        name, sep, value = line.partition(":")
        if sep and name and " " not in name:
            last = name.lower()
            out.setdefault(last, []).append(value.strip())
        else:
            last = None
    return out


def first_header(h: dict[str, list[str]], name: str) -> str:
    values = h.get(name)
    return decode_header_value(values[0]) if values else ""


def route(raw: bytes) -> tuple[Routed | None, str | None]:
    """(msgid, thread root, is a patch) of a message, or (None, why it is
    skipped). Only ids that pass the Message-ID rule are used."""
    h = raw_headers(raw)
    values = h.get("message-id", [])
    if not values:
        return None, "no Message-ID"
    msgid, why = parse_msgid(values[0])
    if msgid is None:
        return None, why or "empty Message-ID"
    if any(parse_msgid(v)[0] != msgid for v in values[1:]):
        return None, "several different Message-ID headers"
    refs = parse_msgid_list(" ".join(h.get("references", [])))[0]
    parent = parse_msgid_list(" ".join(h.get("in-reply-to", [])))[0]
    root = refs[0] if refs else parent[0] if parent else msgid
    parsed = parse_subject(first_header(h, "subject"), bool(refs or parent))
    is_patch = not parsed.is_reply and any(t.upper() == "PATCH" for t in parsed.tags)
    return Routed(msgid, root, is_patch), None


def automated(raw: bytes, sender: Address) -> str | None:
    """Why a mail must get no reply from a bot, or None. Addresses are
    compared whole (by their parsed addr-spec), never as substrings."""
    h = raw_headers(raw)
    auto = re.sub(r"\([^()]*\)", " ", first_header(h, "auto-submitted")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {printable(auto[:40])}"
    if OWN_HEADER.lower() in h:
        return "one of our own mails"
    for _name, addr in split_addresses(h.get("from", [])):
        if sender.email and addr.lower() == sender.email.lower():
            return "one of our own mails"
        if addr.split("@")[0].lower() in MACHINE_SENDERS:
            return "a bounce or notification"
    if first_header(h, "content-type").lower().startswith("multipart/report"):
        return "a bounce or notification"
    precedence = first_header(h, "precedence").lower()
    if precedence in ("bulk", "junk", "list") and "[patch" not in first_header(h, "subject").lower():
        return f"Precedence: {precedence}"
    return None


def id_problem(raw: bytes) -> str | None:
    """Why a mail's threading headers cannot go into a reply, or None."""
    h = raw_headers(raw)
    for name in ("in-reply-to", "references"):
        bad = parse_msgid_list(" ".join(h.get(name, [])))[1]
        if bad:
            return f"unusable id {bad[0]!r} in {name.title()}"
    return None
