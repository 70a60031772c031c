"""The command line's options: every subcommand, its options and their help.
cli.py dispatches what these parse."""
from __future__ import annotations

from . import __version__
from .common import UserError

FORMAT_HELP = {
    "text": "grouped by patch, for people",
    "json": "one JSON object",
    "checkpatch": "'path:line: LEVEL: [rule] message' lines, as b4 reads them",
    "sarif": "SARIF 2.1.0, for GitHub code scanning",
}


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
    review.add_argument("--previous", metavar="SOURCE",
                        help="the previous version, for the follow-up on its review: an mbox, .eml or "
                             "folder, a Message-ID or a lore URL; 'lore' looks it up on the archive "
                             "(--lore-url) as b4 does; 'none' turns the follow-up off (default: the "
                             "input's earlier version, and for a Message-ID or URL also its archive)")
    _add_sender(review)
    review.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                        help="deadline for the whole lore fetch: connect, headers, redirects and "
                             "body together (default 30)")

    check = sub.add_parser("check", help="check your branch before sending it",
                           usage="tdxbot check [options] [REVISION...] [-- PATH...]",
                           allow_abbrev=False,
                           description="Review the commits of a git branch as the series they "
                                       "would be. REVISION... and PATH... are what 'git rev-list' "
                                       "takes: HEAD^!, -3, A..B, ^A B, A..B -- arch/x86; a lone "
                                       "revision A means A..HEAD, as for git format-patch. With "
                                       "none: the b4 prep series, else @{upstream}..HEAD. Only "
                                       "patches that touch TDX are checked unless --all.",
                           epilog="Arguments that are not tdxbot options go to git rev-list.")
    _add_common(check)
    check.add_argument("--checkpatch", action="store_true",
                       help="also run the tree's scripts/checkpatch.pl and merge its findings")
    check.add_argument("--drafts", metavar="DIR", help="write the replies a reviewer would send")
    fixing = check.add_mutually_exclusive_group()
    fixing.add_argument("--fix", action="store_true",
                        help="apply the certain fixes to the work tree (never to commits); amend "
                             "or make a fixup commit afterwards")
    fixing.add_argument("--diff", action="store_true",
                        help="print the certain fixes as the patch 'git diff' would show once "
                             "they are applied, and change nothing")
    _add_sender(check)
    _add_scope(check)

    watch = sub.add_parser("watch", help="follow a public-inbox archive and reply to new TDX series",
                           description="Follow a public-inbox v2 archive (a local inbox or its URL), "
                                       "review every new series that touches the scope, and draft "
                                       "(or send) the replies, once each.")
    watch.add_argument("--inbox", metavar="PATH|URL",
                       help="inbox folder (with git/N.git epochs) or its http(s) URL")
    watch.add_argument("--drafts", metavar="MAILDIR", help="write replies into this maildir")
    watch.add_argument("--send", action="store_true",
                       help="send replies over SMTP using git's sendemail.* settings")
    watch.add_argument("--max-per-hour", type=int, default=30, metavar="N",
                       help="send at most N replies in any hour (default 30)")
    watch.add_argument("--max-age", type=float, default=7.0, metavar="DAYS",
                       help="with --send, never reply to mail older than DAYS days (default 7)")
    watch.add_argument("--once", action="store_true", help="process what is there and exit")
    watch.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                       help="seconds between polls (default 60)")
    watch.add_argument("--settle", type=float, default=30.0, metavar="MINUTES",
                       help="review an incomplete series after this long (default 30)")
    watch.add_argument("--state", metavar="FILE", help="state database (default under $XDG_STATE_HOME)")
    start = watch.add_mutually_exclusive_group()
    start.add_argument("--since", metavar="DATE",
                       help="on the first run, read mail archived since DATE (YYYY-MM-DD[THH:MM], UTC) "
                            "instead of starting at the tip of the archive")
    start.add_argument("--backlog", action="store_true",
                       help="on the first run, read the whole archive instead of starting at its tip")
    watch.add_argument("--status", action="store_true",
                       help="print what the state holds (planned, sent, failed, skipped, with reasons) "
                            "and exit")
    watch.add_argument("--scope", action="append", metavar="GLOB",
                       help="paths a series must touch to get a reply (default: the TDX paths)")
    watch.add_argument("--opt-out", action="append", metavar="ADDR",
                       help="never reply to mail from this address, nor send it a copy as To, Cc or "
                            "Reply-To; ADDR+tag@ counts as ADDR@ (also git config tdxbot.opt-out)")
    _add_sender(watch)
    watch.add_argument("--ignore", action="append", metavar="RULE",
                       help="skip these rule ids (repeatable, comma-separated)")
    watch.add_argument("--select", action="append", metavar="RULE",
                       help="run only these rule ids (repeatable, comma-separated)")
    watch.add_argument("--lock-wait", type=float, default=30.0, metavar="SECONDS",
                       help="how long a step waits when another process holds the state database's "
                            "lock (default 30); then the watcher tries again later, or with --once "
                            "exits with status 2")

    ev = sub.add_parser("eval", help="measure accuracy on labelled cases",
                        description="Review each NAME.eml in DIR and compare with NAME.json "
                                    "({\"must\": [{rule, path, line}], \"must_not\": [rule ids]}).")
    ev.add_argument("folder", metavar="DIR", help="folder of NAME.eml cases with NAME.json beside")
    ev.add_argument("--format", choices=("text", "json"), default="text",
                    help="text: a table and the misses; json: the whole result")

    rules = sub.add_parser("rules", help="list the rules and their severities",
                           description="List the rules with their effective severity: the "
                                       "default, or what git config tdxbot.severity.RULE sets; "
                                       "rules that git config tdxbot.ignore turns off are marked.")
    rules.add_argument("--doc", metavar="RULE", help="print one rule's full documentation")
    rules.add_argument("--markdown", action="store_true",
                       help="print every rule's documentation as Markdown (docs/rules.md)")

    b4check = sub.add_parser("b4-check", help="b4 per-patch check command (patch on stdin)",
                             description="Read one patch mail on stdin and print findings in "
                                         "the checkpatch --terse style b4 parses "
                                         "(b4.am-perpatch-check-cmd, b4.prep-perpatch-check-cmd). "
                                         "A patch that does not touch TDX prints nothing "
                                         "unless --all.")
    b4check.add_argument("--ignore", action="append", metavar="RULE",
                         help="skip these rule ids (repeatable, comma-separated)")
    _add_scope(b4check)

    b4review = sub.add_parser("b4-review-check",
                              help="b4 review check command (JSON contract, message on stdin)",
                              description="Read one patch (or, with --series, the cover letter) on "
                                          "stdin and print b4's review check JSON. Patches that "
                                          "do not touch TDX get no record unless --all.")
    b4review.add_argument("--series", action="store_true",
                          help="review the whole series of the cover letter on stdin "
                               "(fetched from lore unless stdin holds the whole thread)")
    b4review.add_argument("--ignore", action="append", metavar="RULE",
                          help="skip these rule ids (repeatable, comma-separated)")
    b4review.add_argument("--lore-url", metavar="URL",
                          help="public-inbox to fetch the series from (default: git config "
                               "tdxbot.lore-url, else b4.midmask, else lore)")
    b4review.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                          help="deadline for the whole lore fetch: connect, headers, redirects "
                               "and body together (default 30)")
    _add_scope(b4review)
    return parser


