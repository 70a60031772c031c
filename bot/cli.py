"""Command line: tdxbot review | rules | b4-check.

Every failure a user can cause ends as one line on stderr and exit status 2;
findings at warning or above give 1; a clean run gives 0.
"""
from __future__ import annotations

import os
import sys

from . import __version__
from .errors import UserError


def _split_ids(values: list[str] | None) -> set[str]:
    out: set[str] = set()
    for v in values or []:
        out.update(x.strip() for x in v.replace(",", " ").split() if x.strip())
    return out


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="tdxbot",
        description="Review Linux kernel patches that touch Intel TDX code.",
    )
    parser.add_argument("--version", action="version", version=f"tdxbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    review = sub.add_parser("review", help="review a series and draft replies",
                            description="Review a patch series from mbox/.eml/maildir files, "
                                        "stdin ('-'), a Message-ID or a lore URL.")
    review.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="mbox, .eml/.patch, maildir, '-' for stdin, Message-ID or lore URL")
    _add_common(review)
    review.add_argument("--drafts", metavar="DIR", help="write reply drafts (.eml) into DIR")
    review.add_argument("--lore-url", metavar="URL",
                        help="public-inbox to fetch from (default: git config tdxbot.lore-url, "
                             "else https://lore.kernel.org/all)")
    review.add_argument("--version", dest="series_version", type=int, metavar="N",
                        help="review version N of the series (default: newest complete)")
    review.add_argument("--from", dest="sender", metavar="ADDR",
                        help="From: of the drafts (default: tdxbot.from, else git user.name/email)")
    review.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="network timeout for lore requests (default 30)")

    check = sub.add_parser("check", help="check your branch before sending it",
                           description="Review the commits of a git branch as the series they "
                                       "would be: the b4 prep series, else @{upstream}..HEAD, "
                                       "else REV-RANGE.")
    check.add_argument("rev_range", nargs="?", metavar="REV-RANGE",
                       help="commits to check, e.g. origin/master..HEAD (default: the b4 prep "
                            "series, else @{upstream}..HEAD)")
    _add_common(check, formats=("text", "json", "sarif", "checkpatch"))
    check.add_argument("--checkpatch", action="store_true",
                       help="also run the tree's scripts/checkpatch.pl and merge its findings")
    check.add_argument("--drafts", metavar="DIR", help="write the replies a reviewer would send")
    check.add_argument("--from", dest="sender", metavar="ADDR")

    watch = sub.add_parser("watch", help="follow a public-inbox archive and reply to new TDX series",
                           description="Follow a public-inbox v2 archive (a local inbox or its URL), "
                                       "review every new series that touches the scope, and draft "
                                       "(or send) the replies, once each.")
    watch.add_argument("--inbox", required=True, metavar="PATH|URL",
                       help="inbox folder (with git/N.git epochs) or its http(s) URL")
    watch.add_argument("--drafts", metavar="MAILDIR", help="write replies into this maildir")
    watch.add_argument("--send", action="store_true",
                       help="send replies over SMTP using git's sendemail.* settings")
    watch.add_argument("--max-per-hour", type=int, default=30, metavar="N",
                       help="send at most N replies in any hour (default 30)")
    watch.add_argument("--once", action="store_true", help="process what is there and exit")
    watch.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                       help="seconds between polls (default 60)")
    watch.add_argument("--settle", type=float, default=30.0, metavar="MINUTES",
                       help="review an incomplete series after this long (default 30)")
    watch.add_argument("--state", metavar="FILE", help="state database (default under $XDG_STATE_HOME)")
    watch.add_argument("--scope", action="append", metavar="GLOB",
                       help="paths a series must touch to get a reply (default: the TDX paths)")
    watch.add_argument("--opt-out", action="append", metavar="ADDR",
                       help="never reply to mail from this address (also git config tdxbot.opt-out)")
    watch.add_argument("--from", dest="sender", metavar="ADDR")
    watch.add_argument("--ignore", action="append", metavar="RULE")

    ev = sub.add_parser("eval", help="measure accuracy on labelled cases",
                        description="Review each NAME.eml in DIR and compare with NAME.json "
                                    "({\"must\": [{rule, path, line}], \"must_not\": [rule ids]}).")
    ev.add_argument("folder", metavar="DIR")
    ev.add_argument("--format", choices=("text", "json"), default="text")

    rules = sub.add_parser("rules", help="list the rules", description="List the rules.")
    rules.add_argument("--doc", metavar="RULE", help="print one rule's full documentation")

    b4check = sub.add_parser("b4-check", help="b4 per-patch check command (patch on stdin)",
                             description="Read one patch mail on stdin and print findings in "
                                         "the checkpatch --terse style b4 parses "
                                         "(b4.am-perpatch-check-cmd, b4.prep-perpatch-check-cmd).")
    b4check.add_argument("--ignore", action="append", metavar="RULE")

    b4review = sub.add_parser("b4-review-check",
                              help="b4 review check command (JSON contract, message on stdin)",
                              description="Read one patch (or, with --series, the cover letter) on "
                                          "stdin and print b4's review check JSON.")
    b4review.add_argument("--series", action="store_true",
                          help="review the whole series of the cover letter on stdin "
                               "(fetched from lore unless stdin holds the whole thread)")
    b4review.add_argument("--ignore", action="append", metavar="RULE")
    b4review.add_argument("--lore-url", metavar="URL")
    b4review.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    return parser


