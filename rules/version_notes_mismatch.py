"""Version notes that do not match what changed since the previous version.

What it flags, only when the previous version is at hand (in the input,
given with --previous, or found on the archive): for each patch that
carries a patch of the previous version on,
- a change the notes do not mention: a function whose code differs
  between the two versions' post-images (each parsed with tree-sitter;
  a function whose text is in sight in both is compared whole, else by
  the lines the patch adds to it), that moved, or whose only change is
  in its comments; changed lines outside every function; a file the
  patch now touches or no longer touches; a rewritten changelog; changed
  attribution (Signed-off-by, Co-developed-by, From:). A note mentions
  a change when it names the function or the file (a changed function:
  also a compound name its new lines use, "the pamt_4k_size"; lines outside
  functions: also a macro they define, or talk of defines, headers,
  declarations; a comment-only change: talk of comments; the changelog:
  of the log, the wording, a paragraph; the attribution: of authorship
  or sign-offs). Collected tags (Reviewed-by, Acked-by), the sign-off a
  new submitter appends below the others, and whitespace are no change.
- a note that claims a change the patch does not make: the notes of a
  patch that is the same as in the previous version, or a note of one
  patch naming a function that neither version of the patch touches.
The notes are the cover letter's section for this version ("Changes in
v3:") and each patch's own, below its '---'. A series with no notes at
all is version-notes-missing's; a patch split in two is compared only on
what it has (the rest went to the other part).

Why: reviewers read the notes to decide what to look at again. A change
the notes leave out is re-reviewed by nobody ("the v2 notes don't mention
that you also changed X"); a note that claims what the patch does not do
sends them looking for it.

Fires on: v3 of a patch that moves tdx_cpu_flush_cache() above another
function while the notes only speak of a WBINVD in tdx_offline_cpu();
a v2 that adds a Co-developed-by the notes do not mention.
Must not fire without a previous version, on a patch whose notes name
each changed function, nor on a patch whose only change is collected
Reviewed-by tags.
"""
from __future__ import annotations

import re
from collections import Counter

from ..lint.kit import (C_SUFFIXES, ChangelogLine, CodeLine, Commit, NamedTuple, PatchAt, SeriesCase,
                        Violation, function_name, iter_nodes, lazy_re, successors, version_notes)

ID = "version-notes-mismatch"
SEVERITY = "info"
PATHS = None
TOPICS = ("changes in", "notes", "changelog", "not mentioned", "doesn't mention", "also changed")


class NotesMiss(Violation):
    message = "changed since v{previous} but not in the notes: {listed}"
    comment = ("Compared with v{previous}, this patch also changes {listed}, which the version notes "
               "do not mention. Please list every change, so that reviewers of v{previous} know what "
               "to look at again.")


class NotesClaim(Violation):
    message = "the notes say {note!r}, but {why}"
    comment = "The version notes say \"{note}\", but {why}. Please check the notes against the patch."


_TAGS = frozenset({"reviewed-by", "acked-by", "tested-by", "reviewed-and-tested-by", "link", "cc", "message-id"})
_ATTRIBUTION = lazy_re(r"\b(?:co-?develop\w*+|sign(?:ed)?-?off\w*+|sob\b|author\w*+|attribution|from:|credit)",
                       re.I)
_LOG_TALK = lazy_re(r"\b(?:log|logs|changelog|commit message|description|describe|wording|reword\w*+|typo|"
                    r"explain\w*+|paragraph|mention\w*+|imperative|rewrite the changelog|write log|"
                    r"improve log)\b", re.I)
_DEFINE_TALK = lazy_re(r"\b(?:defines?|#define|macros?|headers?|includes?|declarations?|constants?|error codes?)\b",
                       re.I)
_DEFINE = lazy_re(r"^#[ \t]*+define[ \t]++([A-Za-z_]\w*+)")
_COMMENT_TALK = lazy_re(r"\bcomment\w*+\b", re.I)
_NOT_A_CHANGE = lazy_re(r"^(?:collect\w*+ (?:tags|acks|review)|rebase\w*+|link to v\d|resend|no change|"
                        r"add(?:ed)? \w+'s (?:rb|ack|tag))", re.I)
