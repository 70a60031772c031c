"""The mailing-list auto-responder: follow an archive, review each new TDX
series once, draft (or send) the replies.

One pass: read new messages into the state database; for each thread that
changed or still waits, assemble its series with b4; decide each series
once it is complete or has settled (review, or skip with a reason); plan
its replies; deliver what is planned (delivery.py). Every decision is
logged.

Everything here reads mail anyone can send to the list. A message that
cannot be read is recorded as skipped with its reason and the mark moves
past it; a thread or series whose review fails is recorded as skipped; so
no mail can stop the responder or make it answer twice. Headers are read
raw and checked by the rules in mailsafe before any of them reaches a reply.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable

from .. import __version__
from ..common import NamedTuple, UserError
from ..flow import PreviousLookup, attach_previous
from ..lint import OUT_OF_TIME_ID, path_matches, review_series
from ..mail import (Address, UnsafeReply, build_series, envelope, message_id, parse_message, plan_revisions,
                    printable, split_addresses)
from ..output import draft_replies, message_bytes
from .inbox import epochs, mirror, new_messages, positions
from .state import State, StateBusy, is_busy
from .triage import OWN_HEADER, automated, first_header, id_problem, opted_out, raw_headers, route

log = logging.getLogger("tdxbot.watch")


class Settings(NamedTuple):
    sender: Address
    scope: tuple[str, ...]
    settle: float  # seconds a partial series waits
    opt_out: frozenset[str]  # triage.address_key of each opted-out address
    options: object  # lint.Options
    archive: str | None = None  # the inbox's URL: where earlier versions are looked up, as b4 does


class Start(NamedTuple):
    """Where a first run (a state with no history) starts reading:
    the tip of the archive unless a backlog or a date is asked for."""
    backlog: bool = False
    since: float | None = None


def parse_since(text: str) -> float:
    """--since DATE: an ISO date or date and time, UTC unless it says."""
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--since: {text!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


# -- reading the archive ------------------------------------------------------------


def begin(state: State, inbox: str, start: Start) -> None:
    """On a first run, record where reading starts."""
    from datetime import datetime, timezone


    if state.started():
        if start.backlog or start.since is not None:
            log.info("--since and --backlog apply to a first run; this state already follows the archive")
        return
    if start.backlog:
        state.start("backlog", {})
        log.info("first run: reading the whole archive (--backlog)")
    elif start.since is not None:
        state.set_meta("since", repr(start.since))
        state.start("since", {})
        log.info("first run: reading mail archived since %s",
                 datetime.fromtimestamp(start.since, timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    else:
        tips = positions(inbox)
        state.start("tip", {n: head for n, (head, _, _) in tips.items()},
                    {n: (depth, key) for n, (_, key, depth) in tips.items()})
        log.info("first run: starting at the tip of the archive; earlier mail gets no reply "
                 "(--since DATE or --backlog to read it)")


def ingest(state: State, inbox: str, progress: bool = False) -> int:
    since = state.meta("since")
    count = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="reading archive", unit=" msg", leave=False)
    for item in new_messages(inbox, state.marks(), float(since) if since else None, state.known_entry,
                             state.places()):
        if item.note:
            log.warning("%s", printable(item.note))
        if item.purged:
            _withdraw(state, item.purged)
        if item.skipped:
            state.ingest(item.epoch, item.commit, None, skipped=(None, item.skipped), entry=item.entry,
                         depth=item.depth)
            log.warning("skipped the message of commit %s (epoch %d): %s", item.commit[:12], item.epoch,
                        item.skipped)
            continue
        if not item.raw:
            state.ingest(item.epoch, item.commit, None, entry=item.entry, depth=item.depth)
            continue
        try:
            routed, why = route(item.raw)
        except Exception as exc:  # noqa: BLE001 - no mail may stop the reading
            routed, why = None, f"unreadable headers ({type(exc).__name__})"
        if routed is None:
            state.ingest(item.epoch, item.commit, None, skipped=(None, why), entry=item.entry, depth=item.depth)
            log.warning("skipped the message of commit %s (epoch %d): %s", item.commit[:12], item.epoch, why)
        else:
            note = state.ingest(item.epoch, item.commit, (routed.msgid, routed.root, item.raw, routed.is_patch),
                                archived=item.archived, entry=item.entry, depth=item.depth)
            if note:
                log.warning("two messages with Message-ID <%s> (the later one: %r): %s",
                            printable(routed.msgid), printable(first_header(raw_headers(item.raw), "subject")[:80]),
                            note)
        count += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return count


def _withdraw(state: State, purged: frozenset[str]) -> None:
    """A purge erased these blobs: no reply may quote them any more."""
    withdrawn, out = state.withdraw_purged(set(purged))
    for msgid in withdrawn:
        log.warning("withdrew the planned reply to <%s>: the patch was purged from the archive", printable(msgid))
    for msgid, how in out:
        log.warning("the reply to <%s> (%s) answers a patch that was purged from the archive", printable(msgid),
                    how)


# -- deciding ---------------------------------------------------------------------


def _thread_plans(raws: list[bytes]):
    """The thread's parsed messages, and b4's plan of each revision in it
    with whether b4 finds that revision complete."""
    messages, problems = [], []
    for raw in raws:
        try:
            messages.append(parse_message(raw, "archive"))
        except UserError as exc:
            problems.append(str(exc))
    return messages, plan_revisions(messages), problems


def _series_key(root: str, messages, plan) -> str:
    """The cover letter's Message-ID (else the first patch's) and the version."""
    first = plan.cover if plan.cover is not None else (plan.patches[0] if plan.patches else None)
    anchor = (message_id(messages[first]) if first is not None else None) or root
    return f"{anchor}#v{plan.version}"


def _undecided_key(state: State, key: str, patches: set[str]) -> str | None:
    """The key to decide this series under, or None when it is decided.
    A series keeps its key (its cover letter and version) while its
    patches stay those already decided; a patch that joins it later gets
    the series decided again under key+<that patch>. Anyone can post a
    "[PATCH v2 0/1]" into someone else's thread before the author's v2
    arrives: b4 then puts the author's v2 under that cover, and the v2
    must still be answered. Replies stay one per patch (State.decide)."""
    decided = state.decided_patches(key)
    if decided is None:
        return key
    new = sorted(patches - decided) if "*" not in decided else []
    return f"{key}+{new[0]}" if new else None


def _reply_name(patch_msgid: str) -> str:
    return "tdxbot-" + hashlib.sha1(patch_msgid.encode("utf-8", "replace")).hexdigest()[:20]


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return printable(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def decide_thread(state: State, root: str, first_seen: float, settings: Settings, now: float) -> bool:
    """Decide every series of one thread that is ready; True if the thread
    still waits for something. A series whose review fails is skipped with
    the reason; the others go on."""
    raws = state.thread_messages(root)
    if not raws:
        return False
    messages, plans, problems = _thread_plans(raws)
    if not plans and (problems or any(r is not None and r.is_patch for r, _ in map(route, raws))):
        key = f"{root}#unread"  # a patch nobody can read is recorded, once
        if state.series_status(key) is None:
            reason = "; ".join(problems[:2]) or "b4 finds no series it can read in this thread"
            state.decide(key, root, "skipped", reason)
            log.warning("skipped thread <%s>: %s", printable(root), printable(reason))
    waiting = False
    for plan, complete in plans:
        patches = {message_id(messages[i]) for i in plan.patches} - {None}
        key = _undecided_key(state, _series_key(root, messages, plan), patches)
        if key is None:
            continue
        if not complete and now - first_seen < settings.settle:
            waiting = True
            continue
        try:
            status, reason, planned = _decide_series(state, root, messages, raws, plan, settings, now)
        except (KeyboardInterrupt, SystemExit, sqlite3.Error):
            raise  # the state's trouble (a busy lock, say), not the series': it is decided later
        except BaseException as exc:  # noqa: BLE001 - one series never stops the others
            status, reason, planned = "skipped", f"could not be reviewed ({_why(exc)})", []
        state.decide(key, root, status, reason, planned, patches)
        log.info("%s %s: %s%s", status, printable(key), printable(reason),
                 f", {len(planned)} replies planned" if status == "reviewed" else "")
    return waiting


def _decide_series(state: State, root: str, messages, raws, plan, settings: Settings, now: float):
    """(status, reason, planned replies) for one series."""
    try:
        series = build_series(messages, plan.version, root, plan)
    except UserError as exc:
        return "skipped", f"unusable: {exc}", []
    # Each mail of the series speaks for itself: a reply-suppressing header,
    # an opted-out author or unusable threading ids stop the reply to that
    # mail only. Anyone can post a "[PATCH 2/2]" into someone else's thread,
    # and b4 may take it into the series; its headers must not silence the
    # replies to the others. When no mail of the series may be answered, the
    # series is skipped.
    quiet: dict[str, str] = {}
    mails = 0
    for patch, raw in _patch_raws(series, raws):
        mails += 1
        why = automated(raw, settings.sender) or id_problem(raw)
        if opted_out(patch.author.email, settings.opt_out):
            why = f"{patch.author.email} opted out"
        if why:
            quiet[patch.message_id] = why
    if quiet and len(quiet) >= mails:
        return "skipped", next(iter(quiet.values())), []
    if not any(path_matches(f.path, settings.scope) for p in series.patches for f in p.files):
        return "skipped", f"out of scope ({series.title[:80]})", []
    series = _with_previous(series, messages, root, settings)
    review = review_series(series, settings.options)
    ran_out = [f for f in review.findings if f.rule == OUT_OF_TIME_ID]
    if any(f.message_id is None for f in ran_out):
        # A series rule cut short: no reply of the series is one to send.
        # Skip the series (with the reason) and go on with the next.
        return "skipped", f"review ran out of time: {ran_out[0].message}", []
    # A rule cut short on one patch costs that patch its reply, not the
    # others theirs: anyone can post a "[PATCH 2/2]" into someone else's
    # thread, and b4 may take it into the series.
    for f in ran_out:
        quiet.setdefault(f.message_id, f"review ran out of time: {f.message}")
    if ran_out and len(quiet) >= mails:
        return "skipped", f"review ran out of time: {ran_out[0].message}", []
    if settings.opt_out:
        import copy

        review = copy.copy(review)
        review.series = _without_opted_out(review.series, settings.opt_out)
    done = state.replied_patches()
    planned, refused = [], []
    extra = ((OWN_HEADER, __version__), ("Auto-Submitted", "auto-generated"))
    domain = settings.sender.email.split("@")[-1] or "tdxbot.invalid"
    try:
        drafts = draft_replies(review, settings.sender, _date(now), extra_headers=extra)
    except UnsafeReply as exc:
        return "skipped", f"reply refused: {exc}", []
    for draft in drafts:
        if not draft.in_reply_to or draft.in_reply_to in done:
            continue
        if draft.in_reply_to in quiet:
            refused.append(f"none to <{printable(draft.in_reply_to)}> ({quiet[draft.in_reply_to]})")
            continue
        name = _reply_name(draft.in_reply_to)
        msg = draft.message
        del msg["Message-ID"]
        msg["Message-ID"] = f"<{name}@{domain}>"
        try:
            data = message_bytes(msg)
            # The recipients as they will be sent, checked once more.
            if any(opted_out(r, settings.opt_out) for r in envelope(data)[1]):
                raise UnsafeReply("a recipient opted out")
        except UnsafeReply as exc:
            refused.append(f"none to <{printable(draft.in_reply_to)}> (reply refused: {exc})")
            continue
        planned.append((draft.in_reply_to, name, data))
    kept = sum(1 for f in review.findings if not f.already_raised and f.severity != "info")
    reason = f"{series.title[:80]}: {len(review.findings)} findings, {kept} for the replies"
    if refused:
        reason += "; " + "; ".join(refused[:3]) + (f"; and {len(refused) - 3} more" if len(refused) > 3 else "")
    return "reviewed", reason, planned


def _with_previous(series, messages, root: str, settings: Settings):
    """series with its previous version and that version's review, for
    the follow-up in the replies: from the thread (a v2 sent in reply to
    v1), else from the archive the way b4 finds it (a "Link to vN" in the
    notes, the change-id, the subject and sender), when the inbox is one
    we can search."""
    if series.version < 2:
        return series
    lookup = PreviousLookup(lore_url=settings.archive)
    return attach_previous(series, messages, lookup, root, remote_base=settings.archive)


def _without_opted_out(series, opt_out: frozenset[str]):
    """The series with every opted-out address taken out of each mail's To,
    Cc and Reply-To (compared by triage.address_key: no +tag, any case), so
    that no reply built from it goes to them. An author who opted out gets
    no reply at all (the series is skipped before this)."""
    from email.utils import formataddr

    def keep(values: tuple[str, ...]) -> tuple[str, ...]:
        found = split_addresses(values)
        kept = [formataddr((name, addr), charset="utf-8") for name, addr in found
                if not opted_out(addr, opt_out)]
        if len(kept) == len(found):
            return values
        return (", ".join(kept),) if kept else ()

    def clean(patch):
        if patch is None:
            return None
        return patch._replace(to_headers=keep(patch.to_headers), cc_headers=keep(patch.cc_headers),
                              reply_to_headers=keep(patch.reply_to_headers))

    return series._replace(cover=clean(series.cover), patches=tuple(clean(p) for p in series.patches))


def _date(now: float):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(now, timezone.utc)


def _patch_raws(series, raws: list[bytes]):
    """(patch, raw) of the cover letter and every patch of the series."""
    by_id = {}
    for raw in raws:
        routed, _ = route(raw)
        if routed:
            by_id[routed.msgid] = raw
    for patch in ([series.cover] if series.cover is not None else []) + list(series.patches):
        if patch.message_id in by_id:
            yield patch, by_id[patch.message_id]


def decide(state: State, settings: Settings, now: float) -> None:
    for root, first_seen in state.open_threads():
        try:
            waiting = decide_thread(state, root, first_seen, settings, now)
        except (KeyboardInterrupt, SystemExit, sqlite3.Error):
            raise
        except BaseException as exc:  # noqa: BLE001 - a poison thread is closed, not retried forever
            reason = f"thread could not be read ({_why(exc)})"
            state.decide(f"{root}#thread", root, "skipped", reason)
            log.warning("skipped thread <%s>: %s", printable(root), reason)
            waiting = False
        if not waiting:
            state.close_thread(root)


# -- the loop ---------------------------------------------------------------------


def run_once(state: State, inbox: str, settings: Settings, deliver: Callable[[], int],
             progress: bool = False) -> None:
    n = ingest(state, inbox, progress)
    if n:
        log.info("read %d new messages", n)
    decide(state, settings, time.time())
    deliver()


def follow(state: State, inbox_arg: str, settings: Settings, deliver: Callable[[], int],
           once: bool, interval: float, start: Start = Start(), busy_wait: float | None = None) -> None:
    """Process the archive, then poll it every interval seconds until SIGTERM
    (or once). A URL is mirrored into the cache before each pass. While
    following, a failed pass (the mirror unreachable, say) is logged and
    the next one tried; with once it is the command's error.

    The state database locked by another process past its wait (busy_wait
    seconds a statement, see State) stops nothing: every step of a pass is
    its own transaction, so the pass is tried again, after 5 s (or the
    interval, when shorter), then twice as long each time up to 10 minutes,
    with one line when the wait starts and one when it ends. With once it is one line and exit status 2."""
    import signal
    import sys


    remote = inbox_arg.startswith(("http://", "https://"))
    if not remote:
        epochs(inbox_arg)  # fail early on a folder that is no inbox
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    progress = sys.stderr.isatty()
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                         "tdxbot", "mirrors")
    first = True
    busy_since = None
    busy_tries = 0
    while True:
        pause = interval
        try:
            inbox = mirror(inbox_arg, cache) if remote else inbox_arg
            if first:
                begin(state, inbox, start)
                first = False
            run_once(state, inbox, settings, deliver, progress)
            if busy_since is not None:
                log.info("the state database is free again after %.0f s", time.monotonic() - busy_since)
                busy_since, busy_tries = None, 0
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            waited = f" (each step waits {busy_wait:g} s for it)" if busy_wait is not None else ""
            if once:
                raise StateBusy(f"{state.path}: the state database stayed locked by another process{waited}; "
                                "nothing was lost, run again later") from None
            busy_tries += 1
            pause = min(min(5.0, interval) * 2 ** (busy_tries - 1), 600.0)
            if busy_since is None:
                busy_since = time.monotonic()
                log.warning("the state database is locked by another process%s; trying again with backoff, "
                            "up to every %g s", waited, 600.0)
        except UserError as exc:
            if once:
                raise
            log.error("this pass failed: %s; trying again in %g s", printable(str(exc)), interval)
        except (KeyboardInterrupt, SystemExit, sqlite3.Error):
            raise
        except Exception as exc:  # noqa: BLE001 - one bad pass never stops the daemon
            if once:
                raise
            log.error("this pass failed: %s; trying again in %g s", _why(exc), interval)
        if once or stop:
            break
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and not stop:
            time.sleep(min(0.2, pause))
        if stop:
            break
