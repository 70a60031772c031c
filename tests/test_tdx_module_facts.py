"""bot/facts/tdx_module.json: facts about the TDX module's ABI, made by
tools/tdx_module_facts.py from Intel's public module source.

The fast tests check the file's shape and a handful of facts read by hand
in the module source (TDX 1.5.01). The slow test fetches Debian's
linux-source-6.12, reads its TDX headers on its own (a few regexes and a
small evaluator, not the tool's tree-sitter code) and checks that every
leaf number and status code the kernel defines agrees with the module data,
apart from the differences listed below with their reasons.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "bot" / "facts" / "tdx_module.json"
TOOL = ROOT / "tools" / "tdx_module_facts.py"


def load_tool():
    if "tdx_module_facts" in sys.modules:
        return sys.modules["tdx_module_facts"]
    spec = importlib.util.spec_from_file_location("tdx_module_facts", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["tdx_module_facts"] = module   # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def facts():
    return json.loads(FACTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def module(facts):
    return facts["module"]


# ---------------------------------------------------------------------------
# Shape

def test_file_is_canonical_and_small():
    text = FACTS.read_text(encoding="utf-8")
    # the tool writes sorted keys, one-space indent and a final newline:
    # the same data always gives the same bytes
    assert json.dumps(json.loads(text), sort_keys=True, indent=1, ensure_ascii=True) + "\n" == text
    assert len(text.encode()) < 1_000_000


def test_records_the_module_commit(facts, module):
    assert facts["schema"] == 1
    source = module["source"]
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert source["commit"] == "72d8cffb214b74ae94d75afce36423020f74b47c"
    assert "TDX_1.5.01" in source["tags"]
    assert source["repository"] == "https://github.com/intel/tdx-module"
    assert not source.get("dirty")


def test_leaves_have_the_expected_fields(module):
    leaves = module["leaves"]
    assert len(leaves) > 80
    statuses = module["statuses"]
    for name, leaf in leaves.items():
        assert name.startswith(("TDH_", "TDG_")) and not name.endswith("_LEAF")
        assert leaf["kind"] == ("host" if name.startswith("TDH_") else "guest")
        assert isinstance(leaf["number"], int)
        assert leaf["spec_name"] == name.replace("_", ".")
        if leaf["handler"] is None:
            continue
        assert leaf["handler_file"].startswith("src/")
        for key in ("direct", "all", "local_helpers"):
            assert leaf[key] == sorted(leaf[key])
        returned = set(leaf["direct"]) | set(leaf["via_helper"])
        returned |= set(leaf.get("via_td_exit", {})) | set(leaf.get("via_l2_exit", {}))
        assert set(leaf["all"]) == returned
        assert "TDX_SUCCESS" not in returned and "UNINITIALIZE_ERROR" not in returned
        assert returned <= set(statuses)
        for chain in leaf["via_helper"].values():
            assert chain and all(isinstance(f, str) and f for f in chain)
    # numbers are unique within each kind
    for kind in ("host", "guest"):
        numbers = [v["number"] for v in leaves.values() if v["kind"] == kind]
        assert len(numbers) == len(set(numbers))


def test_status_bits_agree_with_values(module):
    for name, item in module["statuses"].items():
        value = int(item["value"], 16)
        assert item["value"] == "0x%016X" % value
        assert item["class"] == (value >> 40) & 0xFF
        assert item["error"] == bool(value >> 63)
        assert item["non_recoverable"] == bool((value >> 62) & 1)
        assert item["kernel_name"] in (name if name.startswith("TDX_") else None, None)


# ---------------------------------------------------------------------------
# Facts read by hand in the module source

def test_leaf_numbers(module):
    leaves = module["leaves"]
    assert leaves["TDH_MNG_CREATE"]["number"] == 9
    assert leaves["TDH_SYS_INIT"]["number"] == 33
    assert leaves["TDH_MEM_PAGE_AUG"]["number"] == 6
    assert leaves["TDG_VP_INFO"]["number"] == 1
    assert leaves["TDG_MEM_PAGE_ACCEPT"]["number"] == 6
    # the module spells this one without the _LEAF suffix
    assert leaves["TDH_MEM_PAGE_RELOCATE"]["module_name"] == "TDH_MEM_PAGE_RELOCATE"
    assert leaves["TDH_MNG_CREATE"]["module_name"] == "TDH_MNG_CREATE_LEAF"
    assert module["leaf_encoding"]["leaf"] == {"low": 0, "high": 15}
    assert module["leaf_encoding"]["version"] == {"low": 16, "high": 23}


def test_status_values(module):
    busy = module["statuses"]["TDX_OPERAND_BUSY"]
    assert busy["value"] == "0x8000020000000000"
    assert (busy["class"], busy["error"], busy["non_recoverable"]) == (2, True, False)
    # a success-class warning: bit 63 clear, yet not TDX_SUCCESS
    assert module["statuses"]["TDX_KEY_CONFIGURED"]["error"] is False
    assert module["statuses"]["TDX_NON_RECOVERABLE_VCPU"]["non_recoverable"] is True
    assert module["operand_ids"]["OPERAND_ID_RCX"] == 1


def test_busy_through_a_lock_helper(module):
    aug = module["leaves"]["TDH_MEM_PAGE_AUG"]
    assert aug["handler"] == "tdh_mem_page_aug"
    # tdh_mem_page_aug() turns a failed SEPT-entry lock into its result
    assert aug["via_helper"]["TDX_OPERAND_BUSY"][-1] == "sept_lock_acquire_host"
    assert "TDX_EPT_ENTRY_STATE_INCORRECT" in aug["direct"]
    assert "TDX_EPT_WALK_FAILED" in aug["via_helper"]


def test_direct_statuses(module):
    leaves = module["leaves"]
    # global-lock contention is reported as TDX_SYS_BUSY by the TDH.SYS.* leaves
    assert "TDX_SYS_BUSY" in leaves["TDH_SYS_CONFIG"]["direct"]
    assert "TDX_SYS_CONFIG_NOT_PENDING" in leaves["TDH_SYS_CONFIG"]["direct"]
    assert {"TDX_INTERRUPTED_RESUMABLE", "TDX_NO_HKID_READY_TO_WBCACHE",
            "TDX_WBCACHE_RESUME_ERROR"} <= set(leaves["TDH_PHYMEM_CACHE_WB"]["direct"])
    assert "TDX_KEY_CONFIGURED" in leaves["TDH_MNG_KEY_CONFIG"]["direct"]
    assert leaves["TDH_MNG_KEY_CONFIG"]["via_helper"]["TDX_KEY_GENERATION_FAILED"] == ["program_mktme_keys"]
    assert "TDX_RND_NO_ENTROPY" in leaves["TDH_MNG_CREATE"]["direct"]
    assert "TDX_PREVIOUS_TLB_EPOCH_BUSY" in leaves["TDH_MEM_TRACK"]["direct"]
    # written through a pointer by a file-local helper whose result is only tested
    assert "TDX_INVALID_PAGE_MAC" in leaves["TDH_IMPORT_MEM"]["direct"]
    # kept for old VMMs: they only ever return TDX_SUCCESS
    assert leaves["TDH_MNG_KEY_RECLAIMID"]["all"] == []
    assert leaves["TDH_SYS_LP_SHUTDOWN"]["all"] == []
    # a default that every path overwrites is not a result
    assert leaves["TDG_VP_INFO"]["all"] == []


def test_thin_wrappers_count_their_file_helpers(module):
    vp_rd = module["leaves"]["TDG_VP_RD"]
    assert vp_rd["local_helpers"] == ["tdg_vp_rd_wr"]
    assert "TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT" in vp_rd["direct"]


def test_dispatcher(module):
    host = module["dispatcher"]["host"]
    assert host["function"] == "tdx_vmm_dispatcher"
    assert set(host["statuses"]) == {"TDX_OPERAND_INVALID", "TDX_SYS_NOT_READY", "TDX_SYS_SHUTDOWN"}
    not_ready = [c for c in host["checks"] if c["status"] == "TDX_SYS_NOT_READY"]
    assert len(not_ready) == 1 and "TDH_SYS_INIT" in not_ready[0]["except"]
    assert "TDH_MNG_CREATE" not in not_ready[0]["except"]
    assert host["versioned_leaves"] == ["TDH_MEM_PAGE_PROMOTE", "TDH_MEM_SEPT_ADD",
                                        "TDH_MEM_SEPT_REMOVE", "TDH_MNG_RD", "TDH_VP_RD"]
    guest = module["dispatcher"]["guest"]
    assert guest["function"] == "td_call"
    assert {"from": "TDX_OPERAND_BUSY_HOST_PRIORITY", "to": "TDX_OPERAND_BUSY"} in guest["translations"]
    leaves = module["leaves"]
    assert leaves["TDH_VP_RD"]["max_version"] == 1
    assert leaves["TDH_MNG_CREATE"]["max_version"] == 0
    # TDH.MEM.SEPT.WR has a number but no case in the 1.5.01 dispatcher
    assert leaves["TDH_MEM_SEPT_WR"]["handler"] is None


def test_td_exit_statuses(module):
    enter = module["leaves"]["TDH_VP_ENTER"]
    wrong_apic = enter["via_td_exit"]["TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE"]
    assert "tdx_td_l1_l2_dispatcher_common_prologue" in wrong_apic
    assert "TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE" in enter["all"]
    report = module["leaves"]["TDG_MR_REPORT"]
    assert "TDX_NON_RECOVERABLE_TD_CORRUPTED_MD" in report["td_exit"]
    assert "TDX_NON_RECOVERABLE_TD_CORRUPTED_MD" not in report["all"]


def test_unread_functions(module):
    leaves = module["leaves"]
    # every leaf with a handler says which reached functions tree-sitter could not read
    assert all("unread" in v for v in leaves.values() if v["handler"])
    assert "process_l2_pages" in leaves["TDH_MEM_SEPT_ADD"]["unread"]
    assert leaves["TDH_SYS_CONFIG"]["unread"] == []
    # few: the rest of the data is complete as far as this reading goes
    assert sum(1 for v in leaves.values() if v.get("unread")) <= 5


def test_abi_accepts_the_known_kernel_values():
    """facts/abi.py accepts the kernel values listed below as known
    differences (and no others)."""
    from tdxbot.facts.abi import KERNEL_VALUES

    listed = {name: int(pair[0], 16) for name, pair in KNOWN_STATUS_DIFFERENCES.items() if pair}
    assert KERNEL_VALUES == listed


def test_feature_gate(module):
    gate = module["leaves"]["TDG_MR_VERIFYREPORT"]["feature_gate"]
    assert gate["bit"] == 8 and gate["feature"] == "TDX_FEATURES0.LOCAL_ATTESTATION"
    assert gate["status_if_absent"] == ["TDX_OPERAND_INVALID"]
    assert module["features"]["TDX_FEATURES0_NO_RBP_MOD"]["bit"] == 18
    gated = [k for k, v in module["leaves"].items() if "feature_gate" in v]
    assert gated == ["TDG_MR_VERIFYREPORT"]


# ---------------------------------------------------------------------------
# The tool's kernel reader on a made-up tree (fast)

def test_kernel_reader_on_a_small_tree(tmp_path):
    tool = load_tool()
    (tmp_path / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 99\nSUBLEVEL = 1\nEXTRAVERSION =\n")
    asm = tmp_path / "arch/x86/include/asm"
    (asm / "shared").mkdir(parents=True)
    (asm / "trapnr.h").write_text("#define X86_TRAP_GP\t\t13\n")
    (asm / "tdx.h").write_text(
        "#define TDX_ERROR\t\t_BITUL(63)\n"
        "#define TDX_SW_ERROR\t\t(TDX_ERROR | GENMASK_ULL(47, 40))\n"
        "#define TDX_SEAMCALL_GP\t\t(TDX_SW_ERROR | X86_TRAP_GP)\n"
        "#define TDX_SUCCESS\t0ULL\n#define TDX_PS_4K 0\n#define TDX_OPERAND_ID_RCX 0x01\n"
        "#define TDH_VP_INIT\t22 /* a comment */\n#define TDX_VERSION_SHIFT 16\n"
        "#define TDX_FEATURES0_NO_RBP_MOD BIT(18)\n#define TDH_FUNNY(x) (x)\n")
    virt = tmp_path / "arch/x86/virt/vmx/tdx"
    virt.mkdir(parents=True)
    (virt / "tdx.c").write_text(
        "u64 tdh_vp_init(struct tdx_vp *vp)\n{\n\tstruct tdx_module_args args = {};\n"
        "\treturn seamcall(TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT), &args);\n}\n")
    got = tool.kernel_facts(str(tmp_path), None)
    assert got["version"] == "6.99.1"
    assert got["status_defines"]["TDX_SEAMCALL_GP"]["value"] == "0x8000FF000000000D"
    assert got["status_defines"]["TDX_SUCCESS"]["value"] == "0x0000000000000000"
    assert "TDX_PS_4K" not in got["status_defines"]
    assert got["leaf_defines"] == {"TDH_VP_INIT": {"file": "arch/x86/include/asm/tdx.h", "value": 22}}
    assert got["operand_id_defines"]["TDX_OPERAND_ID_RCX"]["value"] == 1
    assert got["feature_defines"]["TDX_FEATURES0_NO_RBP_MOD"]["value"] == 1 << 18
    assert got["callers"] == {"TDH_VP_INIT": ["tdh_vp_init"]}


def test_preprocess_reads_a_release_build():
    tool = load_tool()
    src = (b"int a;\n#ifdef DEBUGFEATURE_TDX_DBG_TRACE\nint debug_only;\n#else\nint release;\n#endif\n"
           b"#if (MAX_X > 1)\nint many;\n#endif\n"
           b"_STATIC_INLINE_ int f(void) { IF_RARE (a) return 1; return 0; }\n")
    out = tool.preprocess(src, {"MAX_X": 1})
    assert b"debug_only" not in out and b"int release;" in out and b"many" not in out
    assert b"static inline int f" in out and b"if (a)" in out
    assert out.count(b"\n") == src.count(b"\n")


# ---------------------------------------------------------------------------
# The kernel's headers against the module data (slow: downloads a kernel)

# The headers the kernel keeps TDX leaf numbers and status codes in (those
# that do not exist in a given tree are skipped).
KERNEL_HEADERS = (
    "arch/x86/include/asm/tdx.h",
    "arch/x86/include/asm/shared/tdx.h",
    "arch/x86/virt/vmx/tdx/tdx.h",
    "arch/x86/include/asm/shared/tdx_errno.h",
    "arch/x86/kvm/vmx/tdx_errno.h",
    "arch/x86/kvm/vmx/tdx_arch.h",
)

# Kernel defines that are expected to differ from the module data, with why.
# A value of None: the module has no such status at all. A pair: the kernel
# value and the module value, which differ.
KNOWN_STATUS_DIFFERENCES = {
    # Bit masks the kernel tests statuses with, not statuses.
    "TDX_ERROR": None,                    # bit 63; the module names it "error" in api_error_code_t
    "TDX_NON_RECOVERABLE": None,          # bit 62 (newer kernels)
    "TDX_SEAMCALL_STATUS_MASK": None,     # bits 63:32 (KVM, 6.16 on)
    "TDX_STATUS_MASK": None,              # its later name
    # Software-defined codes in the class (0xFF) the TDX architecture leaves
    # to software: the kernel makes them up when SEAMCALL itself fails.
    "TDX_SW_ERROR": None,
    "TDX_SEAMCALL_VMFAILINVALID": None,
    "TDX_SEAMCALL_GP": None,
    "TDX_SEAMCALL_UD": None,
    # Newer kernels (KVM's tdx_errno.h, later asm/shared/tdx_errno.h) write
    # these without bits the 1.5.01 module sets: the module's value for
    # TDX_NON_RECOVERABLE_TD also has bit 61 ("fatal"), the one for
    # TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE also has bit 63 ("error").
    # Not in linux-source-6.12; listed for newer trees.
    "TDX_NON_RECOVERABLE_TD": ("0x4000000200000000", "0x6000000200000000"),
    "TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE": ("0x6000000700000000", "0xE000000700000000"),
}
KNOWN_LEAF_DIFFERENCES = {
    # Leaves of kernel series newer than the public 1.5.01 module source,
    # which has no leaf with these numbers.
    "TDH_SYS_DISABLE": None,          # 69, TDH.SYS.DISABLE (kexec series)
    "TDH_PHYMEM_PAMT_ADD": None,      # 58, Dynamic PAMT
    "TDH_PHYMEM_PAMT_REMOVE": None,   # 59, Dynamic PAMT
    "TDH_EXT_MEM_ADD": None,          # 61
}
# Kernel operand-ID names that differ from the module's OPERAND_ID_* names.
OPERAND_ALIASES = {"TDX_OPERAND_ID_SEPT": "OPERAND_ID_SEPT_TREE"}

_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?!\()[ \t]+(.+?)[ \t]*$", re.M)


def kernel_defines(tree: Path) -> dict[str, tuple[str, str]]:
    """name -> (value text, header) for the object-like #defines of the
    kernel's TDX headers and of asm/trapnr.h."""
    out = {}
    for rel in KERNEL_HEADERS + ("arch/x86/include/asm/trapnr.h",):
        path = tree / rel
        if not path.is_file():
            continue
        src = path.read_text(encoding="utf-8", errors="replace")
        src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
        src = re.sub(r"//[^\n]*", "", src).replace("\\\n", " ")
        for name, value in _DEFINE.findall(src):
            out.setdefault(name, (value.strip(), rel))
    return out


