"""bot/facts/abi.py: the meaning of the TDX module data, and the leaves that
code names.

- the piecewise reader gives what json.load gives, entry by entry;
- Leaf: what a caller can get back (the dispatcher's statuses, its rewrite
  of TDX_OPERAND_BUSY_HOST_PRIORITY), how sure, and when "never" may be said;
- the leaf a call issues: leaf constants, version bits, tdh_*()/tdg_*()
  wrappers (by the kernel map, by name, by a longer name), wrappers the
  patch defines (and the leaf their callers hand them), macros;
- the leaves a tested value holds, along the assignments that reach it;
- the data file is read only when a question needs it.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tdxbot.facts import abi as abi_module
from tdxbot.facts.abi import AbiFacts, _Store, module_abi
from tdxbot.facts.c import Region
from tdxbot.facts.tdx import TdxFacts, TdxPatchFacts


def region_of(src: str) -> Region:
    lines = src.strip("\n").split("\n")
    return Region(lines, list(range(1, len(lines) + 1)), frozenset())


def facts_of(src: str) -> tuple[Region, AbiFacts]:
    region = region_of(src)
    return region, AbiFacts(TdxFacts(region, TdxPatchFacts([region])))


def call(region: Region, text: str):
    return next(c.node for c in region.calls() if region.text(c.node).startswith(text))


# ---- the data -----------------------------------------------------------------------


def test_piecewise_reading_agrees_with_json():
    store = _Store(abi_module.DATA_FILE)
    whole = json.loads(store.text)
    module = whole["module"]
    for section in ("leaves", "statuses", "operand_ids", "features"):
        for key, value in module[section].items():
            assert store.entry(("module", section), key) == value, (section, key)
        assert store.section(("module", section)) == module[section]
        assert store.entry(("module", section), "NO_SUCH_NAME") is None
    assert store.section(("module", "dispatcher")) == module["dispatcher"]
    assert store.section(("kernel", "callers")) == whole["kernel"]["callers"]
    assert store.entry(("module",), "source") == module["source"]


def test_leaves_and_numbers():
    abi = module_abi()
    assert abi.source == "TDX module 1.5.01"
    config = abi.leaf("TDH.SYS.CONFIG")
    assert config is abi.leaf("TDH_SYS_CONFIG") and config.number == 45 and config.kind == "host"
    assert abi.leaf_numbered("host", 45) is config
    assert abi.leaf_numbered("guest", 4).name == "TDG_MR_REPORT"
    # newer than the data: nothing to say
    assert abi.leaf("TDH_SYS_DISABLE") is None
    assert abi.leaf_numbered("host", 69) is None


def test_what_a_leaf_returns():
    abi = module_abi()
    config = abi.leaf("TDH_SYS_CONFIG")
    assert config.source("TDX_SYS_BUSY") == "direct" and config.surely_returns("TDX_SYS_BUSY")
    assert config.never_returns("TDX_OPERAND_BUSY")
    aug = abi.leaf("TDH_MEM_PAGE_AUG")
    # the SEPT lock helper, one call down
    assert aug.source("TDX_OPERAND_BUSY") == "helper" and aug.surely_returns("TDX_OPERAND_BUSY")
    assert aug.chain("TDX_OPERAND_BUSY") == ("sept_lock_acquire_host",)
    # the dispatcher's own checks apply to leaves that are not TDH.SYS.*
    assert aug.source("TDX_SYS_NOT_READY") == "dispatcher"
    assert config.source("TDX_SYS_NOT_READY") is None
    # only guests get the host-priority status, rewritten as TDX_OPERAND_BUSY
    assert not aug.returns("TDX_OPERAND_BUSY_HOST_PRIORITY")
    assert not aug.never_returns("TDX_OPERAND_BUSY_HOST_PRIORITY")
    report = abi.leaf("TDG_MR_REPORT")
    assert report.returns("TDX_OPERAND_BUSY") and not report.returns("TDX_OPERAND_BUSY_HOST_PRIORITY")
    # a guest leaf that takes no host-priority lock is not given the rewrite
    assert not abi.leaf("TDG_VP_INFO").returns("TDX_OPERAND_BUSY")


def test_when_never_may_be_said():
    abi = module_abi()
    assert abi.leaf("TDH_SYS_CONFIG").complete
    # a reached helper tree-sitter could not read
    assert not abi.leaf("TDH_MEM_SEPT_ADD").complete
    assert not abi.leaf("TDH_MEM_SEPT_ADD").never_returns("TDX_SYS_BUSY")
    # exits the data cannot list
    assert not abi.leaf("TDH_VP_ENTER").complete
    # a number with no handler in this module
    assert not abi.leaf("TDH_MEM_SEPT_WR").complete


def test_statuses_and_other_numbers():
    abi = module_abi()
    busy = abi.status("TDX_SYS_BUSY")
    assert busy.value == 0x8000020200000000 and busy.klass == 2 and busy.details == 2 and busy.error
    assert abi.status("TDX_SW_ERROR") is None and abi.status("TDX_SUCCESS") is None
    assert abi.status_valued(0x8000020000000092).name == "TDX_OPERAND_BUSY"
    nr = abi.status("TDX_NON_RECOVERABLE_TD")
    assert abi.accepts_value(nr, nr.value) and abi.accepts_value(nr, 0x4000000200000000)
    assert not abi.accepts_value(nr, 0x4000000300000000)
    assert abi.operand_id("TDX_OPERAND_ID_SEPT") == 0x92
    assert abi.feature_bit("TDX_FEATURES0_LOCAL_ATTESTATION") == 8
    config, tdmr = abi.leaf("TDH_SYS_CONFIG"), abi.leaf("TDH_SYS_TDMR_INIT")
    assert abi.instead_of([config], "TDX_OPERAND_BUSY") == ["TDX_SYS_BUSY"]
    assert abi.instead_of([tdmr], "TDX_SYS_BUSY") == ["TDX_OPERAND_BUSY"]


def test_wrappers_by_map_name_and_prefix():
    abi = module_abi()
    assert abi.wrapper("tdh_mem_page_aug").name == "TDH_MEM_PAGE_AUG"
    assert abi.wrapper("tdh_phymem_page_wbinvd_tdr").name == "TDH_PHYMEM_PAGE_WBINVD"
    assert abi.wrapper("tdg_vm_rd").name == "TDG_VM_RD"  # the kernel map
    assert abi.wrapper("tdh_sys_disable") is None
    assert abi.wrapper("tdh_mem") is None


# ---- code ------------------------------------------------------------------------------


def test_leaf_refs():
    region, facts = facts_of("""