def _add_common(p, formats=("text", "json", "checkpatch")) -> None:
    p.add_argument("--format", choices=formats, default="text")
    p.add_argument("--fail-on", choices=("error", "warning", "info"), default="warning",
                   help="lowest severity that makes the exit status 1 (default: warning)")
    p.add_argument("--ignore", action="append", metavar="RULE",
                   help="skip these rule ids (repeatable, comma-separated)")
    p.add_argument("--select", action="append", metavar="RULE",
                   help="run only these rule ids (repeatable, comma-separated)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def _options(args, settings):
    from .engine import Options, validate_rule_ids

    ignore = _split_ids(getattr(args, "ignore", None))
    validate_rule_ids(ignore, "--ignore")
    select = _split_ids(getattr(args, "select", None)) or None
    if select:
        validate_rule_ids(select, "--select")
    # A typo in git config is reported, not fatal: the same config serves
    # b4's per-patch checks, which should keep running.
    cfg_ignore = _known_ids(settings.ignored(), "git config tdxbot.ignore")
    severities = {rid: sev for rid, sev in settings.severities().items()
                  if rid in _known_ids({rid}, "git config tdxbot.severity")}
    for rid, sev in list(severities.items()):
        if sev not in ("error", "warning", "info"):
            print(f"tdxbot: warning: git config tdxbot.severity.{rid}: {sev!r} is not error, "
                  "warning or info; ignored", file=sys.stderr)
            del severities[rid]
    return Options(ignore=frozenset(ignore | cfg_ignore), select=frozenset(select) if select else None,
                   severity=tuple(sorted(severities.items())))


def _known_ids(ids: set[str], where: str) -> set[str]:
    from .engine import all_rules

    known = {r.id for r in all_rules()}
    unknown = sorted(set(ids) - known)
    if unknown:
        print(f"tdxbot: warning: {where}: unknown rule id(s): {', '.join(unknown)}; ignored",
              file=sys.stderr)
    return set(ids) & known


def _write_drafts(args, settings, reviews) -> None:
    from datetime import datetime, timezone

    from .config import sender_address
    from .replies import draft_replies, write_drafts

    sender = sender_address(settings, args.sender)
    if sender is None:
        if args.sender:
            raise UserError(f"--from: not an address: {args.sender!r}")
        raise UserError("no sender for the drafts: pass --from 'Name <you@example.org>' or "
                        "set git config tdxbot.from (or user.name and user.email)")
    now = datetime.now(timezone.utc).astimezone()
    written = []
    for review in reviews:
        written += write_drafts(draft_replies(review, sender, now), args.drafts)
    print(f"tdxbot: wrote {len(written)} draft(s) to {args.drafts}", file=sys.stderr)


def cmd_check(args) -> int:
    from .checkpatch import checkpatch_findings, checkpatch_path, merge
    from .config import read_git_config
    from .engine import review_series
    from .gitsource import load_git_series

    gs = load_git_series(args.rev_range)
    settings = read_git_config(gs.root)
    options = _options(args, settings)
    review = review_series(gs.series, options)
    review.notes.extend(gs.notes)
    review.notes.insert(0, f"checked {gs.range_text}")
    if args.checkpatch:
        if checkpatch_path(gs.root) is None:
            raise UserError(f"--checkpatch: no scripts/checkpatch.pl in {gs.root}")
        review.findings = merge(review.findings, checkpatch_findings(gs.series, gs.mails, gs.root))
    if args.drafts:
        _write_drafts(args, settings, [review])
    _emit(args, [review], options)
    from .engine import exit_status

    return exit_status([review], args.fail_on)


def _emit(args, reviews, options) -> None:
    from .reports import render_checkpatch, render_json, render_text, to_json_obj, use_colour

    if args.format == "json":
        if len(reviews) == 1:
            sys.stdout.write(render_json(reviews[0]))
        else:
            import json

            objs = [to_json_obj(r) for r in reviews]
            merged = dict(objs[0])
            merged["series"] = [s for o in objs for s in o["series"]]
            merged["findings"] = [f for o in objs for f in o["findings"]]
            sys.stdout.write(json.dumps(merged, indent=2) + "\n")
    elif args.format == "sarif":
        from .engine import active_rules
        from .reports import render_sarif

        sys.stdout.write(render_sarif(reviews[0], active_rules(options)))
    elif args.format == "checkpatch":
        for review in reviews:
            sys.stdout.write(render_checkpatch(review))
    else:
        colour = use_colour(sys.stdout, args.color)
        sys.stdout.write("\n".join(render_text(r, colour) for r in reviews))


def cmd_review(args) -> int:
    from .config import read_git_config
    from .model import Review
    from .sources import DEFAULT_LORE_URL, fetch_thread, is_remote_source, load_local, parse_msgid_arg

    settings = read_git_config()
    options = _options(args, settings)
    for src in args.sources:
        if is_remote_source(src):
            parse_msgid_arg(src)  # reject a malformed Message-ID before any request
    lore_url = args.lore_url or settings.get("tdxbot.lore-url")
    local = [s for s in args.sources if not is_remote_source(s)]
    remote = [s for s in args.sources if is_remote_source(s)]
    if local.count("-") > 1:
        raise UserError("'-' (stdin) given more than once")
    reviews: list[Review] = []
    if local:
        messages = []
        for src in local:
            messages.extend(load_local(src, alone=len(local) == 1))
        where = local[0] if len(local) == 1 else f"{len(local)} inputs"
        reviews.append(_review_messages(messages, args.series_version,
                                        "<stdin>" if where == "-" else where, options))
    for src in remote:
        msgid, url_base = parse_msgid_arg(src)
        base = url_base or lore_url or DEFAULT_LORE_URL
        messages = fetch_thread(msgid, base, args.timeout)
        reviews.append(_review_messages(messages, args.series_version, msgid, options))
    if args.drafts:
        _write_drafts(args, settings, reviews)
    _emit(args, reviews, options)
    from .engine import exit_status

    return exit_status(reviews, args.fail_on)


# Below this many messages a second process costs more than it saves.
PARALLEL_MIN_MESSAGES = 64


def _review_messages(messages, version, where, options, parallel_min=PARALLEL_MIN_MESSAGES):
    """Assemble and review one thread or mbox. A big one on a machine with a
    spare core has b4 pick the series in a child process while this one
    parses every patch and runs the per-patch rules; patches that turn out
    not to be in the series are checked for nothing, which is cheaper than
    waiting for b4."""
    from .engine import check_patch, review_series
    from .sources import (
        assemble,
        build_series,
        is_standalone_patch,
        needs_b4,
        parse_all,
        plan_series_in_child,
    )

    if len(messages) < parallel_min or _usable_cpus() < 2 or not needs_b4(messages):
        return review_series(assemble(messages, version, where), options)
    wait_for_plan = plan_series_in_child(messages, version, where)
    parsed = parse_all(messages, where)
    checked = {id(p): (p, check_patch(p, options)) for p in parsed
               if p is not None and is_standalone_patch(p)}
    series = build_series(messages, version, where, wait_for_plan(), parsed)
    return review_series(series, options, checked)


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cmd_watch(args) -> int:
    import logging
    import signal
    import time

    from . import responder
    from .config import read_git_config, sender_address
    from .rulekit import TDX_PATHS
    from .state import State, default_path

    if not args.drafts and not args.send:
        raise UserError("pass --drafts MAILDIR to draft the replies, or --send to send them")
    if args.interval <= 0 or args.settle < 0 or args.max_per_hour < 1:
        raise UserError("--interval and --max-per-hour must be positive, --settle not negative")
    settings = read_git_config()
    options = _options(args, settings)
    sender = sender_address(settings, args.sender)
    if sender is None:
        raise UserError("no sender: pass --from 'Name <bot@example.org>' or set git config tdxbot.from")
    opt_out = {a.strip().lower() for a in (args.opt_out or []) + settings.get_all("tdxbot.opt-out") if a.strip()}
    conf = responder.Settings(sender=sender, scope=tuple(args.scope) if args.scope else TDX_PATHS,
                              settle=args.settle * 60, opt_out=frozenset(opt_out), options=options)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s",
                        datefmt="%Y-%m-%d %H:%M:%S")
    remote = args.inbox.startswith(("http://", "https://"))
    if not remote:
        from .inbox import epochs

        epochs(args.inbox)  # fail early on a folder that is no inbox
    state = State(args.state or default_path())
    if args.send:
        send = responder.smtp_sender(settings)

        def deliver() -> int:
            return responder.deliver_smtp(state, send, args.max_per_hour, time.time())
    else:
        def deliver() -> int:
            return responder.deliver_maildir(state, args.drafts)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    progress = sys.stderr.isatty()
    try:
        while True:
            inbox = args.inbox
            if remote:
                from .inbox import mirror

                cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                     "tdxbot", "mirrors")
                inbox = mirror(args.inbox, cache)
            responder.run_once(state, inbox, conf, deliver, progress)
            if args.once or stop:
                break
            deadline = time.monotonic() + args.interval
            while time.monotonic() < deadline and not stop:
                time.sleep(min(0.2, args.interval))
            if stop:
                break
    finally:
        state.close()
    return 0


