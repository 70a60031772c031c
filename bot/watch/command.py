"""`tdxbot watch`: from the command's options to a running watcher (or,
with --status, a look at what its state holds). The watching itself is in
responder.py, delivery in delivery.py, the memory in state.py."""
from __future__ import annotations

from ..common import UserError
from ..flow import build_options, read_git_config, sender_address
from ..lint import TDX_SCOPE
from ..mail import clean_address
from . import delivery, responder
from .state import State, StateBusy, default_path, is_busy, state_error
from .triage import address_key


def run(args) -> int:
    """`tdxbot watch`: --status, or check the options and follow the archive."""
    import logging
    import sqlite3
    import sys
    import time


    path = args.state or default_path()
    wait = getattr(args, "lock_wait", 30.0)
    if not wait > 0:
        raise UserError("--lock-wait must be positive")
    if args.status:
        state = State(path, lock=False, readonly=True, busy_timeout=wait)
        try:
            print("\n".join(state.status_lines(time.time())))
        except sqlite3.Error as exc:
            raise UserError(state_error(path, exc)) from None
        finally:
            state.close()
        return 0
    if not args.inbox:
        raise UserError("pass --inbox PATH|URL (or --status to see the state)")
    if not args.drafts and not args.send:
        raise UserError("pass --drafts MAILDIR to draft the replies, or --send to send them")
    if args.interval <= 0 or args.settle < 0 or args.max_per_hour < 1 or args.max_age <= 0:
        raise UserError("--interval, --max-per-hour and --max-age must be positive, --settle not negative")
    start = responder.Start(backlog=args.backlog, since=responder.parse_since(args.since) if args.since else None)
    settings = read_git_config()
    options = build_options(settings, args.ignore, getattr(args, "select", None))
    sender = sender_address(settings, args.sender)
    if sender is None or clean_address(sender.email) is None:
        raise UserError("no usable sender: pass --from 'Name <bot@example.org>' or set git config tdxbot.from")
    opt_out = {_opt_out_key(a) for a in (args.opt_out or []) + settings.get_all("tdxbot.opt-out") if a.strip()}
    conf = responder.Settings(sender=sender, scope=tuple(args.scope) if args.scope else TDX_SCOPE,
                              settle=args.settle * 60, opt_out=frozenset(opt_out), options=options,
                              archive=args.inbox.rstrip("/") if args.inbox.startswith(("http://", "https://"))
                              else None)
    send = delivery.smtp_sender(settings) if args.send else None
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s",
                        datefmt="%Y-%m-%d %H:%M:%S")
    state = _open(path, wait, args.once)
    try:
        if send is not None:
            def deliver() -> int:
                return delivery.deliver_smtp(state, send, args.max_per_hour, time.time(),
                                             args.max_age * 86400, conf.opt_out)
        else:
            def deliver() -> int:
                return delivery.deliver_maildir(state, args.drafts, conf.opt_out)
        responder.follow(state, args.inbox, conf, deliver, args.once, args.interval, start, wait)
    except sqlite3.Error as exc:
        if is_busy(exc):
            raise StateBusy(f"{path}: the state database stayed locked by another process (each step waits "
                            f"{wait:g} s for it); nothing was lost, run again later") from None
        raise UserError(state_error(path, exc)) from None
    finally:
        state.close()
    return 0


def _opt_out_key(text: str) -> str:
    """--opt-out ADDR (a bare address or 'Name <addr>') as triage compares it."""
    from email.utils import parseaddr

    addr = parseaddr(text.strip())[1] or text.strip()
    local, at, domain = addr.rpartition("@")
    if not at or not local.strip('"').split("+", 1)[0] or not domain:
        raise UserError(f"--opt-out / tdxbot.opt-out: {text.strip()!r} is not a mail address")
    return address_key(addr)


def _open(path: str, wait: float, once: bool) -> State:
    """The state, locked for this watcher. A daemon waits for a database
    another process holds locked, trying again with backoff; --once gives
    up after one wait, with one line."""
    import logging
    import time

    pause = 5.0
    told = None  # when the wait was first told
    while True:
        try:
            state = State(path, busy_timeout=wait)
            if told is not None:  # the wait's end is told too, as the daemon's loop does
                logging.getLogger("tdxbot.watch").info(
                    "the state database is free again after %.0f s", time.monotonic() - told)
            return state
        except StateBusy:
            if once:
                raise StateBusy(f"{path}: the state database stayed locked by another process (waited {wait:g} s); "
                                "nothing was lost, run again later") from None
            if told is None:
                logging.getLogger("tdxbot.watch").warning(
                    "the state database is locked by another process; trying again with backoff")
                told = time.monotonic()
            time.sleep(pause)
            pause = min(pause * 2, 600.0)