_IDENT = lazy_re(r"\b([A-Za-z_]\w*+)\(\)")


class _Change(NamedTuple):
    kind: str  # "function", "comment", "moved", "file", "outside", "changelog", "attribution"
    name: str  # what to call it in the message
    key: str  # what a note must name (a function, a file's base name); "" for the others
    place: object  # a CodeLine or ChangelogLine in the new patch, or None
    also: tuple = ()  # other names a note may give instead (the macros of changed lines)


def check_series(ctx):
    previous = ctx.previous
    if previous is None:
        return
    series = ctx.series
    notes = version_notes(series)
    if not notes:
        return  # no notes at all: version-notes-missing says so
    carried = successors(previous, series)
    origin: dict[int, tuple[int, bool]] = {}  # new index -> (old index, was the old patch split)
    for old_index, s in carried.items():
        parts = ([s.primary] if s.primary is not None else []) + list(s.others)
        for n in parts:
            origin.setdefault(n, (old_index, len(parts) > 1))
    old_by_index = {p.index: p for p in previous.patches}
    general = " ".join(n.text for n in notes if not n.where and not n.patches)
    for patch in series.patches:
        if patch.index not in origin:
            continue  # a new patch: nothing to compare it with
        old_index, split = origin[patch.index]
        old = old_by_index.get(old_index)
        if old is None:
            continue
        mine = [n for n in notes if n.where == patch.index or (not n.where and patch.index in n.patches)]
        said = " ".join(n.text for n in mine) + " " + general
        changes = _changes(ctx, old, patch, split)
        missing = [c for c in changes if not _mentioned(c, said)]
        if missing:
            place = next((c.place for c in missing if c.place is not None), None)
            listed = ", ".join(dict.fromkeys(c.name for c in missing))
            ctx.report(PatchAt(patch.index, place), NotesMiss(previous=previous.version, listed=listed))
        claims = [n for n in mine if n.where == patch.index or n.patches == (patch.index,)]
        claims = [n for n in claims if not _NOT_A_CHANGE.match(n.text.strip()) and not n.text.lower().startswith(
            ("split from", "new patch", "new in v"))]
        if not changes and claims:
            ctx.report(PatchAt(patch.index), NotesClaim(note=_short(claims[0].text),
                                                        why=f"the patch is the same as in v{previous.version}"))
            continue
        touched = _names_in(old) | _names_in(patch)
        for note in claims:
            absent = [n for n in _IDENT.findall(note.text) if n not in touched and not n.isupper()]
            if absent:
                ctx.report(PatchAt(patch.index), NotesClaim(
                    note=_short(note.text), why=f"neither version of the patch touches {absent[0]}()"))


def _short(text: str) -> str:
    return text if len(text) <= 100 else text[:97].rstrip() + "..."


def _names_in(patch) -> set[str]:
    out = set()
    for diff in patch.files:
        for hunk in diff.hunks:
            out.update(re.findall(r"[A-Za-z_]\w*", hunk.section))
            for ln in hunk.lines:
                out.update(re.findall(r"[A-Za-z_]\w*", ln.text))
    out.update(w for t in patch.changelog_lines for w in re.findall(r"[A-Za-z_]\w*", t))
    return out


def _mentioned(change: _Change, said: str) -> bool:
    low = said.lower()
    if change.kind in ("function", "moved", "file"):
        # The function or file by name, or (for a changed function) a
        # compound name its new lines use: "simplify the pamt_4k_size
        # calculation" speaks of the function that computes it.
        return (bool(change.key) and re.search(rf"\b{re.escape(change.key.lower())}\b", low) is not None
                or any(re.search(rf"\b{re.escape(n)}\b", said) for n in change.also))
    if change.kind == "outside":
        return (re.search(rf"\b{re.escape(change.key.lower())}\b", low) is not None
                or any(re.search(rf"\b{re.escape(n)}\b", said) for n in change.also)
                or _DEFINE_TALK.search(said) is not None)
    if change.kind == "comment":
        return bool(_COMMENT_TALK.search(said)) or (bool(change.key) and change.key.lower() in low)
    if change.kind == "changelog":
        return bool(_LOG_TALK.search(said))
    if change.kind == "attribution":
        return bool(_ATTRIBUTION.search(said))
    return True