def cmd_eval(args) -> int:
    from .evaluate import evaluate, render

    result = evaluate(args.folder)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(render(result))
    totals = result["totals"]
    return 1 if totals["misses"] or totals["false_alarms"] else 0


def cmd_rules(args) -> int:
    from .engine import all_rules

    rules = all_rules()
    if args.doc:
        for rule in rules:
            if rule.id == args.doc:
                scope = ", ".join(rule.paths) if rule.paths else "all files"
                print(f"{rule.id} (default severity: {rule.severity}; paths: {scope})\n")
                print(rule.doc)
                return 0
        raise UserError(f"unknown rule id: {args.doc} (see 'tdxbot rules')")
    width = max(len(r.id) for r in rules)
    for rule in rules:
        print(f"{rule.id:<{width}}  {rule.severity:<7}  {rule.summary}")
    return 0


def _stdin_series():
    """The messages b4 passes on stdin, as a series; None for a mail with no diff."""
    from .mailparse import patch_from_message
    from .sources import assemble, load_local

    messages = load_local("-")
    if len(messages) == 1 and not patch_from_message(messages[0], "<stdin>").files:
        return None, messages
    return assemble(messages, None, "<stdin>"), messages


def cmd_b4_check(args) -> int:
    from .config import read_git_config
    from .engine import review_series
    from .reports import render_checkpatch

    settings = read_git_config()
    options = _options(args, settings)
    series, _ = _stdin_series()
    if series is None:
        return 0  # a cover letter or a note: nothing to check
    sys.stdout.write(render_checkpatch(review_series(series, options)))
    return 0


