"""W05: Eve answers Alice's cover with her own "[PATCH 1/1]" that touches
only Documentation/ (no finding, out of scope), archived before or after
Alice's real 1/1, in the same poll interval. Both are patch 1 of the
series; drafts grouped findings by patch number, so the reply to Eve
carried the review of Alice's code (tdx-unbounded-retry, ...). Expected:
Alice's 1/1 is answered once; the reply to Eve (if any) holds nothing
about Alice's code. usage: w05_duplicate_number.py before|after"""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from email.utils import formatdate
from lib import *
from pi import Box

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
ALICE = "Alice Example <alice@example.org>"
order = sys.argv[1] if len(sys.argv) > 1 else "before"
now = time.time()
box = Box("w05-" + order)
cover = mail("[PATCH 0/1] x86/virt/tdx: Shut down", "w05-0@example.org", "One patch.", author=ALICE, date=formatdate(now - 600))
real = mail("[PATCH 1/1] x86/virt/tdx: Shut down", "w05-1@example.org", patch_body("Shut.", diff(TDX_C, LOOP), ALICE),
            author=ALICE, date=formatdate(now - 600), extra="In-Reply-To: <w05-0@example.org>\nReferences: <w05-0@example.org>")
eve = mail("[PATCH 1/1] Documentation: fix a typo", "w05-eve@example.org",
           patch_body("Fix a typo.", diff("Documentation/a.txt", ["fixed"], ("a",), ("b",))), date=formatdate(now - 590),
           extra="In-Reply-To: <w05-0@example.org>\nReferences: <w05-0@example.org>")
for m in ([cover, eve, real] if order == "before" else [cover, real, eve]):
    box.deliver(m)
res = box.watch(first=True)
print(res[4].decode()[-900:])
got = [irt for irt, _ in box.summary()]
print("drafts:", got)
eve_body = "".join(str(m) for _, m in box.drafts() if "w05-eve" in str(m["In-Reply-To"]))
leaked = [r for r in ("tdx-unbounded-retry", "tdx-error-ignored") if r in eve_body]
ok = got.count("<w05-1@example.org>") == 1 and not leaked
print("VERDICT:", "held" if ok else f"BROKE (reply to Eve carries {leaked})")