def _changes(ctx, old, new, split: bool) -> list[_Change]:
    out: list[_Change] = []
    old_files = {f.path: f for f in old.files}
    new_files = {f.path: f for f in new.files}
    for path, diff in new_files.items():
        if path not in old_files and (diff.old_path or path) not in old_files:
            first = next((CodeLine(path, ln.new_no) for ln in diff.added_lines()), None)
            out.append(_Change("file", f"{path} (now touched)", path.rsplit("/", 1)[-1], first))
    if not split:
        for path in old_files:
            if path not in new_files and not any(d.old_path == path for d in new_files.values()):
                out.append(_Change("file", f"{path} (no longer touched)", path.rsplit("/", 1)[-1], None))
    for path, diff in new_files.items():
        before = old_files.get(path) or old_files.get(diff.old_path or "")
        if before is None or not path.endswith(C_SUFFIXES):
            continue
        out += _function_changes(ctx, old, new, before, diff, split)
    if _prose(old) != _prose(new):
        first = next((ChangelogLine(i) for i, t in enumerate(new.changelog_lines)
                      if i not in {tr.line for tr in new.trailers} and t.strip()), None)
        out.append(_Change("changelog", "the changelog", "", first))
    old_credits = [(t.name.lower(), t.value) for t in old.trailers if t.name.lower() not in _TAGS]
    new_credits = [(t.name.lower(), t.value) for t in new.trailers if t.name.lower() not in _TAGS]
    handed_on = (len(new_credits) == len(old_credits) + 1 and new_credits[:-1] == old_credits
                 and new_credits[-1][0] == "signed-off-by" and new_credits[-1] not in old_credits)
    if old_credits != new_credits and not handed_on:  # a new submitter's own sign-off is no change
        line = next((t.line for t in new.trailers if t.name.lower() not in _TAGS
                     and (t.name.lower(), t.value) not in old_credits), None)
        if line is None:
            line = next((t.line for t in new.trailers if t.name.lower() not in _TAGS), None)
        out.append(_Change("attribution", "the Signed-off-by/Co-developed-by lines", "",
                           ChangelogLine(line) if line is not None else None))
    return out


def _prose(patch) -> str:
    trailers = {t.line for t in patch.trailers}
    return " ".join(" ".join(t for i, t in enumerate(patch.changelog_lines) if i not in trailers).split())


class _Function(NamedTuple):
    """One function of a patch's post-image, as far as the hunks show it."""
    text: str  # its text, whitespace dropped
    bare: str  # the same without comments
    whole: bool  # is all of it in sight
    touched: bool  # does the patch add or remove lines in it
    added: Counter  # its added lines, whitespace dropped
    first: int | None  # its first added line (post-image)
    start: int  # its first line (post-image)
    head_added: bool  # does the patch add its first line
    names: tuple  # the compound names (with '_') on its added lines


def _squash(text: str) -> str:
    return "".join(text.split())


