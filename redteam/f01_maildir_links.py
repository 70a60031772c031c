"""F01: a maildir (as handed over in a tarball) whose entries are a FIFO,
a symlink to a FIFO, a symlink to /dev/zero, a symlink to a file outside
(~/.ssh-like secret), a dangling symlink, a sub-folder and a socket,
beside one real patch mail. Expected: `review MAILDIR` neither stalls nor
reads the secret into its output or drafts; the patch is reviewed."""
import os, shutil, socket, subprocess, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
md = os.path.join(OUT, "f01-maildir")
shutil.rmtree(md, ignore_errors=True)
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(md, sub))
secret = os.path.join(OUT, "f01-secret")
with open(secret, "w") as fh:
    fh.write("From: Root <root@example.org>\nSubject: [PATCH] x86/virt/tdx: SECRET-KEY-MATERIAL\n\n"
             "SECRET-KEY-MATERIAL\n---\n" + diff(TDX_C, ["int SECRET_KEY_MATERIAL;"]) + "\n")
with open(os.path.join(md, "new", "1.patch:2,"), "w") as fh:
    fh.write(mail("[PATCH] x86/virt/tdx: Shut down", "f01@example.org", patch_body("Shut it.", diff(TDX_C, LOOP))))
os.mkfifo(os.path.join(md, "new", "2.fifo:2,"))
os.mkfifo(os.path.join(OUT, "f01-fifo")) if not os.path.exists(os.path.join(OUT, "f01-fifo")) else None
os.symlink(os.path.join(OUT, "f01-fifo"), os.path.join(md, "new", "3.tofifo:2,"))
os.symlink("/dev/zero", os.path.join(md, "cur", "4.zero:2,S"))
os.symlink(secret, os.path.join(md, "cur", "5.secret:2,S"))
os.symlink("/nonexistent/x", os.path.join(md, "cur", "6.dangling:2,S"))
os.makedirs(os.path.join(md, "cur", "7.dir"))
s = socket.socket(socket.AF_UNIX); s.bind(os.path.join(md, "cur", "8.sock"))
drafts = os.path.join(OUT, "f01-drafts")
shutil.rmtree(drafts, ignore_errors=True)
res = run(TDXBOT + ["review", md, "--drafts", drafts, "--from", "B <b@example.org>"], cap=60)
out = res[3].decode() + res[4].decode()
leak = "SECRET" in out or any("SECRET" in open(os.path.join(drafts, f)).read() for f in os.listdir(drafts)) \
    if os.path.isdir(drafts) else "SECRET" in out
print("rc", res[2], f"{res[0]:.1f}s"); print(out[-1500:])
# Maildirs of symlinks are a normal thing (`mu find --format=links`, notmuch
# searches), so a link to a regular file is read; only a target that parses
# as a patch mail shows up. FIFOs, devices, sockets and dangling links must
# be skipped without a stall.
print("VERDICT:", "BROKE (stalled)" if res[2] is None else
      "held (no stall; a link to a regular file is read, by design" + (", and it was)" if leak else ")"))