def evaluate(name: str, defines: dict, seen=()) -> int | None:
    """The value of a define, by rewriting the kernel's bit helpers as
    Python and evaluating the arithmetic; None when that is not possible."""
    if name not in defines or name in seen:
        return None
    text = defines[name][0]
    for _ in range(4):   # helpers may nest
        text = re.sub(r"\bGENMASK(?:_ULL)?\(\s*(\w+)\s*,\s*(\w+)\s*\)",
                      r"(((1 << ((\1) - (\2) + 1)) - 1) << (\2))", text)
        text = re.sub(r"\b(?:_BITULL|_BITUL|BIT_ULL|BIT)\(\s*(\w+)\s*\)", r"(1 << (\1))", text)
        text = re.sub(r"\b(?:_ULL|_UL)\(\s*(\w+)\s*\)", r"(\1)", text)
    text = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", text)
    values = {}
    for word in set(re.findall(r"\b[A-Za-z_]\w*\b", text)):
        v = evaluate(word, defines, seen + (name,))
        if v is None:
            return None
        values[word] = v
    if not re.fullmatch(r"[\w\s()|&^~<>+\-*]*", text):
        return None
    try:
        return eval(text, {"__builtins__": {}}, values) & ((1 << 64) - 1)
    except Exception:
        return None


