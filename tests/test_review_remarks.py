"""The pieces behind the changelog, tag and process rules: codespell's
dictionary as the typo rule reads it, topic-aware "already raised", one
comment per point in drafts, and a cover letter git itself wrote."""
import email
import json
import os
import subprocess
import sys
from email import policy

import pytest
from conftest import run_cli

from tdxbot.lint.engine import mark_already_raised
from tdxbot.facts.prose import on_topic, sentences, statement_mood, topic_terms
from tdxbot.mail import Series, remarks_in
from tdxbot.lint.findings import Finding
from tdxbot.output.drafts import quote_body
from tdxbot.lint.cases import Case, case_patch
from tdxbot.rules import _codespell


# -- codespell -------------------------------------------------------------

def test_the_installed_dictionary_is_sorted_the_way_the_lookup_needs():
    lines = [ln for ln in _codespell._data().split(b"\n") if ln]
    keys = [ln.lower() for ln in lines]
    assert len(lines) > 30000
    assert keys == sorted(keys), "codespell changed its order; rules/_codespell.py bisects on it"


def test_every_entry_is_found_by_the_binary_search():
    lines = [ln for ln in _codespell._data().decode("utf-8").split("\n") if ln]
    for line in lines[::97] + [lines[0], lines[-1]]:
        word, fix = line.split("->", 1)
        assert _codespell.entry(word.lower()) is not None, word
    assert _codespell.entry("seamcall") is None and _codespell.entry("the") is None
    assert _codespell.entry("zzzzzz") is None and _codespell.entry("0") is None


def test_the_block_search_finds_what_a_full_table_holds():
    """Every word of the dictionary, and near misses of each, against a
    dict built from all its lines."""
    table = {}
    for line in _codespell._data().decode("utf-8").split("\n"):
        if "->" in line:
            word, fix = line.split("->", 1)
            table.setdefault(word.lower(), fix.strip())
    assert len(table) > 30000
    assert all(_codespell.entry(word) == fix for word, fix in table.items())
    misses = [w + "q" for w in list(table)[::7]] + [w[:-1] for w in list(table)[::11]] + ["", "a", "\xff" * 3]
    assert all(_codespell.entry(w) == table.get(w) for w in misses)


def test_corrections_skip_entries_codespell_will_not_fix_itself(monkeypatch):
    assert _codespell.correction("recieve") == "receive"
    assert _codespell.correction("migratin") == "migrating or migration"
    # dictionary.txt has no entry with a reason today; its siblings do.
    small = b"clas->class, disabled because of name clash in c++\nrecieve->receive\n"
    monkeypatch.setattr(_codespell, "_DATA", small)
    _codespell.correction.cache_clear()
    try:
        assert _codespell.correction("clas") is None
        assert _codespell.correction("recieve") == "receive"
    finally:
        _codespell.correction.cache_clear()


