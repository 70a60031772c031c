"""False alarms on real code: run every rule over the TDX sources of a
released kernel, each file presented as a whole-file addition.

    python bench/false_alarms.py                 # downloads Debian's linux-source-6.12
    python bench/false_alarms.py --tree DIR      # an unpacked kernel tree

Prints each warning and error with its line, then the count per rule and
per 1,000 lines. Every warning or error here must be one we would defend on
the list; the goal is under 1 per 1,000 lines. Tests do not depend on this.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from collections import Counter
from email.parser import BytesParser
from email.policy import compat32

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tdxbot.lint.engine import Options, all_rules, review_series  # noqa: E402
from tdxbot.mail.parse import patch_from_message  # noqa: E402
from tdxbot.mail.model import Series  # noqa: E402
from tdxbot.lint.areas import TDX as TDX_PATHS  # noqa: E402


def fetch_tree() -> str:
    """The TDX C files of Debian's linux-source package."""
    from linux_source import PACKAGE, fetch

    return fetch(PACKAGE, lambda rel: rel.endswith((".c", ".h"))
                 and any(fnmatch.fnmatchcase(rel, p) for p in TDX_PATHS))


def tdx_files(tree: str) -> list[str]:
    out = []
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), tree)
            if rel.endswith((".c", ".h")) and any(fnmatch.fnmatchcase(rel, p) for p in TDX_PATHS):
                out.append(rel)
    return sorted(out)


def whole_file_patch(rel: str, text: str):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    diff = [f"diff --git a/{rel} b/{rel}", "new file mode 100644", "index 0000000..1111111",
            "--- /dev/null", f"+++ b/{rel}", f"@@ -0,0 +1,{len(lines)} @@"] + ["+" + ln for ln in lines]
    mail = ("From: Bench <bench@example.org>\nSubject: [PATCH] x86/virt/tdx: Add "
            f"{os.path.basename(rel)}\nMessage-ID: <{rel.replace('/', '.')}@bench>\n\n"
            "Add the file as it is in the released kernel.\n\n"
            "Signed-off-by: Bench <bench@example.org>\n---\n" + "\n".join(diff) + "\n")
    msg = BytesParser(policy=compat32).parsebytes(mail.encode("utf-8", "surrogateescape"))
    return patch_from_message(msg, rel), len(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", help="an unpacked kernel tree (default: download linux-source-6.12)")
    ap.add_argument("--show-info", action="store_true", help="also list info findings")
    args = ap.parse_args()
    tree = args.tree or fetch_tree()
    # Every rule runs, and only findings on the files count: a finding on the
    # changelog or subject would judge this script's made-up mail. (Rules
    # that read any file, such as changelog-typo in comments, count too.)
    code_rules = frozenset(r.id for r in all_rules())
    per_rule: Counter[str] = Counter()
    info: Counter[str] = Counter()
    total_lines = 0
    for rel in tdx_files(tree):
        with open(os.path.join(tree, rel), encoding="utf-8", errors="surrogateescape") as fh:
            patch, n = whole_file_patch(rel, fh.read())
        total_lines += n
        review = review_series(Series(title=rel, version=1, total=1, cover=None, patches=(patch,)),
                               Options(select=code_rules))
        for f in review.findings:
            if f.path is None:
                continue
            if f.severity == "info":
                info[f.rule] += 1
                if not args.show_info:
                    continue
            else:
                per_rule[f.rule] += 1
            where = f"{f.path}:{f.line}" if f.path else "changelog"
            print(f"{where}: {f.severity}: [{f.rule}] {f.message}")
            if f.source_text:
                print(f"    {f.source_text.strip()}")
    files = len(tdx_files(tree))
    print(f"\n{files} files, {total_lines} lines of TDX C code from {tree}")
    print(f"{'rule':<30} {'warn+err':>8} {'per 1k lines':>13} {'info':>6}")
    for rule in sorted(set(per_rule) | set(info)):
        print(f"{rule:<30} {per_rule[rule]:>8} {per_rule[rule] * 1000 / max(total_lines, 1):>13.2f} "
              f"{info[rule]:>6}")
    total = sum(per_rule.values())
    print(f"{'all rules':<30} {total:>8} {total * 1000 / max(total_lines, 1):>13.2f} {sum(info.values()):>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