#define TDH_VP_INIT_V1 (TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT))
#define tdh_do_no_vcpus(tdh_func, kvm, args...) ({ u64 __err = tdh_func(args); __err; })
#define tdx_call(fn, a) seamcall(fn, a)
static u64 tdh_mem_track(struct tdx_td *td) { return seamcall(TDH_MEM_TRACK, &args); }
static u64 sept_call(u64 op, struct tdx_module_args *in) { u64 err; err = seamcall_ret(op, in); return err; }
static u64 sept_add(void) { return sept_call(TDH_MEM_SEPT_ADD, &in); }
void f(void)
{
	a = seamcall(TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT), &args);
	b = seamcall(TDH_VP_INIT_V1, &args);
	c = sc_retry(__seamcall, TDH_SYS_RD, &args);
	d = sept_call(TDH_MEM_PAGE_AUG, &in);
	e = sept_add();
	g = tdh_do_no_vcpus(tdh_mem_track, kvm, &td);
	h = tdh_phymem_page_wbinvd_hkid(hkid, page);
	i = __tdcall(TDG_MR_REPORT, &args);
	j = tdx_call(TDH_SYS_INIT, &args);
	k = seamcall(fn, &args);
	l = kfree(p);
}
""")
    want = {"seamcall(TDH_VP_INIT |": "TDH_VP_INIT", "seamcall(TDH_VP_INIT_V1": "TDH_VP_INIT",
            "sc_retry(": "TDH_SYS_RD", "sept_call(TDH_MEM_PAGE_AUG": "TDH_MEM_PAGE_AUG",
            "sept_add()": "TDH_MEM_SEPT_ADD", "tdh_do_no_vcpus(": "TDH_MEM_TRACK",
            "tdh_phymem_page_wbinvd_hkid(": "tdh_phymem_page_wbinvd_hkid", "__tdcall(": "TDG_MR_REPORT",
            "tdx_call(TDH_SYS_INIT": "TDH_SYS_INIT", "seamcall(fn": None, "kfree(": None}
    for start, ref in want.items():
        assert facts.leaf_ref(call(region, start)) == ref, start
    assert facts.leaf_of(call(region, "tdh_phymem_page_wbinvd_hkid(")).name == "TDH_PHYMEM_PAGE_WBINVD"


def test_value_refs_follow_the_assignments_that_reach():
    region, facts = facts_of("""