def test_the_rules_load_without_reading_the_dictionary():
    code = ("import sys\nfrom tdxbot.lint.engine import all_rules\nall_rules()\n"
            "from tdxbot.rules import _codespell\n"
            "assert _codespell._DATA is None\n"
            "assert 'codespell_lib' not in sys.modules\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


# -- sentences --------------------------------------------------------------

@pytest.mark.parametrize("sentence,mood", [
    ("So loop infinitely on either of these error codes, until success or other error.", "imperative"),
    ("Since this clears any poison, remove the X86_BUG_TDX_PW_MCE check.", "imperative"),
    ("The kernel only supports module upgrades, so simply request the highest version.", None),
    ("The helper is only used by KVM, so move it to tdx.c.", "imperative"),
    ("Adds tdx_sys_shutdown() for kexec.", "inflected"),
    ("Replacing a running module starts with taking the old one down.", None),
    ("This patch adds a wrapper.", "descriptive"),
    ("We add a wrapper for the leaf.", "descriptive"),
    ("With the poison scrubbed, the X86_BUG_TDX_PW_MCE check can be dropped.", "passive"),
    ("The page is freed when the TD is torn down.", None),
    ("To address this, tdx_enc_status_change() should use __pa() where it can.", "modal"),
    ("Outside the direct map the pages need not be contiguous.", None),
])
def test_how_a_sentence_states_the_change(sentence, mood):
    assert statement_mood(sentence) == mood


def test_sentences_keep_the_line_they_start_on():
    lines = list(enumerate(["First one. Second", "one goes on.", "", "- a bullet", "- another"]))
    assert list(sentences(lines)) == [(0, "First one."), (0, "Second one goes on."), (3, "a bullet"),
                                (4, "another")]


# -- topic-aware "already raised" -----------------------------------------------

def _finding(rule, message, line=1951, text="+\t * Don't loop forever."):
    return Finding(rule=rule, severity="warning", message=message, patch_index=3, message_id="p3",
                   path="arch/x86/virt/vmx/tdx/tdx.c", line=line, source_text=text)


def _series_with_reply(*body):
    patch = case_patch(Case())
    reply = patch._replace(message_id="r1", in_reply_to="p3", body_lines=tuple(body), files=())
    return Series(title="t", version=1, total=1, cover=None, patches=(patch,),
                  remarks=tuple(remarks_in(reply)))


def test_a_comment_hides_only_findings_on_its_topic():
    spacing = _finding("comment-list-spacing", "no empty ' *' line between the sentence and the list")
    loop = _finding("comment-contradicts-code", "comment claims a bound but the loop has none")
    series = _series_with_reply("On Mon, Vishal wrote:", "> +\t * Don't loop forever.", "",
                                "Nit: Add a new line here.", "")
    marked = {f.rule: f.already_raised for f in mark_already_raised([spacing, loop], series)}
    assert marked == {"comment-list-spacing": True, "comment-contradicts-code": False}
    series = _series_with_reply("> +\t * Don't loop forever.", "This loops forever, though.")
    marked = {f.rule: f.already_raised for f in mark_already_raised([spacing, loop], series)}
    assert marked == {"comment-list-spacing": False, "comment-contradicts-code": True}


def test_and_here_carries_the_comment_before_it():
    first = _finding("comment-list-spacing", "no empty ' *' line between the sentence and the list")
    second = _finding("comment-list-spacing", "no empty ' *' line between multi-line list items",
                      line=1953, text="+\t *    calls.")
    series = _series_with_reply("> +\t * Don't loop forever.", "", "Nit: Add a new line here.", "",
                                "> +\t *    calls.", "", "And here.")
    assert all(f.already_raised for f in mark_already_raised([first, second], series))


def test_a_rules_own_topics_come_before_its_words():
    terms = topic_terms("changelog-typo", "possible misspelling: succesfully -> successfully",
                        ("typo", "spelling"))
    assert on_topic("s/succesfully/successfully/, a typo", terms)
    assert not on_topic("Please add a Closes: tag", terms)


# -- one comment per point -------------------------------------------------------

def test_repeats_say_and_here_and_points_on_one_line_are_paragraphs():
    patch = case_patch(Case(code="int a;\nint b;\nint c;\nint d;\nint e;\nint f;\nint g;\nint h;"))
    path = "arch/x86/virt/vmx/tdx/tdx.c"

    def at(line, rule, comment, severity="warning"):
        return Finding(rule=rule, severity=severity, message="m", patch_index=1, message_id="case",
                       path=path, line=line, comment=comment)

    findings = [at(100, "rule-a", "Point A."), at(100, "rule-b", "Point B.", "error"),
                at(101, "rule-c", "Point C."), at(107, "rule-a", "Point A.")]
    body = quote_body(patch, findings)
    text = "\n".join(body)
    assert "Point B. [rule-b]\n\nPoint A. [rule-a]" in text, text  # a paragraph each, the weightiest first
    assert text.count("Point A.") == 1 and "And here. [rule-a]" in text
    assert body.index("And here. [rule-a]") > body.index("> +int h;")


# -- cover letters as git writes them ----------------------------------------------

def test_an_unedited_git_cover_letter_is_flagged_and_answered(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")

    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path / "linux", env=env, check=True,
                              capture_output=True, text=True).stdout

    (tmp_path / "linux").mkdir()
    git("init", "-q", "-b", "master")
    git("config", "user.name", "Nadia Okafor")
    git("config", "user.email", "nadia@example.com")
    tdx = tmp_path / "linux" / "arch/x86/virt/vmx/tdx/tdx.c"
    tdx.parent.mkdir(parents=True)
    tdx.write_text("int tdx_a;\n")
    git("add", "-A")
    git("commit", "-q", "-m", "Initial tree")
    for n in (1, 2):
        tdx.write_text(tdx.read_text() + f"int tdx_part{n};\n")
        git("commit", "-q", "-am", f"x86/virt/tdx: Add part {n}\n\nAdd part {n} of the thing.\n\n"
            "Signed-off-by: Nadia Okafor <nadia@example.com>")
    mbox = git("format-patch", "--cover-letter", "--stdout", "-2", "--thread")
    assert "*** SUBJECT HERE ***" in mbox
    (tmp_path / "series.mbox").write_text(mbox)
    res = run_cli("review", tmp_path / "series.mbox", "--format", "json")
    found = [f for f in json.loads(res.stdout)["findings"] if f["rule"] == "cover-placeholder"]
    assert len(found) == 1 and "SUBJECT HERE" in found[0]["message"] and "BLURB HERE" in found[0]["message"]
    drafts = tmp_path / "drafts"
    run_cli("review", tmp_path / "series.mbox", "--drafts", drafts, "--from", "R <r@example.org>")
    (cover,) = [p for p in drafts.iterdir() if p.name.startswith("v1-0000")]
    body = email.message_from_bytes(cover.read_bytes(), policy=policy.default).get_content()
    assert "[cover-placeholder]" in body


def test_a_point_on_lines_already_quoted_is_not_repeated():
    """Two handler notes quoted in one block: one comment under the block,
    no "And here." that has no line of its own to point at."""
    patch = case_patch(Case(trailers="[Henrik: expand the changelog]\n[Rosa: cut it down]\n"
                                     "Signed-off-by: Tomas Lindqvist <tomas@example.org>\n"
                                     "Signed-off-by: Henrik Strand <henrik@example.org>\n"
                                     "Signed-off-by: Rosa Delgado <rosa@example.com>"))
    first = patch.changelog_lines.index("[Henrik: expand the changelog]")

    def note(index):
        return Finding(rule="tag-chain", severity="warning", message="m", patch_index=1,
                       message_id="case", changelog_line=index, comment="Move the note.")

    body = quote_body(patch, [note(first), note(first + 1)])
    assert body.count("Move the note. [tag-chain]") == 1 and "And here. [tag-chain]" not in body
    assert "> [Rosa: cut it down]" in body
    assert not any(a == b == "" for a, b in zip(body, body[1:])), "no double blank lines"
