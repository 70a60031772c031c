"""W04: a hostile reply merges two unrelated threads. Alice posts
"[PATCH] A" and Bob posts "[PATCH] B" (each a thread of its own, both
with findings). In the same poll interval Eve posts a plain reply whose
References names both patches. If the watcher joins threads by any id a
mail names, the two patches are one thread; b4 then sees two v1 patches
numbered 1/1 and may keep only one. Expected: both patches answered,
once each. usage: w04_thread_merge.py [order: refs|irt2]"""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from email.utils import formatdate
from lib import *
from pi import Box

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
mode = sys.argv[1] if len(sys.argv) > 1 else "refs"
now = time.time()
box = Box("w04-" + mode)
box.deliver(mail("[PATCH] x86/virt/tdx: Patch A", "w04-a@example.org", patch_body("A.", diff(TDX_C, LOOP)),
                 author="Alice <alice@example.org>", date=formatdate(now - 300)))
box.deliver(mail("[PATCH] x86/virt/tdx: Patch B", "w04-b@example.org", patch_body("B.", diff(TDX_C, LOOP)),
                 author="Bob <bob@example.org>", date=formatdate(now - 290)))
if mode == "refs":
    hdr = "In-Reply-To: <w04-a@example.org>\nReferences: <w04-b@example.org> <w04-a@example.org>"
else:
    hdr = "In-Reply-To: <w04-b@example.org>\nReferences: <w04-a@example.org>"
box.deliver(mail("Re: [PATCH] x86/virt/tdx: Patch A", "w04-eve@example.org", "> quoted\n\nMe too.", date=formatdate(now - 280),
                 extra=hdr))
# a second Eve trick: a "[PATCH] ..." cover-less v1 1/1 re-post into A's thread
res = box.watch(first=True)
print(res[4].decode()[-1200:])
got = [irt for irt, _ in box.summary()]
print("drafts:", got)
ok = "<w04-a@example.org>" in got and "<w04-b@example.org>" in got and len(got) == len(set(got))
print("VERDICT:", "held" if ok else "BROKE")
