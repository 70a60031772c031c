"""Which mails the responder reads, and which it must not answer.

Read from the raw header block, never decoded before it is split: ids
must pass the Message-ID rule (mailsafe), addresses are compared whole,
by their parsed addr-spec, never as substrings.

Requests not to be answered (RFC 3834 section 2, Microsoft's
X-Auto-Response-Suppress) are honoured where they say something about the
sender, and not where the list or the sender's mail system writes them on
every message:
- `Precedence: junk` and `auto_reply` stop a reply; no list adds them.
- `Precedence: bulk` and `list` stop a reply only on mail that did not come
  through a mailing list. vger.kernel.org and lists.linux.dev (subspace)
  write `Precedence: bulk` on every post, Mailman writes `list`: on list mail
  the value is the list's, not the sender's, and honouring it would leave
  every patch unanswered. Mail came through a list when it carries a header
  only list software writes (List-Unsubscribe, List-Post, X-Mailing-List,
  ...); List-Id does not count, public-inbox-mda adds it to every message.
- `X-Auto-Response-Suppress: All` stops a reply (bots and notification
  mailers send it). The narrower values do not: Exchange stamps
  "DR, RN, NRN, OOF, AutoReply" on ordinary mail from people, patches sent
  with git send-email included, so they cannot tell a robot from a person.
"""
from __future__ import annotations

import re

from ..common import NamedTuple
from ..mail import (Address, decode_header_value, parse_msgid, parse_msgid_list, parse_subject,
                    printable, split_addresses)

OWN_HEADER = "X-Tdxbot"
# Headers that mailing-list software writes (RFC 2369, de facto ones, Mailman's).
# Not List-Id: public-inbox-mda adds it to every message it archives.
LIST_HEADERS = ("list-unsubscribe", "list-subscribe", "list-post", "list-help", "list-owner", "list-archive",
                "x-mailing-list", "mailing-list", "x-beenthere", "x-mailman-version")
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
    precedence = _precedence(h)
    if precedence:
        return precedence
    suppress = {v.strip().lower() for value in h.get("x-auto-response-suppress", [])
                for v in re.split(r"[,;\s]+", decode_header_value(value)) if v.strip()}
    if "all" in suppress:
        return "X-Auto-Response-Suppress: All"
    return None


def _precedence(h: dict[str, list[str]]) -> str | None:
    """Why a Precedence header stops a reply, or None (see the module's
    docstring for which values count where)."""
    through_list = any(name in h for name in LIST_HEADERS)
    for value in h.get("precedence", []):
        words = re.sub(r"\([^()]*\)", " ", decode_header_value(value)).lower().replace(";", " ").split()
        word = words[0] if words else ""
        if word in ("junk", "auto_reply"):
            return f"Precedence: {word}"
        if word in ("bulk", "list") and not through_list:
            return f"Precedence: {word} (and the mail did not come through a list)"
    return None


def address_key(addr: str) -> str:
    """An address as opt-out compares it: the domain in lower case, the
    local part in lower case without its +tag (victim+tdx@ is victim@), and
    for Gmail without dots (v.ictim@gmail.com is victim@gmail.com) and
    googlemail.com read as gmail.com. Wider than strict mail equality on
    purpose: an opted-out person must get nothing."""
    local, at, domain = addr.strip().rpartition("@")
    if not at:
        return addr.strip().lower()
    local = local.strip().strip('"').lower().split("+", 1)[0]
    domain = domain.strip().strip("[]").lower().rstrip(".")
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def opted_out(addr: str, opt_out: frozenset[str]) -> bool:
    """Is this address on the opt-out list (of address_key values)? The
    percent hack counts too: victim%example.org@relay is victim@example.org
    to a relay that still routes it."""
    if not opt_out:
        return False
    if address_key(addr) in opt_out:
        return True
    local, _, _ = addr.rpartition("@")
    return "%" in local and address_key("@".join(local.rsplit("%", 1))) in opt_out


def id_problem(raw: bytes) -> str | None:
    """Why a mail's threading headers cannot go into a reply, or None."""
    h = raw_headers(raw)
    for name in ("in-reply-to", "references"):
        bad = parse_msgid_list(" ".join(h.get(name, [])))[1]
        if bad:
            return f"unusable id {bad[0]!r} in {name.title()}"
    return None
