"""Time each rule alone on one patch mail (the cost of the facts it asks
for included): python ruletime.py MAIL [RULE...]."""
import sys, time, os
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tdxbot.mail.sources import parse_message
from tdxbot.mail.parse import patch_from_message
from tdxbot.lint.engine import all_rules, check_patch, Options
from tdxbot.lint import limits

def main():
    if os.environ.get("BUDGET"): limits.RULE_SECONDS = float(os.environ["BUDGET"])
    raw = open(sys.argv[1], "rb").read()
    t0 = time.monotonic()
    patch = patch_from_message(parse_message(raw, "x"))
    print(f"parse {time.monotonic() - t0:.2f}s  too_large={limits.too_large(patch)}")
    rules = sys.argv[2:] or [r.id for r in all_rules() if r.kind != "series"]
    tot = 0
    for rid in rules:
        t = time.monotonic()
        f = check_patch(patch, Options(select=frozenset([rid])))
        dt = time.monotonic() - t
        tot += dt
        oot = [x for x in f if x.rule == "out-of-time"]
        if dt > 0.3 or oot:
            print(f"{rid:34s} {dt:7.2f}s findings={len(f)}{' OUT-OF-TIME' if oot else ''}")
    print(f"total {tot:.2f}s")

main()
