"""G10: a work tree whose folder name holds U+2028 (or U+0085, or a newline).
`git rev-parse --show-toplevel` prints it as it is; if tdxbot splits that
output with str.splitlines(), the root it uses is cut at the separator, and
`check --fix` writes into a *different* repository next to it (here
out/g10/linux, the operator's real tree). Expected: the fix lands in the
checked repository only; the neighbour is untouched."""
import os, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(__file__))
from gitrepo import Repo, TDX_DIR
from lib import OUT, TDXBOT, run

BAD = "u64 foo(void)\n{\n\tu64 ret = seamcall(TDH_SYS_X, &args);\n\n\tif (ret & TDX_SW_ERROR)\n\t\treturn ret;\n\treturn 0;\n}\n"
head = "// SPDX-License-Identifier: GPL-2.0\n#include <asm/tdx.h>\n\n"
ok = True
for sep, label in (("\u2028", "U+2028"), ("\x85", "U+0085"), ("\n", "LF"), ("\x1c", "FS")):
    base = os.path.join(OUT, "g10-" + label)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    # the operator's real tree, next door
    victim = Repo("g10-victim-" + label)
    victim.write(f"{TDX_DIR}/tdx.c", head)
    victim.commit("x86/virt/tdx: Base")
    victim.write(f"{TDX_DIR}/tdx.c", head + BAD)
    victim.commit("x86/virt/tdx: Add foo()")
    os.rename(victim.path, os.path.join(base, "linux"))
    victim.path = os.path.join(base, "linux")
    r = Repo("g10-evil-" + label)
    r.write(f"{TDX_DIR}/tdx.c", head)
    r.commit("x86/virt/tdx: Base")
    r.write(f"{TDX_DIR}/tdx.c", head + BAD)
    r.commit("x86/virt/tdx: Add foo()")
    evil = os.path.join(base, "linux" + sep + "evil")
    os.rename(r.path, evil)
    r.path = evil
    before = open(os.path.join(victim.path, TDX_DIR, "tdx.c")).read()
    res = r.check("HEAD^!", "--fix", "--select", "tdx-sw-error-mask")
    after = open(os.path.join(victim.path, TDX_DIR, "tdx.c")).read()
    mine = r.git("diff", "--stat")
    assert r.git("rev-parse", "--show-toplevel") == evil
    print(label, "rc", res[2], "stderr:", res[4].decode()[-300:].strip())
    print("  stdout tail:", res[3].decode()[-300:].strip())
    print("  victim changed:", before != after, "| own tree diff:", mine or "(none)")
    ok &= before == after
print("VERDICT:", "held" if ok else "BROKE")