def _read(fc, removals: set[int]) -> tuple[dict[str, _Function], Counter]:
    """The functions a file's hunks show (read from tree-sitter's parse of
    the post-image), and the added lines outside every function.
    removals: post-image lines right after a removed line."""
    out: dict[str, _Function] = {}
    inside: set[int] = set()
    for code in fc.code:
        c = code.c
        for func in c.functions():
            name = function_name(func)
            lines = c.node_lines(func)
            if not name or not lines:
                continue
            inside.update(lines)
            text = c.text(func)
            bare = text
            for comment in sorted(iter_nodes(func, {"comment"}), key=lambda n: -n.start_byte):
                lo, hi = comment.start_byte - func.start_byte, comment.end_byte - func.start_byte
                bare = bare[:lo] + bare[hi:]
            whole = c.line_no(func.start_point[0]) is not None and c.line_no(func.end_point[0]) is not None
            added = Counter(_squash(c.text_at(n)) for n in lines if c.is_added(n))
            touched = bool(added) or any(n in removals for n in lines[1:])
            names = tuple(dict.fromkeys(
                c.text(n) for n in iter_nodes(func, {"identifier", "field_identifier", "type_identifier"})
                if "_" in c.text(n).strip("_") and c.is_added(c.line_no(n.start_point[0]))))
            out.setdefault(name, _Function(_squash(text), _squash(bare), whole, touched, added,
                                           c.first_added(func), lines[0], c.is_added(lines[0]), names))
    outside = Counter(_squash(ln.text) for ln in fc.diff.added_lines()
                      if ln.new_no not in inside and ln.text.strip())
    return out, outside


def _removals(diff) -> set[int]:
    out = set()
    for hunk in diff.hunks:
        after_removal = False
        for ln in hunk.lines:
            if ln.kind == "-":
                after_removal = True
            elif after_removal:
                out.add(ln.new_no)
                after_removal = False
    return out


def _changed(was: _Function | None, now: _Function | None) -> str | None:
    """How a function differs between the versions' post-images:
    "function", "comment", "moved" or None."""
    if was is None or now is None or was.touched != now.touched:
        if (was is not None and was.touched) or (now is not None and now.touched):
            if was is not None and now is not None and was.whole and now.whole and was.text == now.text:
                return None
            return "function"
        return None
    if not now.touched:
        return None
    if was.whole and now.whole:
        if was.text == now.text:
            return None
        return "comment" if was.bare == now.bare else "function"
    return "function" if was.added != now.added else None


def _function_changes(ctx, old, new, before, after, split: bool) -> list[_Change]:
    """What changed in one C file between the versions, function by function."""
    old_fc = next((f for f in ctx.files(old) if f.diff is before), None)
    new_fc = next((f for f in ctx.files(new) if f.diff is after), None)
    if old_fc is None or new_fc is None:
        return []
    was, was_out = _read(old_fc, _removals(before))
    now, now_out = _read(new_fc, _removals(after))
    base = after.path.rsplit("/", 1)[-1]
    out = []
    order_was = sorted(was, key=lambda n: was[n].start)
    order_now = sorted(now, key=lambda n: now[n].start)
    common = [n for n in order_now if n in was]
    common_was = [n for n in order_was if n in now]
    for name in order_now:
        kind = _changed(was.get(name), now[name])
        f = now[name]
        place = CodeLine(after.path, f.first if f.first else f.start)
        if kind is None and name in was and f.head_added:
            k, j = common.index(name), common_was.index(name)
            if (common[k - 1] if k else None) != (common_was[j - 1] if j else None):
                kind = "moved"
                place = CodeLine(after.path, f.start)
        if kind is None:
            continue
        label = {"function": f"{name}()", "comment": f"the comments in {name}()", "moved": f"{name}() (moved)"}[kind]
        out.append(_Change(kind, label, name, place, f.names if kind == "function" else ()))
    if not split:
        for name in order_was:
            if name not in now and was[name].touched:
                out.append(_Change("function", f"{name}() (no longer changed)", name, None))
    if was_out != now_out:
        first = next((CodeLine(after.path, ln.new_no) for ln in after.added_lines()
                      if _squash(ln.text) in (now_out - was_out)), None)
        macros = tuple(dict.fromkeys(m.group(1) for ln in after.added_lines() for m in [_DEFINE.match(ln.text)] if m))
        out.append(_Change("outside", f"lines outside functions in {base}", base, first, macros))
    return out


