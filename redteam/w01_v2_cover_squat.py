"""W01: a list member squats the next version of someone else's series.
Alice posts [PATCH] (v1). Eve answers it with a '[PATCH v2 0/1]' cover
and a harmless '[PATCH v2 1/1]' (out of scope) in Alice's thread. Later
Alice posts her real '[PATCH v2]' (no cover, --in-reply-to v1, as many
do), with a finding. b4 puts Eve's cover over Alice's v2; the series
key is the cover's Message-ID + version, already decided: Alice's v2 is
never answered."""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from email.utils import formatdate
from lib import *
from pi import Box

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
ALICE = "Alice Example <alice@example.org>"
now = time.time()
box = Box("w01")
v1 = mail("[PATCH] x86/virt/tdx: Shut down the module", "a-v1@example.org",
          patch_body("Shut it down.", diff(TDX_C, LOOP), ALICE), author=ALICE, date=formatdate(now - 600))
box.deliver(v1)
print("pass 1", box.watch(first=True)[2], box.summary())
e0 = mail("[PATCH v2 0/1] x86/virt/tdx: Shut down the module", "e-v2-0@example.org",
          "Here is v2.\n\nEve Example (1):\n  Documentation: fix a typo\n\n Documentation/a.txt | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n",
          extra="In-Reply-To: <a-v1@example.org>\nReferences: <a-v1@example.org>", date=formatdate(now - 500))
e1 = mail("[PATCH v2 1/1] Documentation: fix a typo", "e-v2-1@example.org",
          patch_body("Fix a typo.", diff("Documentation/a.txt", ["fixed"], ("a",), ("b",))),
          extra="In-Reply-To: <e-v2-0@example.org>\nReferences: <a-v1@example.org> <e-v2-0@example.org>",
          date=formatdate(now - 500))
box.deliver(e0); box.deliver(e1)
print("pass 2", box.watch()[2], box.summary())
v2 = mail("[PATCH v2] x86/virt/tdx: Shut down the module", "a-v2@example.org",
          patch_body("Shut it down.\n\nChanges in v2:\n- reworded", diff(TDX_C, LOOP), ALICE), author=ALICE,
          extra="In-Reply-To: <a-v1@example.org>\nReferences: <a-v1@example.org>", date=formatdate(now - 60))
box.deliver(v2)
res = box.watch()
report("w01-v2-cover-squat", res)
print("drafts:", box.summary())
print(box.status()[3].decode())
ok = any("a-v2@example.org" in irt for irt, _ in box.summary())
print("ALICE V2 ANSWERED" if ok else "ALICE V2 NEVER ANSWERED")
