"""False alarms on real code: run every rule over released kernel sources,
each file presented as a whole-file addition.

    python bench/false_alarms.py                 # downloads Debian's linux-source-6.12
    python bench/false_alarms.py --tree DIR      # an unpacked kernel tree
    python bench/false_alarms.py --groups tdx    # only the TDX files (the old run)
    python bench/false_alarms.py --sample 40     # print a random sample of findings to judge

The files fall into three groups, reported apart:
- tdx: the TDX C files and headers (the areas tdxbot reviews by default);
- tip: the rest of arch/x86, outside KVM (the tip tree's code);
- kvm: arch/x86/kvm, virt/kvm and KVM's headers under arch/x86/include
  (the KVM x86 tree's code).
All of it was merged, so every warning or error here is a remark the
maintainers of that tree did not make when they took the code. For each
group the script prints the warnings and errors per rule, per 1,000 lines,
and the info findings (which never go into reply drafts). The goal is under
1 warning per 1,000 lines on each group, each one defensible on the list.
Tests do not depend on this.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import random
import sys
from collections import Counter, defaultdict
from email.parser import BytesParser
from email.policy import compat32

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tdxbot.lint.engine import Options, all_rules, review_series  # noqa: E402
from tdxbot.mail.parse import patch_from_message  # noqa: E402
from tdxbot.mail.model import Series  # noqa: E402
from tdxbot.lint.areas import TDX as TDX_PATHS  # noqa: E402

# The KVM x86 tree's files (MAINTAINERS, "KERNEL VIRTUAL MACHINE FOR X86"),
# kept here so that the script runs against older versions of tdxbot too.
KVM_PATHS = ("arch/x86/kvm/*", "virt/kvm/*", "arch/x86/include/asm/kvm*", "arch/x86/include/uapi/asm/kvm*")
GROUPS = ("tdx", "tip", "kvm")
CACHE_NAME = "linux-source-6.12-x86-kvm"


def _matches(rel: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def group_of(rel: str) -> str | None:
    if not rel.endswith((".c", ".h")):
        return None
    if _matches(rel, TDX_PATHS):
        return "tdx"
    if _matches(rel, KVM_PATHS):
        return "kvm"
    if rel.startswith("arch/x86/"):
        return "tip"
    return None


def fetch_tree() -> str:
    """The C files of arch/x86, virt/kvm and the TDX drivers from Debian's
    linux-source package (one download, kept in the cache)."""
    from linux_source import fetch

    return fetch(CACHE_NAME, lambda rel: group_of(rel) is not None)


def source_files(tree: str, groups) -> list[tuple[str, str]]:
    out = []
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), tree)
            group = group_of(rel)
            if group in groups:
                out.append((group, rel))
    return sorted(out)


def whole_file_patch(rel: str, text: str, group: str):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    diff = [f"diff --git a/{rel} b/{rel}", "new file mode 100644", "index 0000000..1111111",
            "--- /dev/null", f"+++ b/{rel}", f"@@ -0,0 +1,{len(lines)} @@"] + ["+" + ln for ln in lines]
    prefix = {"kvm": "KVM: x86", "tip": "x86", "tdx": "x86/virt/tdx"}[group]
    mail = (f"From: Bench <bench@example.org>\nSubject: [PATCH] {prefix}: Add "
            f"{os.path.basename(rel)}\nMessage-ID: <{rel.replace('/', '.')}@bench>\n\n"
            "Add the file as it is in the released kernel.\n\n"
            "Signed-off-by: Bench <bench@example.org>\n---\n" + "\n".join(diff) + "\n")
    msg = BytesParser(policy=compat32).parsebytes(mail.encode("utf-8", "surrogateescape"))
    return patch_from_message(msg, rel), len(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", help="an unpacked kernel tree (default: download linux-source-6.12)")
    ap.add_argument("--groups", default=",".join(GROUPS), help="which groups to run (tdx,tip,kvm)")
    ap.add_argument("--show", choices=("none", "tdx", "all"), default="tdx",
                    help="list every warning of these groups (default: the TDX files only)")
    ap.add_argument("--show-info", action="store_true", help="also list info findings")
    ap.add_argument("--sample", type=int, default=0, help="print this many random warnings per group")
    ap.add_argument("--seed", type=int, default=24, help="seed of the sample")
    args = ap.parse_args()
    groups = tuple(g for g in args.groups.split(",") if g)
    tree = args.tree or fetch_tree()
    # Every rule runs, and only findings on the files count: a finding on the
    # changelog or subject would judge this script's made-up mail. (Rules
    # that read any file, such as changelog-typo in comments, count too.)
    code_rules = frozenset(r.id for r in all_rules())
    warn: dict[str, Counter] = defaultdict(Counter)
    info: dict[str, Counter] = defaultdict(Counter)
    lines_of: Counter = Counter()
    files_of: Counter = Counter()
    notes: list[str] = []
    found: dict[str, list[str]] = defaultdict(list)
    for group, rel in source_files(tree, groups):
        with open(os.path.join(tree, rel), encoding="utf-8", errors="surrogateescape") as fh:
            patch, n = whole_file_patch(rel, fh.read(), group)
        lines_of[group] += n
        files_of[group] += 1
        review = review_series(Series(title=rel, version=1, total=1, cover=None, patches=(patch,)),
                               Options(select=code_rules))
        for f in review.findings:
            if f.path is None:
                if f.rule in ("too-large-to-review", "out-of-time"):
                    notes.append(f"{rel}: {f.message}")
                continue
            text = f"{f.path}:{f.line}: {f.severity}: [{f.rule}] {f.message}"
            if f.source_text:
                text += f"\n    {f.source_text.strip()}"
            if f.severity == "info":
                info[group][f.rule] += 1
                if args.show_info and args.show in ("all", group):
                    print(text)
                continue
            warn[group][f.rule] += 1
            found[group].append(text)
            if args.show in ("all", group):
                print(text)
    for note in notes:
        print(f"not reviewed: {note}")
    for group in groups:
        total_lines = lines_of[group]
        print(f"\n[{group}] {files_of[group]} files, {total_lines} lines from {tree}")
        print(f"{'rule':<30} {'warn+err':>8} {'per 1k lines':>13} {'info':>6}")
        for rule in sorted(set(warn[group]) | set(info[group])):
            print(f"{rule:<30} {warn[group][rule]:>8} {warn[group][rule] * 1000 / max(total_lines, 1):>13.2f} "
                  f"{info[group][rule]:>6}")
        total = sum(warn[group].values())
        print(f"{'all rules':<30} {total:>8} {total * 1000 / max(total_lines, 1):>13.2f} "
              f"{sum(info[group].values()):>6}")
        if args.sample and found[group]:
            pick = random.Random(args.seed).sample(found[group], min(args.sample, len(found[group])))
            print(f"\nsample of {len(pick)} of the {len(found[group])} warnings in [{group}]:")
            for text in pick:
                print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