u64 f(bool x)
{
	u64 a, b, c, d = 0;

	a = seamcall(TDH_SYS_INIT, &args);
	if (a == TDX_SYS_BUSY)
		return 1;
	if (x)
		b = seamcall(TDH_SYS_CONFIG, &args);
	else
		b = seamcall(TDH_SYS_INIT, &args);
	if (b == TDX_SYS_BUSY)
		return 2;
	c = seamcall(TDH_SYS_LP_INIT, &args);
	while (c == TDX_SYS_BUSY)
		c = seamcall(TDH_SYS_KEY_CONFIG, &args);
	if (x)
		d = seamcall(TDH_SYS_RD, &args);
	if (d == TDX_SYS_BUSY)
		return 3;
	return param == TDX_SYS_BUSY;
}
""")
    tests = {region.text(t.node): t.refs for t in facts.tests()}
    assert tests["a == TDX_SYS_BUSY"] == {"TDH_SYS_INIT"}
    # neither branch runs on every path: no dominating assignment, so unknown
    assert "b == TDX_SYS_BUSY" not in tests
    # the loop's own assignment reaches its condition on the next round
    assert tests["c == TDX_SYS_BUSY"] == {"TDH_SYS_LP_INIT", "TDH_SYS_KEY_CONFIG"}
    # `d = 0` (success) or TDH.SYS.RD's status: success is no leaf's, so TDH.SYS.RD
    assert tests["d == TDX_SYS_BUSY"] == {"TDH_SYS_RD"}
    assert "param == TDX_SYS_BUSY" not in tests


def test_switch_cases_are_tests():
    region, facts = facts_of("""
void f(void)
{
	err = tdh_phymem_cache_wb(resume);
	switch (err & TDX_SEAMCALL_STATUS_MASK) {
	case TDX_INTERRUPTED_RESUMABLE:
		break;
	}
}
""")
    (test,) = facts.tests()
    assert test.code == "TDX_INTERRUPTED_RESUMABLE" and test.refs == {"tdh_phymem_cache_wb"}


# ---- read when needed -----------------------------------------------------------------

_NO_LEAF_PATCH = """\
From: A <a@example.org>
Subject: [PATCH] x86/virt/tdx: Fix a comment
Message-ID: <x@example.org>

Fix the comment.

Signed-off-by: A <a@example.org>
---
diff --git a/arch/x86/virt/vmx/tdx/tdx.c b/arch/x86/virt/vmx/tdx/tdx.c
--- a/arch/x86/virt/vmx/tdx/tdx.c
+++ b/arch/x86/virt/vmx/tdx/tdx.c
@@ -10,3 +10,4 @@ static int foo(void)
 {
 	int x = 1;
+	/* Count the CPUs. */
 	return x;
-- 
2.53.0
"""


@pytest.mark.parametrize("patch, read", [(_NO_LEAF_PATCH, False),
                                         (_NO_LEAF_PATCH.replace("/* Count the CPUs. */",
                                                                 "x = seamcall(TDH_SYS_CONFIG, &args);"), True)])
def test_data_read_only_when_needed(patch, read):
    """b4-check on a patch that names no leaf never opens the data file."""
    code = ("import sys, tdxbot.facts.abi as a, tdxbot.cli as c\n"
            "sys.stdin = __import__('io').TextIOWrapper(__import__('io').BytesIO(sys.argv[1].encode()))\n"
            "try:\n    c.main(['b4-check'])\nexcept SystemExit:\n    pass\n"
            "print('READ' if a._ABI is not None else 'UNREAD', file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code, patch], capture_output=True, text=True, cwd="/")
    assert out.stderr.strip().endswith("READ" if read else "UNREAD"), out.stderr