_TDX_C = "arch/x86/virt/vmx/tdx/tdx.c"
_BASE = ((_TDX_C, """\
    #include <linux/kernel.h>

    static void tdx_shutdown_cpu(void *unused)
    {
    \twbinvd();
    }

    static int tdx_offline_cpu(unsigned int cpu)
    {
    \treturn 0;
    }
    """),)
_V1 = """\
    #include <linux/kernel.h>

    static void tdx_cpu_flush_cache(void)
    {
    \tlockdep_assert_preemption_disabled();
    \twbinvd();
    }

    static void tdx_shutdown_cpu(void *unused)
    {
    \ttdx_cpu_flush_cache();
    }

    static int tdx_offline_cpu(unsigned int cpu)
    {
    \treturn 0;
    }
    """
_V2 = """\
    #include <linux/kernel.h>

    static void tdx_shutdown_cpu(void *unused)
    {
    \ttdx_cpu_flush_cache();
    }

    static void tdx_cpu_flush_cache(void)
    {
    \tlockdep_assert_preemption_disabled();
    \twbinvd();
    }

    static int tdx_offline_cpu(unsigned int cpu)
    {
    \ttdx_cpu_flush_cache();
    \treturn 0;
    }
    """
_SUBJECT = "x86/virt/tdx: Pull the cache flush into a helper"
_SOB = "Flush from one helper.\n\nSigned-off-by: Alice Example <alice@example.org>"
_COVER = "x86/virt/tdx: Flush caches\n\nFlush the caches before kexec.\n\nChanges in v2:\n- {note}"

INVALID = [
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(note="Add a flush on the tdx_offline_cpu() path"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V2),), _SOB),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               at=("[1] tdx.c:8:0: static void tdx_cpu_flush_cache(void)",),
               why="the helper moved, and the notes only speak of the offline path"),
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(note="Nothing else changed"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V1),),
                               "Flush from one helper.\n\nCo-developed-by: Bob Example <bob@example.org>\n"
                               "Signed-off-by: Bob Example <bob@example.org>\n"
                               "Signed-off-by: Alice Example <alice@example.org>"),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               at=("[1] changelog:3: Co-developed-by",),
               why="a Co-developed-by the notes do not mention"),
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(note="Patch 1: rename tdx_flush() to tdx_cpu_flush_cache()"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               at=("[1] patch: the patch is the same",),
               why="a note for a patch that did not change"),
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(
                   note="Patch 1: call tdx_cpu_flush_cache() from tdx_offline_cpu() too, and drop tdx_wbinvd_all()"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V2),), _SOB),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               at=("[1] patch: neither version of the patch touches tdx_wbinvd_all()",),
               why="a note naming a function the patch never touches"),
]

VALID = [
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(
                   note="Move tdx_cpu_flush_cache() up and call it from tdx_offline_cpu() too"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V2),), _SOB),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               why="the notes name both functions"),
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(note="Collect tags"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V1),),
                               "Flush from one helper.\n\nReviewed-by: Carol Example <carol@example.org>\n"
                               "Signed-off-by: Alice Example <alice@example.org>"),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               why="only a collected Reviewed-by"),
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(note="Collect tags"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V1),),
                               _SOB + "\nSigned-off-by: Vera Example <vera@example.org>"),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               why="the sign-off of a new submitter, below the others"),
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(note="Also check lockdep_assert_irqs_disabled"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V1.replace("lockdep_assert_preemption_disabled();",
                                                               "lockdep_assert_preemption_disabled();\n    \tlockdep_assert_irqs_disabled();")),),
                               _SOB),),
               previous=(Commit(_SUBJECT, ((_TDX_C, _V1),), _SOB),),
               why="not the function's name, but a name its new line uses"),
    SeriesCase(base=_BASE, version=2, cover=_COVER.format(note="Add a flush on the tdx_offline_cpu() path"),
               commits=(Commit(_SUBJECT, ((_TDX_C, _V2),), _SOB),),
               why="no previous version to compare with"),
]