def _add_common(p, formats=("text", "json", "checkpatch", "sarif")) -> None:
    choices = "; ".join(f"{f}: {FORMAT_HELP[f]}" for f in formats)
    p.add_argument("--format", choices=formats, default="text",
                   help=f"report format (default text; {choices})")
    p.add_argument("--fail-on", choices=("error", "warning", "info"), default="warning",
                   help="lowest severity that makes the exit status 1 (default: warning)")
    p.add_argument("--ignore", action="append", metavar="RULE",
                   help="skip these rule ids (repeatable, comma-separated)")
    p.add_argument("--select", action="append", metavar="RULE",
                   help="run only these rule ids (repeatable, comma-separated)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the text report (default auto: on a terminal, unless NO_COLOR is set)")


def _seconds(text: str) -> float:
    """--timeout: a number of seconds, more than 0 and finite."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds and finite: {text!r}")
    return value


def _add_scope(p) -> None:
    p.add_argument("--all", action="store_true", dest="review_all",
                   help="review every patch, not only those that touch TDX code or name TDX in "
                        "the subject (default: git config tdxbot.scope, 'tdx' or 'all'; else tdx)")


def _add_sender(p) -> None:
    p.add_argument("--from", dest="sender", metavar="ADDR",
                   help="From: of the replies, 'Name <you@example.org>' (default: git config "
                        "tdxbot.from, else user.name and user.email)")


def fast_b4_check_args(argv: list[str]):
    """b4 starts 'tdxbot b4-check' once per patch; its few options are read
    here without argparse, whose import is a noticeable part of that start.
    None means: not this simple shape, use the full parser."""
    if not argv or argv[0] != "b4-check":
        return None
    ignore, review_all, rest = [], False, argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--ignore" and rest:
            ignore.append(rest.pop(0))
        elif arg.startswith("--ignore="):
            ignore.append(arg.split("=", 1)[1])
        elif arg == "--all":
            review_all = True
        else:
            return None
    from types import SimpleNamespace

    return SimpleNamespace(command="b4-check", ignore=ignore, review_all=review_all)


def parse(parser, argv: list[str]):
    """The arguments; for check, what argparse does not know (revisions,
    rev-list options) and the paths after '--' go to git rev-list. A
    mistyped command or tdxbot option is a one-line error that names the
    closest one (UserError), not something for git to puzzle over."""
    commands = _subcommands(parser)
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        raise UserError(f"unknown command {argv[0]!r}{_did_you_mean(argv[0], commands)} "
                        "(see 'tdxbot --help')")
    if argv[:1] != ["check"]:
        return parser.parse_args(argv)
    paths: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, paths = argv[:cut], argv[cut + 1:]
    options = _option_names(commands["check"])
    for path in paths:
        if path.split("=", 1)[0] in options:
            raise UserError(f"check: {path.split('=', 1)[0]} comes after '--', where git takes it "
                            "for a path; put tdxbot's options before '--'")
    args, revs = parser.parse_known_args(argv)
    for arg in revs:
        name = arg.split("=", 1)[0]
        if name.startswith("--") and name not in options and (close := _did_you_mean(name, options)):
            raise UserError(f"check: unknown option {name}{close}")
    # tdxbot numbers the series oldest first whatever order rev-list is asked for.
    args.revs, args.paths = [r for r in revs if r != "--reverse"], paths
    return args


def _subcommands(parser) -> dict:
    import argparse

    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _option_names(parser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def _did_you_mean(word: str, known) -> str:
    """' (did you mean X?)' for the closest known word, or ''."""
    import difflib

    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""