def _b4_lore_base(settings) -> str | None:
    """b4 users already point b4.midmask at their archive; follow it."""
    midmask = settings.get("b4.midmask")
    if midmask and "%s" in midmask:
        base = midmask.replace("%s", "").rstrip("/")
        return base if urllib_has_path(base) else base + "/all"
    return None


def urllib_has_path(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).path.strip("/") != ""


def cmd_b4_review_check(args) -> int:
    import json

    from .config import read_git_config
    from .engine import review_series
    from .mailparse import patch_from_message
    from .reports import b4_review_records
    from .sources import DEFAULT_LORE_URL, assemble, fetch_thread

    settings = read_git_config()
    options = _options(args, settings)
    series, messages = _stdin_series()
    if args.series:
        if len(messages) == 1:
            cover = patch_from_message(messages[0], "<stdin>")
            if not cover.message_id:
                raise UserError("the cover letter on stdin has no Message-ID")
            base = args.lore_url or settings.get("tdxbot.lore-url") or _b4_lore_base(settings) \
                or DEFAULT_LORE_URL
            series = assemble(fetch_thread(cover.message_id, base, args.timeout), None,
                              cover.message_id)
        if series is None:
            raise UserError("no patches in this thread")
        records = b4_review_records(review_series(series, options), series_level=True)
    else:
        if series is None:
            records = []
        else:
            records = b4_review_records(review_series(series, options))
    sys.stdout.write(json.dumps(records) + "\n")
    return 0


def _fast_b4_check_args(argv: list[str]):
    """b4 starts 'tdxbot b4-check' once per patch; its few options are read
    here without argparse, whose import is a noticeable part of that start.
    None means: not this simple shape, use the full parser."""
    if not argv or argv[0] != "b4-check":
        return None
    ignore, rest = [], argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--ignore" and rest:
            ignore.append(rest.pop(0))
        elif arg.startswith("--ignore="):
            ignore.append(arg.split("=", 1)[1])
        else:
            return None
    from types import SimpleNamespace

    return SimpleNamespace(command="b4-check", ignore=ignore)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _fast_b4_check_args(argv)
    if args is None:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            return 2 if exc.code not in (0, None) else 0
        if not args.command:
            parser.print_help(sys.stderr)
            return 2
    handlers = {"review": cmd_review, "check": cmd_check, "watch": cmd_watch, "eval": cmd_eval,
                "rules": cmd_rules,
                "b4-check": cmd_b4_check,
                "b4-review-check": cmd_b4_review_check}
    try:
        return handlers[args.command](args)
    except UserError as exc:
        print(f"tdxbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tdxbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except RecursionError:
        print("tdxbot: input nests too deeply to parse", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a traceback is never the answer to bad input
        if os.environ.get("TDXBOT_DEBUG"):
            raise
        print(f"tdxbot: internal error: {type(exc).__name__}: {exc} "
              "(set TDXBOT_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2
