"""Command line: parse the arguments and hand them to the pipeline.

Every failure a user can cause ends as one line on stderr and exit status 2;
findings at warning or above give 1; a clean run gives 0.
"""
from __future__ import annotations

import os
import sys

from .argspec import build_parser, fast_b4_check_args, parse
from .common import UserError

def _print_report(args, reviews, options, settings=None) -> None:
    from .lint import active_rules
    from .flow import sarif_help_url
    from .output import render, use_colour

    colour = use_colour(sys.stdout, getattr(args, "color", "never"))
    help_url = sarif_help_url(settings) if args.format == "sarif" else None
    sys.stdout.write(render(reviews, args.format, colour, active_rules(options), help_url))


def _drafts(args, settings, reviews) -> None:
    from .flow import write_reply_drafts

    written = write_reply_drafts(reviews, settings, args.sender, args.drafts)
    print(f"tdxbot: wrote {len(written)} draft(s) to {args.drafts}", file=sys.stderr)


def cmd_review(args) -> int:
    from .flow import read_git_config
    from .lint import exit_status
    from .flow import PreviousLookup, build_options, draft_writer, review_local, review_remote
    from .mail import is_remote_source, parse_msgid_arg

    settings = read_git_config()
    options = build_options(settings, args.ignore, args.select)
    local = [s for s in args.sources if not is_remote_source(s)]
    remote = [s for s in args.sources if is_remote_source(s)]
    for src in remote:
        parse_msgid_arg(src)  # reject a malformed Message-ID before any request
    lore_url = args.lore_url or settings.get("tdxbot.lore-url")
    if args.previous and args.previous not in ("none", "lore") and is_remote_source(args.previous):
        parse_msgid_arg(args.previous)
    previous = PreviousLookup(args.previous, lore_url, args.timeout)
    drafts = draft_writer(settings, args.sender, args.drafts) if args.drafts else None
    reviews = review_local(local, args.series_version, options, drafts, previous) if local else []
    for src in remote:
        reviews.append(review_remote(src, lore_url, args.series_version, args.timeout, options, previous))
        if drafts:
            drafts(reviews[-1])
    if drafts:
        print(f"tdxbot: wrote {len(drafts.written)} draft(s) to {args.drafts}", file=sys.stderr)
    _print_report(args, reviews, options, settings)
    return exit_status(reviews, args.fail_on)


def cmd_check(args) -> int:
    from .flow import read_git_config
    from .lint import exit_status
    from .flow import review_branch

    checked = review_branch(args.revs, args.paths, read_git_config, args.ignore, args.select,
                            args.checkpatch, args.review_all)
    if checked.review is None:
        print(f"tdxbot: {checked.skipped}", file=sys.stderr)
        return 0
    if args.fix or args.diff:
        return _fix(args, checked)
    if args.drafts:
        _drafts(args, checked.settings, [checked.review])
    _print_report(args, [checked.at_head], checked.options, checked.settings)
    return exit_status([checked.at_head], args.fail_on)


def _fix(args, checked) -> int:
    """--fix and --diff; the exit status counts what is left to fix by hand."""
    from .lint import exit_status
    from .flow import fixes_diff, outcome_lines, unfixed
    from .flow import fix_branch

    result = fix_branch(checked, write=args.fix)
    if args.diff:
        sys.stdout.write(fixes_diff(result, checked.root))
    else:
        lines, summary = outcome_lines(result, checked.commits)
        sys.stdout.write("".join(ln + "\n" for ln in lines))
        print(f"tdxbot: {summary}", file=sys.stderr)
    return exit_status([unfixed(checked.review, result)], args.fail_on)


def cmd_watch(args) -> int:
    from .watch import run

    return run(args)


def cmd_eval(args) -> int:
    from .flow import evaluate, render

    result = evaluate(args.folder)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(render(result))
    totals = result["totals"]
    return 1 if totals["misses"] or totals["false_alarms"] else 0


def cmd_rules(args) -> int:
    from .flow import read_git_config
    from .lint import all_rules, describe_unknown
    from .flow import build_options
    from .output import enforces, render_markdown, render_table, severity_origin

    rules = all_rules()
    if args.markdown:
        sys.stdout.write(render_markdown(rules))
        return 0
    options = build_options(read_git_config())
    if not args.doc:
        sys.stdout.write(render_table(rules, options))
        return 0
    for rule in rules:
        if rule.id == args.doc:
            scope = ", ".join(rule.paths) if rule.paths else "all files"
            print(f"{rule.id} (severity: {severity_origin(rule, options)}; paths: {scope})")
            print(f"enforces: {enforces(rule)}\n")
            print(rule.doc)
            return 0
    raise UserError(f"--doc: unknown rule id: {describe_unknown([args.doc])} (see 'tdxbot rules')")


def cmd_b4_check(args) -> int:
    from .flow import b4_check_lines

    sys.stdout.write(b4_check_lines(args.ignore, args.review_all))
    return 0


def cmd_b4_review_check(args) -> int:
    import json

    from .flow import b4_review_check_records

    records = b4_review_check_records(args.series, args.ignore, args.lore_url, args.timeout,
                                      args.review_all)
    sys.stdout.write(json.dumps(records) + "\n")
    return 0


HANDLERS = {"review": cmd_review, "check": cmd_check, "watch": cmd_watch, "eval": cmd_eval,
            "rules": cmd_rules, "b4-check": cmd_b4_check, "b4-review-check": cmd_b4_review_check}


def _leave(status: int) -> None:
    """End the process once the report and drafts are out. A big review
    leaves hundreds of thousands of objects behind (the parsed files the
    rules share); the interpreter would free them one by one at exit, which
    took a tenth of a 1,000-thread review. Nothing else is pending: the
    drafts are closed files, and stdout and stderr are flushed here."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    own_process = argv is None  # the command line's own run, not a caller's
    argv = sys.argv[1:] if argv is None else argv
    args = fast_b4_check_args(argv)
    if args is not None:
        # b4 starts this once per patch: a process this short (its work is
        # bounded by limits.py) is faster without the cycle collector.
        import gc

        gc.disable()
    if args is None:
        parser = build_parser()
        try:
            args = parse(parser, argv)
        except SystemExit as exc:
            return 2 if exc.code not in (0, None) else 0
        except UserError as exc:
            print(f"tdxbot: {exc}", file=sys.stderr)
            return 2
        if not args.command:
            parser.print_help(sys.stderr)
            return 2
    if own_process and args.command in ("b4-check", "b4-review-check"):
        # b4 starts these once per patch: compiled patterns are kept for the
        # next run (common/lazyre.py), in the user's cache folder.
        from .common import keep_programs

        keep_programs()
    try:
        status = HANDLERS[args.command](args)
        # A report that cannot be written (a full disk) is this run's error,
        # said in one line, not a message of the interpreter at exit.
        sys.stdout.flush()
        if own_process and args.command == "review":
            _leave(status)
        return status
    except UserError as exc:
        from .mail import printable

        print(f"tdxbot: {printable(str(exc))}", file=sys.stderr)  # it may quote the mail
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
