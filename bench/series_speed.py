"""Rules cost: review a generated 100-patch series with every rule and
compare with parsing it alone (mail + unidiff). Prints ratios.

    python bench/series_speed.py [--patches 100] [--repeat 9]

Medians of interleaved rounds, and the range of the per-round ratios.

The series is built from the project's own material: the bundled example
series and every rule's hit and near-miss cases, renumbered into one thread,
so the rules see realistic TDX code, comments and changelogs.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time


from tdxbot.lint.engine import all_rules, review_series  # noqa: E402
from tdxbot.lint.cases import case_mail  # noqa: E402
from tdxbot.mail.assembly import assemble
from tdxbot.mail.sources import parse_message, split_mbox  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def patch_bodies() -> list[bytes]:
    """Raw patch mails to draw from: the example series and the rule cases."""
    with open(os.path.join(ROOT, "fixtures", "example-series.mbox"), "rb") as fh:
        example = [m for m in split_mbox(fh.read()) if b"diff --git" in m]
    cases = [case_mail(c) for r in all_rules() for c in
             list(getattr(r.module, "INVALID", [])) + list(getattr(r.module, "VALID", []))
             if hasattr(c, "code")]  # one-patch cases (a series rule's cases are whole series)
    return example + cases


def make_series(n: int) -> bytes:
    """An mbox of a cover letter plus n patches, threaded like b4 sends them."""
    pool = patch_bodies()
    cover_id = "bench-0@example.org"
    out = [_mail(f"[PATCH v1 0/{n}] x86/virt/tdx: Benchmark series", cover_id, None,
                 b"A generated series.\n")]
    for i in range(1, n + 1):
        raw = pool[(i - 1) % len(pool)]
        body = raw.split(b"\n\n", 1)[1]
        out.append(_mail(f"[PATCH v1 {i}/{n}] x86/virt/tdx: Part {i}", f"bench-{i}@example.org",
                         cover_id, body))
    return b"".join(b"From nobody Mon Sep 14 09:00:00 2026\n" + m + b"\n" for m in out)


def _mail(subject: str, msgid: str, parent: str | None, body: bytes) -> bytes:
    head = ["From: Alice Example <alice@example.org>", "To: x86@kernel.org",
            "Date: Mon, 14 Sep 2026 09:00:00 +0200", f"Subject: {subject}", f"Message-ID: <{msgid}>"]
    if parent:
        head += [f"In-Reply-To: <{parent}>", f"References: <{parent}>"]
    return ("\n".join(head) + "\n\n").encode() + body


def parse_only(data: bytes):
    from tdxbot.mail.parse import patch_from_message

    return [patch_from_message(parse_message(raw, "bench"), "bench") for raw in split_mbox(data)]


def parse_and_rules(data: bytes):
    """Parse, then every rule; the series is taken in mail order (no b4)."""
    from tdxbot.mail.model import Series

    patches = [p for p in parse_only(data) if p.files]
    return review_series(Series(title="bench", version=1, total=len(patches), cover=None,
                                patches=tuple(patches)))


def full_review(data: bytes):
    """What 'tdxbot review' does: parse, assemble with b4, run every rule."""
    series = assemble([parse_message(raw, "bench") for raw in split_mbox(data)], None, "bench")
    return review_series(series)


def once(fn, data: bytes) -> float:
    t0 = time.perf_counter()
    fn(data)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    data = make_series(args.patches)
    full_review(data)  # warm imports and the tree-sitter parser
    # Rounds interleave the three cases, since the machine's speed drifts;
    # each ratio is taken within its round.
    rounds = [(once(parse_only, data), once(parse_and_rules, data), once(full_review, data))
              for _ in range(args.repeat)]
    parse_t, rules_t, review_t = (statistics.median(r[k] for r in rounds) for k in range(3))
    rule_ratios = sorted(r[1] / r[0] for r in rounds)
    review_ratios = sorted(r[2] / r[0] for r in rounds)
    review = full_review(data)
    lines = data.count(b"\n")
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"{os.cpu_count()} cpus")
    print(f"series: {args.patches} patches, {len(data)} bytes, {lines} lines, "
          f"{len(review.findings)} findings from {len(all_rules())} rules")
    print(f"{'case':<34} {'median s':>9}")
    print(f"{'parse only (mail + unidiff)':<34} {parse_t:>9.3f}")
    print(f"{'parse + all rules':<34} {rules_t:>9.3f}")
    print(f"{'full review (b4 assembly + rules)':<34} {review_t:>9.3f}")
    ratio = statistics.median(rule_ratios)
    print(f"ratio (parse + rules)/parse: {ratio:.2f}x (rounds {rule_ratios[0]:.2f}-{rule_ratios[-1]:.2f}; "
          f"goal: at most 3x) -> {'ok' if ratio <= 3 else 'MISSED'}")
    print(f"ratio full review/parse: {statistics.median(review_ratios):.2f}x "
          f"(rounds {review_ratios[0]:.2f}-{review_ratios[-1]:.2f}; b4's LoreMailbox series "
          "assembly is most of the difference)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
