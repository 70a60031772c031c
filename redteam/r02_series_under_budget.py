"""R02: the rule budget is per rule and per patch, not per review. A series
of N patches, each shaped like R01 but sized to keep tdx-move-and-change
just under RULE_SECONDS (~1500 removed files x 20000 new #defines), costs
N x ~8 s with no out-of-time note; `review` and the responder stall."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
from r01_move_many_files import build

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
files = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
added = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
one = build(files, added).decode()
mails = []
for i in range(1, n + 1):
    m = one.replace("[PATCH] x86/virt/tdx: Move defines", f"[PATCH {i}/{n}] x86/virt/tdx: Move defines {i}")
    m = m.replace("<r01@example.org>", f"<r02-{i}@example.org>\nIn-Reply-To: <r02-1@example.org>\nReferences: <r02-1@example.org>" if i > 1 else "<r02-1@example.org>")
    m = m.replace("NEW_NAME_", f"NEW{i}_NAME_").replace("OLD_NAME_", f"OLD{i}_NAME_")
    mails.append(m)
path = write(f"r02-{n}.mbox", mbox(*mails))
print(path, os.path.getsize(path))
res = run(TDXBOT + ["review", path, "--format", "json"], cap=900)
import json
try:
    findings = json.loads(res[3])["findings"]
    oot = [f for f in findings if f["rule"] == "out-of-time"]
except Exception:
    oot = "?"
report(f"r02-series-{n}x{files}x{added}", res[:3] + (b"", res[4]), note=f"out-of-time notes: {oot}")
