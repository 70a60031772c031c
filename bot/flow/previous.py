"""Where the previous version of a series comes from, for the follow-up on
its review (lint.followup) and the rules that compare the two.

In this order:
1. `--previous SOURCE`: a file, folder, Message-ID or lore URL the user
   names (its newest version below the one reviewed, else its newest);
2. the input itself: the thread holds several versions (a v2 sent in
   reply to v1), or the input holds the earlier posting as a thread of
   its own (assembly.plan_threads pairs them);
3. the archive, the way b4 finds earlier revisions (b4 diff, b4 am -c):
   a "Link to v2:" or "v2: <url>" in the notes, else a search for the
   cover letter's change-id, else for its subject and sender within the
   year before. This is done for a series fetched from an archive, and
   for any series with `--previous lore`.
A lookup on the archive that fails is a note on stderr, never the
review's failure.
"""
from __future__ import annotations

import sys

from ..common import NamedTuple, UserError
from ..mail import (DEFAULT_LORE_URL, change_id, decode_header_value, fetch_thread, is_remote_source,
                    load_local, message_id, parse_msgid_arg, parse_subject, previous_in, previous_links,
                    printable, search_archive, search_query, versions_in)

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from ..mail import Series

NONE = "none"  # --previous none: no follow-up
LORE = "lore"  # --previous lore: look on the archive even for a local input


class PreviousLookup(NamedTuple):
    arg: str | None = None  # --previous: None (where the input allows), NONE, LORE, or a source
    lore_url: str | None = None  # the archive to look on (else the one a remote source names, else lore)
    timeout: float = 30.0


def attach_previous(series: Series, messages: list, lookup: PreviousLookup, where: str,
                    earlier: list | None = None, remote_base: str | None = None,
                    in_thread: Series | None = None, thread_looked: bool = False) -> Series:
    """series with its previous version (and that version's review) when
    one is found; see the module's docstring for where it is looked for.
    in_thread, thread_looked: the thread's own earlier version when the
    caller has put it together already (b4 ran in a child process)."""
    if lookup.arg == NONE:
        return series
    if lookup.arg not in (None, LORE):
        return series._replace(previous=load_previous(lookup, series))
    previous = in_thread
    if previous is None and not thread_looked and len(versions_in(messages)) > 1:
        previous = previous_in(messages, series.version, where)
    if previous is None and earlier:
        previous = previous_in(earlier, series.version, where)
    if previous is None and series.version > 1 and (lookup.arg == LORE or remote_base):
        previous = archive_previous(series, lookup.lore_url or remote_base or DEFAULT_LORE_URL, lookup.timeout)
    return series._replace(previous=previous) if previous is not None else series


def load_previous(lookup: PreviousLookup, series: Series) -> Series:
    """The earlier version --previous names (a path, a Message-ID or a lore URL)."""
    arg = lookup.arg
    if is_remote_source(arg):
        msgid, base = parse_msgid_arg(arg)
        messages = fetch_thread(msgid, base or lookup.lore_url or DEFAULT_LORE_URL, lookup.timeout)
        where = msgid
    else:
        messages = load_local(arg)
        where = arg
    found = previous_in(messages, series.version, f"--previous {where}", newest_if_none=True)
    if found is None:
        raise UserError(f"--previous {printable(where)}: no patch series found in it")
    return found


def archive_previous(series: Series, base: str, timeout: float) -> Series | None:
    """The version before series on the archive at base, found as b4 finds
    it; None (with a note on stderr when the archive failed) otherwise."""
    wanted = series.version - 1
    try:
        for msgid in previous_links(series):
            found = previous_in(fetch_thread(msgid, base, timeout), series.version, msgid)
            if found is not None:
                return found
        query = search_query(series)
        if query is None:
            return None
        candidate = _best_candidate(series, search_archive(query, base, timeout))
        if candidate is None:
            return None
        return previous_in(fetch_thread(candidate, base, timeout), series.version, candidate)
    except UserError as exc:
        print(f"tdxbot: note: looking for v{wanted} of '{printable(series.title)[:80]}' on the archive: "
              f"{printable(str(exc))}", file=sys.stderr)
        return None


def _best_candidate(series: Series, found: list) -> str | None:
    """The Message-ID of the search result to fetch the thread of: a
    posting (not a reply) of the newest version below this one, its cover
    letter before its patches; with a change-id, only mails that carry it
    (b4 checks the same: a prerequisite's change-id also matches)."""
    cid = change_id(series)
    own = {p.message_id for p in ([series.cover] if series.cover else []) + list(series.patches)}
    best = None
    for msg in found:
        mid = message_id(msg)
        if mid is None or mid in own:
            continue
        subject = parse_subject(decode_header_value(msg.get("Subject")),
                                bool(msg.get("In-Reply-To") or msg.get("References")))
        if subject.is_reply or not any(t.upper() == "PATCH" for t in subject.tags):
            continue
        if subject.version >= series.version:
            continue
        if cid and not _carries(msg, cid):
            continue
        key = (subject.version, subject.index == 0, -subject.index)
        if best is None or key > best[0]:
            best = (key, mid)
    return best[1] if best else None


def _carries(msg, cid: str) -> bool:
    import re

    try:
        body = msg.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 - an odd part carries nothing
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return re.search(rf"^change-id:[ \t]*{re.escape(cid)}[ \t]*$", text, re.M | re.I) is not None
