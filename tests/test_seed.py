"""The thread the project started from: the bot must make Kiryl's two
"add a new line here" remarks, in the same places."""
import email
import json
from email import policy

from conftest import run_cli

SEED_PATCH = "tdh-sys-disable-v2-3.mbox"
SEED_THREAD = "tdh-sys-disable-v2-3-thread.mbox"
PATCH_MSGID = "20260323-fuller_tdx_kexec_support-v2-3-87a36409e051@intel.com"
COVER_MSGID = "20260323-fuller_tdx_kexec_support-v2-0-87a36409e051@intel.com"


def _review_json(path, *extra):
    res = run_cli("review", path, "--format", "json", *extra)
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout), res


def test_seed_comment_list_spacing_at_both_marked_places(seeds):
    report, res = _review_json(seeds / SEED_PATCH)
    spots = sorted((f["path"], f["line"]) for f in report["findings"] if f["rule"] == "comment-list-spacing")
    assert spots == [("arch/x86/virt/vmx/tdx/tdx.c", 1951), ("arch/x86/virt/vmx/tdx/tdx.c", 1953)]
    assert res.returncode == 1
    assert report["series"][0]["patches"][0]["message_id"] == PATCH_MSGID


def test_seed_draft_places_comments_under_the_marked_lines(seeds, tmp_path):
    res = run_cli("review", seeds / SEED_PATCH, "--drafts", tmp_path,
                  "--from", "Rita Reviewer <rita@example.org>")
    assert res.returncode == 1, res.stderr
    (draft,) = list(tmp_path.iterdir())
    msg = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
    assert msg["In-Reply-To"] == f"<{PATCH_MSGID}>"
    assert msg["References"].split() == [f"<{COVER_MSGID}>", f"<{PATCH_MSGID}>"]
    assert msg["Subject"] == "Re: [PATCH v2 3/5] x86/virt/tdx: Add SEAMCALL wrapper for TDH.SYS.DISABLE"
    assert "vishal.l.verma@intel.com" in msg["To"]
    assert "x86@kernel.org" in msg["Cc"] and "kai.huang@intel.com" in msg["Cc"]
    assert msg["From"] == "Rita Reviewer <rita@example.org>"
    assert msg["Message-ID"] and msg["Date"]
    body = msg.get_content().split("\n")
    assert body[0].startswith("On Mon, 23 Mar 2026 14:59:06 -0600, Vishal Verma")
    first = body.index("> +\t * Don't loop forever.")
    second = body.index("> +\t *    calls.")
    assert second > first
    below_first = body[first + 1:second]
    assert below_first[0] == ""
    # Both points on this line stand below it, each a paragraph of its own
    # (two points run together read as one muddled paragraph).
    points = [" ".join(p.split("\n")) for p in "\n".join(below_first[1:]).strip().split("\n\n")]
    assert points[0].endswith("[comment-contradicts-code]"), points
    assert "Nit: add an empty ' *' line here" in points[1] and points[1].endswith("[comment-list-spacing]")
    below_second = body[second + 1:]
    assert below_second[0] == ""
    assert below_second[1] == "And here. [comment-list-spacing]"
    # Trimmed: the changelog and the other files are not quoted.
    assert not any("Some early TDX-capable platforms" in ln for ln in body)
    assert not any("tdx_errno.h" in ln for ln in body)
    assert "> [...]" in body
    for ln in body:
        if not ln.startswith(">") and not ln.startswith("On "):
            assert len(ln) <= 72, ln


def test_seed_thread_points_already_made_are_marked_not_repeated(seeds, tmp_path):
    report, res = _review_json(seeds / SEED_THREAD)
    spacing = [f for f in report["findings"] if f["rule"] == "comment-list-spacing"]
    assert len(spacing) == 2 and all(f["already_raised"] for f in spacing)
    # The reviewer's reply is context, never a patch.
    assert [p["index"] for p in report["series"][0]["patches"]] == [3]
    assert report["series"][0]["missing"] == [1, 2, 4, 5]
    run = run_cli("review", seeds / SEED_THREAD, "--drafts", tmp_path, "--from", "R <r@example.org>",
                  "--select", "comment-list-spacing")
    assert run.returncode == 1
    assert list(tmp_path.iterdir()) == []  # nothing left to say


def test_seed_thread_hides_only_the_points_on_the_humans_topic(seeds, tmp_path):
    """Kiryl's "Add a new line here." under the line that opens the comment
    is about spacing; the same line's loop-bound finding is another point
    and stays in the draft."""
    report, _ = _review_json(seeds / SEED_THREAD)
    on_line = {f["rule"]: f["already_raised"] for f in report["findings"]
               if f["path"] == "arch/x86/virt/vmx/tdx/tdx.c" and f["line"] == 1951}
    assert on_line == {"comment-list-spacing": True, "comment-contradicts-code": False}
    run = run_cli("review", seeds / SEED_THREAD, "--drafts", tmp_path, "--from", "R <r@example.org>")
    assert run.returncode == 1
    (draft,) = list(tmp_path.iterdir())
    body = email.message_from_bytes(draft.read_bytes(), policy=policy.default).get_content()
    assert "[comment-contradicts-code]" in body
    assert "[comment-list-spacing]" not in body and "And here." not in body


def test_seed_thread_gets_no_finding_from_the_changelog_rules(seeds):
    """The seed's changelog says what the patch does in imperative mood ("So
    loop infinitely ..."), names its functions as the tip tree wants, and
    has no typo. Its one "we" ("so we can expect to complete") sits in the
    story of the problem, not in the statement of the change, and nobody in
    the thread raised it: on a tip patch changelog-voice leaves it alone
    (issue 24)."""
    report, _ = _review_json(seeds / SEED_THREAD)
    rules = {f["rule"] for f in report["findings"]}
    assert not rules & {"changelog-says-what", "changelog-imperative", "changelog-typo", "changelog-passive",
                        "changelog-voice", "changelog-final-period", "function-parens", "tag-order",
                        "reported-by-link", "tag-chain", "changelog-log-mismatch", "cover-placeholder"}


def test_seed_draft_shows_the_blank_line_as_the_fix(seeds, tmp_path):
    """On the patch alone, the draft answers "Don't loop forever." the way a
    reviewer does: the point, then "Something like:" and the ' *' line."""
    res = run_cli("review", seeds / SEED_PATCH, "--drafts", tmp_path,
                  "--from", "Rita Reviewer <rita@example.org>")
    assert res.returncode == 1, res.stderr
    (draft,) = list(tmp_path.iterdir())
    body = email.message_from_bytes(draft.read_bytes(), policy=policy.default).get_content().split("\n")
    first = body.index("> +\t * Don't loop forever.")
    second = body.index("> +\t *    calls.")
    below = body[first + 1:second]
    at = below.index("Something like:")
    assert below[at + 1:at + 5] == ["", " \t * Don't loop forever.", "+\t *",
                                    " \t *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between"]
    assert "Something like:" not in body[second:], "the repeat says 'And here.' and no more"
