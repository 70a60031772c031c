"""W03: SIGKILL `watch --once --drafts` at many points of a pass (reading,
deciding, drafting), then let a last pass finish. Five series (one of
them two patches), with findings. Expected: every patch with findings
answered exactly once (one draft each, no duplicates), none skipped."""
import os, random, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from email.utils import formatdate
from lib import *
from pi import Box, SENDER

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
box = Box("w03")
now = time.time()
want = []
for s in range(5):
    if s == 2:
        box.deliver(mail("[PATCH 0/2] x86/virt/tdx: Two", "w03-2-0@example.org", "Two.", date=formatdate(now - 300)))
        for i in (1, 2):
            box.deliver(mail(f"[PATCH {i}/2] x86/virt/tdx: Part {i}", f"w03-2-{i}@example.org",
                             patch_body("Part.", diff(TDX_C, LOOP)), date=formatdate(now - 300),
                             extra="In-Reply-To: <w03-2-0@example.org>\nReferences: <w03-2-0@example.org>"))
            want.append(f"<w03-2-{i}@example.org>")
    else:
        box.deliver(mail(f"[PATCH] x86/virt/tdx: Series {s}", f"w03-{s}@example.org",
                         patch_body("Shut.", diff(TDX_C, LOOP)), date=formatdate(now - 300)))
        want.append(f"<w03-{s}@example.org>")
args = TDXBOT + ["watch", "--inbox", box.inbox.inbox_dir, "--state", os.path.join(box.home, "state.sqlite3"),
                 "--from", SENDER, "--settle", "0", "--drafts", box.maildir, "--once"]
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
kills = 0
for attempt in range(14):
    a = args + ["--backlog"]  # applies to a first run only, as from cron
    p = subprocess.Popen(a, env=box.env(), cwd=box.home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    delay = random.uniform(0.3, 2.5)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
res = box.watch(first=True)
got = [irt for irt, _ in box.summary()]
print("kills:", kills, "final rc:", res[2])
print(res[4].decode()[-800:])
dups = sorted({g for g in got if got.count(g) > 1})
missing = [w for w in want if w not in got]
print("drafts:", sorted(got))
print("VERDICT:", "held" if not dups and not missing else f"BROKE dups={dups} missing={missing}")
print(box.status()[3].decode()[-800:])
