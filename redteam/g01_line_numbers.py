"""G01/G02: `check` reports findings at their line in HEAD's tree, following
them through later commits with `git log -p -U0` (gitsource.LinesAtHead),
which reads '+++ b/PATH' lines. (a) an operator with `diff.noprefix=true`
(or a file name git quotes or writes with a trailing tab: a space or a
non-ASCII byte in a TDX file name) gets '+++ PATH' / '+++ "b/..."' and
every finding keeps its line at the commit: the text/SARIF location points
at another line of HEAD's file."""
import os, sys, json
sys.path.insert(0, os.path.dirname(__file__))
from gitrepo import Repo, TDX_DIR

BAD = "u64 f(void)\n{\n\tu64 ret = seamcall(TDH_SYS_X, &args);\n\tif (ret & TDX_SW_ERROR)\n\t\treturn ret;\n\treturn 0;\n}\n"

def case(name: str, fname: str, config: tuple = ()):
    r = Repo(name)
    path = f"{TDX_DIR}/{fname}"
    r.write(path, "// SPDX-License-Identifier: GPL-2.0\n#include <asm/tdx.h>\n")
    base = r.commit("x86/virt/tdx: Base")
    r.write(path, BAD, append=True)
    r.commit("x86/virt/tdx: Add f()")
    text = open(os.path.join(r.path, path)).read()
    r.write(path, "/* one */\n/* two */\n/* three */\n" + text)  # a later commit moves it down 3 lines
    r.commit("x86/virt/tdx: Add comments at the top")
    for k, v in config:
        r.git("config", k, v)
    res = r.check(base + "..HEAD", "--format", "json", "--select", "tdx-sw-error-mask")
    try:
        f = [x for x in json.loads(res[3])["findings"] if x["rule"] == "tdx-sw-error-mask"][0]
        line = f["line"]
        actual = open(os.path.join(r.path, path)).read().split("\n")[line - 1]
        verdict = "HELD" if "TDX_SW_ERROR" in actual else "BROKE"
        print(f"{name}: rc={res[2]} reported {f['path']}:{line} -> HEAD has {actual!r}: {verdict}")
    except Exception as e:
        print(name, "rc", res[2], res[4].decode()[-300:], e)

case("g01-control", "tdx.c")
case("g01-noprefix", "tdx.c", (("diff.noprefix", "true"),))
case("g02-space-name", "tdx seam.c")
case("g02-utf8-name", "tdx-caf\u00e9.c")
case("g01-mnemonic", "tdx.c", (("diff.mnemonicPrefix", "true"),))
case("g01-dstprefix", "tdx.c", (("diff.dstPrefix", "new/"),))
