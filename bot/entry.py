"""The `tdxbot` command's first step. The b4 check commands go to the
resident worker when one answers (resident.py): b4 starts them once per
patch, and this module and the worker's caller side import nothing
heavy. Everything else, and those when no worker answers, goes to cli."""
import sys


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["b4-check"] or argv[:1] == ["b4-review-check"]:
        from .resident import run_by_worker

        try:
            status = run_by_worker(argv)
        except KeyboardInterrupt:
            sys.stderr.write("tdxbot: interrupted\n")
            return 130
        if status is not None:
            return status
    from .cli import main as cli_main

    return cli_main()