@pytest.fixture(scope="module")
def kernel_tree():
    """linux-source-6.12's TDX files: from the installed package's tarball
    (/usr/src/linux-source-6.12.tar.xz), else downloaded with apt-get;
    skipped when neither can be had."""
    if not list(Path("/usr/src").glob("linux-source-6.12.tar.*")):
        for tool_name in ("apt-get", "dpkg-deb"):
            if shutil.which(tool_name) is None:
                pytest.skip(f"neither /usr/src/linux-source-6.12.tar.xz nor {tool_name} to fetch it")
    tool = load_tool()
    try:
        return Path(tool.fetch_kernel())
    except (subprocess.CalledProcessError, OSError, IndexError) as exc:
        pytest.skip(f"could not download linux-source-6.12 with apt-get: {exc}")


@pytest.mark.slow
def test_kernel_headers_agree_with_the_module(kernel_tree, module):
    defines = kernel_defines(kernel_tree)
    assert defines, "no TDX header found in the kernel tree"
    leaves = module["leaves"]
    statuses = module["statuses"]
    problems, checked = [], {"leaf": 0, "status": 0, "operand": 0, "feature": 0}
    for name, (text, rel) in sorted(defines.items()):
        if rel.endswith("trapnr.h"):
            continue
        value = evaluate(name, defines)
        if name.startswith(("TDH_", "TDG_")):
            if value is None:
                problems.append(f"{name} ({rel}): cannot evaluate {text!r}")
                continue
            checked["leaf"] += 1
            kind = "host" if name.startswith("TDH_") else "guest"
            leaf = leaves.get(name)
            if name in KNOWN_LEAF_DIFFERENCES:
                assert leaf is None, f"{name} is now in the module data: drop it from the known differences"
                assert not any(v["number"] == value and v["kind"] == kind for v in leaves.values())
            elif leaf is None:
                problems.append(f"{name} = {value} ({rel}): no such leaf in the module")
            elif leaf["number"] != value or leaf["kind"] != kind:
                problems.append(f"{name} = {value} ({rel}): the module says {leaf['number']}")
        elif name.startswith("TDX_OPERAND_ID_") and value is not None:
            checked["operand"] += 1
            mname = OPERAND_ALIASES.get(name, "OPERAND_ID_" + name[len("TDX_OPERAND_ID_"):])
            if module["operand_ids"].get(mname) != value:
                problems.append(f"{name} = {value:#x} ({rel}): module {mname} = "
                                f"{module['operand_ids'].get(mname)}")
        elif name.startswith("TDX_FEATURES0_") and value is not None:
            checked["feature"] += 1
            feature = module["features"].get(name)
            if feature is None or 1 << feature["bit"] != value:
                problems.append(f"{name} = {value:#x} ({rel}): module says {feature}")
        elif name == "TDX_VERSION_SHIFT":
            if value != module["leaf_encoding"]["version"]["low"]:
                problems.append(f"TDX_VERSION_SHIFT = {value}: the module's version field starts elsewhere")
        elif name.startswith("TDX_") and value is not None and (value >> 32 or name == "TDX_SUCCESS"):
            checked["status"] += 1
            hexed = "0x%016X" % value
            mine = statuses.get(name)
            if name in KNOWN_STATUS_DIFFERENCES:
                expected = KNOWN_STATUS_DIFFERENCES[name]
                if expected is None:
                    assert mine is None, f"{name} is now a module status: drop it from the known differences"
                else:
                    assert (hexed, mine and mine["value"]) == expected, f"{name} no longer differs as listed"
            elif mine is None:
                problems.append(f"{name} = {hexed} ({rel}): no such status in the module")
            elif mine["value"] != hexed:
                problems.append(f"{name} = {hexed} ({rel}): the module says {mine['value']}")
    assert not problems, "\n".join(problems)
    # linux-source-6.12 defines 14 leaves and a handful of statuses
    assert checked["leaf"] >= 10 and checked["status"] >= 2, checked


@pytest.mark.slow
def test_kernel_section_is_read_from_linux_source(kernel_tree, facts):
    """The data's kernel section (leaf and status defines, the leaf->kernel
    function map) is what the tool reads from linux-source-6.12 now, and
    each leaf a 6.12 function issues is one the module data has."""
    got = load_tool().kernel_facts(str(kernel_tree), facts["kernel"]["source"])
    want = facts["kernel"]
    if got["version"] != want["version"]:
        pytest.skip(f"linux-source-6.12 is now {got['version']}; the data was read from {want['version']}")
    for key in ("leaf_defines", "status_defines", "callers", "feature_defines", "operand_id_defines"):
        assert got[key] == want[key], key
    leaves = facts["module"]["leaves"]
    assert set(want["callers"]) <= set(leaves)
    # The kernel issues at least the host bring-up leaves and the guest's.
    assert {"TDH_SYS_INIT", "TDH_SYS_CONFIG", "TDG_VP_INFO", "TDG_MR_REPORT"} <= set(want["callers"])
