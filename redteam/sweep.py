"""Sweep: for each shape, build a one-patch mail at n and 2n, time every
rule alone (in-process, budget lifted), and print the rules whose time grows
more than ~3x when n doubles (superlinear)."""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import mail, patch_body, diff, TDX_C
from tdxbot.mail.sources import parse_message
from tdxbot.mail.parse import patch_from_message
from tdxbot.lint.engine import all_rules, check_patch, Options, review_series
from tdxbot.lint import limits
from tdxbot.mail.model import Series
limits.RULE_SECONDS = 1000

def chain_calls(n):
    out = []
    for i in range(n):
        out += [f"static int f{i}(void)", "{", f"\treturn f{i-1}();" if i else "\treturn 0;", "}", ""]
    return out, "Add helpers."

def define_chain(n):
    return [f"#define TDX_C{i} (TDX_C{i-1} + 1ULL)" if i else "#define TDX_C0 0x8000020000000000ULL" for i in range(n)], "Add codes."

def big_function(n):
    body = ["static int big(void)", "{", "\tu64 err;", ""]
    for i in range(n):
        body += [f"\terr = seamcall(TDH_SYS_{i % 50}, &args);"]
    body += ["\treturn 0;", "}"]
    return body, "Add big."

def status_checks(n):
    body = ["static int big(void)", "{", "\tu64 err;", ""]
    for i in range(n):
        body += [f"\terr = seamcall(TDH_SYS_{i % 50}, &args);", f"\tif (err == TDX_OPERAND_BUSY)", "\t\treturn -EBUSY;"]
    body += ["\treturn 0;", "}"]
    return body, "Add checks."

def many_vars(n):
    body = ["static int big(void)", "{"] + [f"\tu64 err{i};" for i in range(n)] + [""]
    for i in range(n):
        body += [f"\terr{i} = seamcall(TDH_SYS_X, &args);"]
    body += ["\treturn 0;", "}"]
    return body, "Add vars."

def loops(n):
    body = ["static int big(void)", "{", "\tu64 err;"]
    for i in range(min(n, 990)):
        body += ["\tdo {", "\t\terr = seamcall(TDH_SYS_SHUTDOWN, &args);"] + ["\t\tx++;"] * (n // 100) + ["\t} while (err == TDX_SYS_BUSY);"]
    return body + ["\treturn 0;", "}"], "Add loops."

def comments_locks(n):
    body = []
    for i in range(n):
        body += ["/*", f" * Must be called with the tdx_lock{i % 7} held.", " */", f"static void g{i}(void)", "{", "\tx();", "}", ""]
    return body, "Add locked helpers."

def init_funcs(n):
    body = []
    for i in range(n):
        body += [f"static int __init i{i}(void)", "{", f"\treturn i{i-1}();" if i else "\treturn 0;", "}",
                 f"static int r{i}(void)", "{", f"\treturn i{i}();", "}"]
    return body, "Add init."

def pr_errs(n):
    body = ["static void log(void)", "{"] + [f'\tpr_err("TDX module word{i} failed at stage {i}: %d\\n", ret);' for i in range(n)] + ["}"]
    chl = "Log it.\n\nThe log shows:\n\n" + "\n".join(f"  virt/tdx: TDX module word{i} failed stage {i} at" for i in range(n // 4))
    return body, chl

def comments_loops(n):
    body = ["static int big(void)", "{", "\tu64 err;"]
    for i in range(min(n, 990)):
        body += ["\t/* Don't loop forever. */", "\twhile (seamcall(TDH_X, &a) == TDX_SYS_BUSY)", "\t\tcpu_relax();"]
    return body + ["}"], "Loops."

def exports(n):
    body = []
    for i in range(n):
        body += [f"int e{i}(void)", "{", "\treturn 0;", "}", f"EXPORT_SYMBOL_FOR_KVM(e{i});" if i % 2 else f"EXPORT_SYMBOL_GPL(e{i});"]
    return body, "Export."

def stubs(n):
    body = []
    for i in range(n):
        body += [f"int tdx_s{i}(void);"]
    return body, "Add declarations."

def ifdefs(n):
    body = []
    for i in range(n):
        body += ["#ifdef CONFIG_INTEL_TDX_HOST", f"int tdx_s{i}(void);", "#else", "#endif"]
    return body, "Ifdefs."

def decls(n):
    body = []
    for i in range(n // 10):
        body += [f"static int d{i}(void)", "{"] + [f"\tint v{j}{'x' * j};" for j in range(10)] + ["\treturn 0;", "}"]
    return body, "Decls."

def changelog_words(n):
    chl = "Add it.\n\n" + "\n".join("The tdx_sys_disable function is called by tdx_sys_enable and x86_foo_bar here." for _ in range(n // 10))
    body = [f"int tdx_f{i}(void) {{ return 0; }}" for i in range(n // 10)]
    return body, chl

def leaf_names(n):
    body = ["static void x(void)", "{"] + [f"\tseamcall(TDH_MNG_KEY_CONFIG{i}, &args);" for i in range(n)] + ["}"]
    return body, "Leaves."

def errno_defines(n):
    return [f"#define TDX_ERR_{i}\t0x{0x8000020000000000 + (i << 32):016X}" for i in range(n)], "Codes."

def nested_ifs(n):
    body = ["static int x(void)", "{", "\tu64 err = seamcall(TDH_X, &a);"]
    d = 90
    for i in range(n // d):
        body += ["\t" + "if (err) {" * 1 for _ in range(d)] + ["\t\terr = seamcall(TDH_Y, &a);"] + ["\t}" for _ in range(d)]
    return body + ["\treturn err;", "}"], "Nest."

SHAPES = {k: v for k, v in globals().items() if callable(v) and k not in ("mail", "patch_body", "diff", "time_rules", "main", "build", "check_patch", "patch_from_message", "parse_message", "all_rules", "review_series", "Options", "Series")}

def build(shape, n):
    lines, chl = SHAPES[shape](n)
    return mail("[PATCH] x86/virt/tdx: Shape", "s@example.org", patch_body(chl, diff(TDX_C, lines))).encode()

def time_rules(raw):
    patch = patch_from_message(parse_message(raw, "x"))
    if limits.too_large(patch):
        return None, limits.too_large(patch)
    out = {}
    for r in all_rules():
        t = time.monotonic()
        if r.kind == "series":
            review_series(Series("t", 1, 1, None, (patch,)), Options(select=frozenset([r.id])))
        else:
            check_patch(patch, Options(select=frozenset([r.id])))
        out[r.id] = time.monotonic() - t
    return out, None

def main():
    shapes = sys.argv[2:] or list(SHAPES)
    n = int(sys.argv[1])
    for s in shapes:
        a, why = time_rules(build(s, n))
        b, why2 = time_rules(build(s, 2 * n))
        if a is None or b is None:
            print(f"{s}: too large ({why or why2})"); continue
        worst = sorted(((b[k], a[k], k) for k in a), reverse=True)[:3]
        flag = [f"{k} {ta:.2f}->{tb:.2f}s" for tb, ta, k in worst if tb > 0.05]
        print(f"{s:18s} " + "; ".join(flag), flush=True)

if __name__ == "__main__":
    main()
