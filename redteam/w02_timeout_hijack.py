"""W02: a hostile list member silences the responder for someone else's
series. Alice posts [PATCH 0/2], 1/2, 2/2 (with findings). In the same
poll interval Eve answers Alice's cover with her own "[PATCH 2/2]" whose
added code is 3000 'err = seamcall(...)' lines in one function (126 KB,
under every size bound): tdx-error-ignored runs out of its 10 s budget.
The responder skips a series with any rule out of time, so Alice's
patches get no reply. Expected: Eve's mail costs at most the reply to
Eve's mail; Alice's 1/2 (and her 2/2 if b4 keeps it) are answered.
Run with 'before' (Eve's 2/2 archived before Alice's) or 'after'."""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from email.utils import formatdate
from lib import *
from pi import Box

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
SLOW = ["static int f(void)", "{", "\tu64 err;"] + ["\terr = seamcall(TDH_SYS_LP_INIT, &args);"] * 3000 + \
       ["\treturn 0;", "}"]
ALICE = "Alice Example <alice@example.org>"
order = sys.argv[1] if len(sys.argv) > 1 else "before"
now = time.time()
box = Box("w02-" + order)
cover = mail("[PATCH 0/2] x86/virt/tdx: Shut down", "a-0@example.org", "Two patches.", author=ALICE,
             date=formatdate(now - 600))
p = [mail(f"[PATCH {i}/2] x86/virt/tdx: Part {i}", f"a-{i}@example.org",
          patch_body(f"Part {i}.", diff(TDX_C, LOOP), ALICE), author=ALICE, date=formatdate(now - 600),
          extra="In-Reply-To: <a-0@example.org>\nReferences: <a-0@example.org>") for i in (1, 2)]
eve = mail("[PATCH 2/2] x86/virt/tdx: Part 2", "eve-2@example.org",
           patch_body("Part 2, better.", diff(TDX_C, SLOW)), date=formatdate(now - 550),
           extra="In-Reply-To: <a-0@example.org>\nReferences: <a-0@example.org>")
mails = [cover, p[0], eve, p[1]] if order == "before" else [cover, p[0], p[1], eve]
for m in mails:
    box.deliver(m)
res = box.watch(first=True)
report(f"w02-timeout-hijack-{order}", res)
print(res[4].decode()[-1500:])
answered = [irt for irt, _ in box.summary()]
print("drafts:", answered)
ok = any("a-1@example.org" in a for a in answered)
print("VERDICT:", "held" if ok else "BROKE (Alice's series got no reply)")
