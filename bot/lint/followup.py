"""The follow-up on the previous version's review: for each point a
reviewer made on version N-1, did version N take it up?

A point is a reviewer's words below lines they quoted (mail.remarks
reads the replies): under lines of the patch (its diff or its changelog),
at the top of a reply to the patch, or under another mail's words when
they ask for something. Greetings, sign-offs, signatures and the tags a
reviewer gives are no points; quoted lines with nothing below them are
none either.

Each point gets one status:

- addressed: the quoted lines changed or are gone in version N; or the
  notes of version N credit the reviewer with a change on that topic; or
  what was asked for (an empty line, a comment) appeared right next to
  the quoted lines;
- not addressed: the quoted lines are there, unchanged, in the patch that
  carries the old one on, and nothing above says otherwise;
- unclear: the patch was split (the quoted lines went on into another
  part), dropped or cannot be matched; a point under no line of the patch
  that the notes do not take up; notes that say the point was only partly
  handled ("fewer than asked for").

Whether the author agreed ("Will do.", "Good point", "Ok, we can parse the
errors.") is read from the author's answers below the point, through the
whole exchange that follows it; a point the author agreed to whose lines
are unchanged is said to be so. Tags given on version N-1 (Reviewed-by:,
Acked-by:) are no points; whether version N carries them is listed apart.

Every step is linear in the mails and lines compared: lines are looked up
in tables, a block of quoted lines is aligned from its last line, and no
list of remarks is compared with every other.
"""
from __future__ import annotations

import re

from ..common import NamedTuple, lazy_re
from ..mail import (Note, Part, Patch, Series, Successors, TAG_LINE, answer_of, credits_person,
                    reply_parts, same_again, successors, version_notes)

STATUSES = ("not addressed", "unclear", "addressed")  # open points first


class FollowUp(NamedTuple):
    version: int  # the version the point was made on
    reviewer: str
    message_id: str | None  # the reviewer's mail
    patch_index: int | None  # the patch of that version (0: the cover letter)
    path: str | None  # the file and post-image line of the last quoted diff line
    line: int | None
    remark: str  # the reviewer's words, trimmed
    status: str  # "addressed", "not addressed" or "unclear"
    why: str
    author_agreed: bool = False
    next_patch_index: int | None = None  # the patch of the new version that carries it on
    anchor: str = "none"  # "diff", "changelog" or "none"


class CarriedTag(NamedTuple):
    version: int
    patch_index: int | None  # 0 or None: given on the cover letter (for every patch)
    tag: str
    giver: str
    message_id: str | None
    carried: bool | None  # None: no patch of the new version carries the old one on
    next_patch_index: int | None


class FollowUpReport(NamedTuple):
    previous_version: int
    version: int
    items: tuple[FollowUp, ...]
    tags: tuple[CarriedTag, ...]
    previous_total: int = 0  # how many patches the previous version had

    def open_first(self) -> list[FollowUp]:
        return sorted(self.items, key=lambda f: STATUSES.index(f.status))


# -- words ------------------------------------------------------------------------------

_WORDS = lazy_re(r"[A-Za-z_][A-Za-z0-9_]*+(?:\(\))?|(?<![0-9])\d++[A-Za-z]\w*+")
_STOP = frozenset("""
a an the this that these those it its is are was were be been being not no nor and or but of in on
at to for with by from as if so than then there here what which who whom why how when where do does
did done has have had will would should could can may might must shall i we you he she they me us
him them my our your their his her about into onto over under up down out off again also just only
very more most less much many some any all each every both either neither other such own same too
please nit nits think guess thanks thank ok okay yes maybe really still even like see seems
one two three first second new old now today once well way thing things something anything lot
get got make made let lets use used using need needs needed want wants wanted say says said
right here above below patch patches series version line lines code change changes changed
""".split())
# Words that stand for one topic whatever form they take.
_GROUPS = (
    frozenset({"newline", "blank", "empty", "whitespace", "formatting", "format", "formatted", "align",
               "aligned", "alignment", "vertically", "indent", "indentation", "spacing", "tab", "tabs"}),
    frozenset({"comment", "comments", "commented", "document", "documented", "explain", "explained",
               "explanation", "describe", "described", "description", "clarify"}),
    frozenset({"log", "changelog", "commit", "message", "paragraph"}),
    frozenset({"rename", "renamed", "name", "names", "naming", "called"}),
    frozenset({"split", "separate", "separately", "refactor", "refactoring", "cleanup", "cleanups"}),
    frozenset({"subject", "prefix", "title", "shortlog"}),
    frozenset({"doc", "docs", "documentation", "rst"}),
    frozenset({"print", "prints", "printed", "warn", "warning", "pr_err", "pr_warn", "breadcrumbs"}),
)
_GROUP_OF = {w: n for n, group in enumerate(_GROUPS) for w in group}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ions", "ion", "ings", "ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


# Names every TDX patch uses: sharing one says nothing about the topic.
_COMMON_NAMES = frozenset({"tdx", "seamcall", "seamcalls", "kvm", "x86", "cpu", "cpus", "vmx", "td", "tds",
                           "todo", "fixme", "nit", "imho", "imnho", "afaict", "iiuc", "fwiw"})


def _is_identifier(word: str) -> bool:
    return "_" in word or word.endswith("()") or (word.isupper() and len(word) >= 4 and word.isalpha())


class _Terms(NamedTuple):
    stems: frozenset[str]
    identifiers: frozenset[str]
    groups: frozenset[int]


def _terms(text: str, extra_identifiers=()) -> _Terms:
    stems, idents, groups = set(), set(extra_identifiers), set()
    for word in _WORDS.findall(text[:4000]):
        low = word.lower()
        if low.rstrip("()") in _COMMON_NAMES:
            continue
        if _is_identifier(word):
            idents.add(low.rstrip("()"))
            continue
        if low in _GROUP_OF:
            groups.add(_GROUP_OF[low])
        if low in _STOP or len(low) < 3:
            continue
        stems.add(_stem(low))
    if "new line" in text.lower() or "empty line" in text.lower():
        groups.add(0)
    if "commit message" in text.lower():
        groups.add(2)
    return _Terms(frozenset(stems), frozenset(idents), frozenset(groups))


def _overlap(a: _Terms, b: _Terms) -> tuple[int, bool]:
    """(how many things two texts share, whether one is a name from the
    code): stems, topics and identifiers."""
    shared_ids = a.identifiers & b.identifiers
    if not shared_ids:  # a name and the longer names it starts (TDX_FEATURES0, TDX_FEATURES0_NO_RBP_MOD)
        shared_ids = {x for x in a.identifiers for y in b.identifiers
                      if len(min(x, y, key=len)) >= 8 and (x.startswith(y) or y.startswith(x))} \
            if len(a.identifiers) * len(b.identifiers) <= 400 else set()
    units = len(a.stems & b.stems) + len(a.groups & b.groups) + len(shared_ids)
    return units, bool(shared_ids)


# -- the old version's threads --------------------------------------------------------

_IN_BODY_FROM = lazy_re(r"^From:\s*+(.{1,200}+)$")
_ADDRESS = lazy_re(r"<([^<>\s]{1,200}+)>")
_REQUEST = lazy_re(
    r"\b(?:please|should|needs? to|deserves?|must|would (?:be|help)|could you|can you|let'?s|"
    r"it helps to|i'?d (?:much )?rather|i (?:would )?prefer|worth (?:a|an|adding|mentioning|"
    r"documenting)|call (?:it|this|that) out|why not|how about)\b",
    re.I)
_NEGATIVE = lazy_re(r"\b(?:don'?t|do not|no need|not needed|never)\b", re.I)
_HEDGE = lazy_re(r"\b(?:fewer than|less than|not all|some of|partly|partially|part of|only some|"
                 r"didn'?t|did not|not (?:yet )?(?:done|addressed|changed))\b", re.I)
_WANTS_SPACE = lazy_re(r"\b(?:new ?line|blank line|empty line|whitespace|line break|vertical space)\b", re.I)
_WANTS_COMMENT = lazy_re(r"\b(?:comments?|explain|document|describe|say (?:in|above|below|that|why|the same))\b",
                         re.I)
_SUBJECT_TALK = lazy_re(r"\b(?:subject|prefix|shortlog|title)\b", re.I)
# The name a declaration or definition line gives: the first word followed
# by '(', ';', '=' or '['; each word is tried once (linear on any line).
_DEFINES = lazy_re(r"^\+?[\w\s*]*?\b([A-Za-z_]\w*+)\s*+[(;=\[]|^\+?#define\s++(\w++)")


def _person(patch: Patch) -> tuple[str, str]:
    a = patch.author
    return (a.name or a.email), a.email.lower()


class _Who(NamedTuple):
    emails: frozenset[str]
    names: frozenset[str]

    def has(self, name: str, email: str) -> bool:
        return (bool(email) and email.lower() in self.emails) or (bool(name) and name.lower() in self.names)


def _authors(previous: Series, patch: Patch | None) -> _Who:
    """Who answers for a patch: the sender of the series, the patch's
    author (an in-body From: too), and whoever signed it off or
    co-developed it. For the cover letter: all of them."""
    emails, names = set(), set()
    first = previous.cover or (previous.patches[0] if previous.patches else None)
    patches = [patch] if patch is not None and patch.index else list(previous.patches)
    for p in ([first] if first is not None else []) + patches:
        name, email = _person(p)
        emails.add(email)
        names.add(name.lower())
    for p in patches:
        for text in p.body_lines[:p.changelog_body_start]:
            m = _IN_BODY_FROM.match(text)
            if m:
                _add_address(m.group(1), emails, names)
        for t in p.trailers:
            if t.name.lower() in ("signed-off-by", "co-developed-by", "from"):
                _add_address(t.value, emails, names)
    emails.discard("")
    names.discard("")
    return _Who(frozenset(emails), frozenset(names))


def _add_address(value: str, emails: set, names: set) -> None:
    m = _ADDRESS.search(value)
    if m:
        emails.add(m.group(1).lower())
        names.add(value[:m.start()].strip().strip('"').lower())
    else:
        names.add(value.strip().lower())


class _Said(NamedTuple):
    """One part of one reply, placed."""
    n: int  # its place in the thread order
    reply: Patch
    part: Part
    patch: Patch  # the patch (or cover letter) of the thread it belongs to
    by_author: bool
    anchor: str  # "diff", "changelog" or "none"
    path: str | None
    line: int | None
    quoted: tuple[tuple[str, str], ...]  # (kind, text) of the quoted patch lines: "+", "-", " " or "c"
    meaning: str  # the words, or for "And here." the point it repeats


def _root_of(reply: Patch, by_id: dict[str, Patch], patch_ids: dict[str, Patch]) -> Patch | None:
    seen = 0
    mid = reply.in_reply_to
    while mid and seen < 200:
        if mid in patch_ids:
            return patch_ids[mid]
        up = by_id.get(mid)
        if up is None:
            break
        mid = up.in_reply_to
        seen += 1
    for ref in reversed(reply.references):
        if ref in patch_ids:
            return patch_ids[ref]
    return None


class _PatchLines:
    """A patch's body lines, to place quoted lines in it."""

    def __init__(self, patch: Patch):
        self.patch = patch
        self.at: dict[str, list[int]] = {}
        for i, text in enumerate(patch.body_lines):
            self.at.setdefault(text.rstrip(), []).append(i)
        self.diff: dict[int, tuple[str, object]] = {}
        for diff in patch.files:
            for hunk in diff.hunks:
                for ln in hunk.lines:
                    if ln.body_index is not None:
                        self.diff[ln.body_index] = (diff.path, ln)
        self.log_start = patch.changelog_body_start
        self.log_end = patch.changelog_body_start + len(patch.changelog_lines)

    def place(self, block: tuple[str, ...]):
        """(anchor, path, line, quoted lines) of a block: aligned on the
        patch's body from the last block line found in it."""
        body = self.patch.body_lines
        for end in range(len(block) - 1, -1, -1):
            key = block[end].rstrip()
            if not key or key not in self.at:
                continue
            best, run = None, -1
            for pos in self.at[key][:50]:
                k = 0
                while k < 60 and end - k - 1 >= 0 and pos - k - 1 >= 0 \
                        and block[end - k - 1].rstrip() == body[pos - k - 1].rstrip():
                    k += 1
                if k > run:
                    best, run = pos, k
            lines = range(best - run, best + 1)
            quoted: list[tuple[str, str]] = []
            path = line = None
            anchor = "none"
            for i in lines:
                if i in self.diff:
                    p, ln = self.diff[i]
                    quoted.append((ln.kind, ln.text))
                    anchor, path = "diff", p
                    if ln.new_no is not None:
                        line = ln.new_no
                elif self.log_start <= i < self.log_end:
                    quoted.append(("c", body[i]))
                    if anchor == "none":
                        anchor = "changelog"
            if anchor == "none":
                return "none", None, None, ()
            if anchor == "changelog":
                quoted = [q for q in quoted if q[0] == "c"]
            else:
                quoted = [q for q in quoted if q[0] != "c"]
            return anchor, path, line, tuple(quoted)
        return "none", None, None, ()


def _thread_parts(previous: Series) -> list[_Said]:
    patches = ([previous.cover] if previous.cover is not None else []) + list(previous.patches)
    patch_ids = {p.message_id: p for p in patches if p.message_id}
    by_id = {r.message_id: r for r in previous.replies if r.message_id}
    by_id.update(patch_ids)
    lines = {id(p): _PatchLines(p) for p in patches}
    authors: dict[int, _Who] = {}
    out: list[_Said] = []
    for reply in previous.replies:
        if reply.files and not reply.in_reply_to:
            continue
        root = _root_of(reply, by_id, patch_ids)
        if root is None:
            continue
        who = authors.get(id(root))
        if who is None:
            who = authors[id(root)] = _authors(previous, root)
        name, email = _person(reply)
        by_author = who.has(name, email)
        before = ""
        for part in reply_parts(reply.body_lines[:reply.diff_body_start], writer=name):
            if part.block:
                anchor, path, line, quoted = lines[id(root)].place(part.block)
            else:
                anchor, path, line, quoted = "none", None, None, ()
            text = " ".join(part.paragraphs)
            meaning = before if before and same_again(text) else text
            before = meaning or before
            out.append(_Said(len(out), reply, part, root, by_author, anchor, path, line, quoted, meaning))
    return out


def _is_point(said: _Said) -> bool:
    """Is this part a point made on the patch (see the module's docstring)?"""
    part = said.part
    if not part.paragraphs:
        return False
    direct = said.reply.in_reply_to == said.patch.message_id
    if said.anchor != "none":
        return not said.by_author or direct
    if said.by_author:
        return False
    header_only = all(not t.strip() or t.startswith(("From:", "Subject:", "Date:")) for t in part.block)
    if direct and (part.top or header_only):
        return True
    text = " ".join(part.paragraphs)
    return any(_REQUEST.search(s) and not _NEGATIVE.search(s) for s in re.split(r"(?<=[.?!])\s+", text))


def _responses(parts: list[_Said]) -> dict[int, list[_Said]]:
    """part number -> the later parts that answer it: they quote its own
    words (or, one level deeper, its quoted lines) in a mail below it;
    a reply that quotes nothing answers every part of the mail it replies to."""
    own_at: dict[str, list[_Said]] = {}
    block_at: dict[str, list[_Said]] = {}
    by_message: dict[str, list[_Said]] = {}
    for s in parts:
        for text in s.part.own:
            if text:
                own_at.setdefault(" ".join(text.split()), []).append(s)
        for text, depth in zip(s.part.block, s.part.depths):
            if depth == 1 and text.strip():
                block_at.setdefault(text.rstrip(), []).append(s)
        if s.reply.message_id:
            by_message.setdefault(s.reply.message_id, []).append(s)
    parent = {s.reply.message_id: s.reply.in_reply_to for s in parts if s.reply.message_id}
    out: dict[int, list[_Said]] = {}
    for s in parts:
        ancestors = []
        mid = s.reply.in_reply_to
        while mid and len(ancestors) < 30:
            ancestors.append(mid)
            mid = parent.get(mid)
        if not ancestors:
            continue
        wanted = set(ancestors)
        found: dict[int, _Said] = {}
        if not s.part.block and not s.part.top:
            continue
        if not s.part.block:
            for t in by_message.get(ancestors[0], []):
                found[t.n] = t
        for text, depth in zip(s.part.block, s.part.depths):
            key = " ".join(text.split())
            if depth == 1:
                for t in own_at.get(key, ())[:20]:
                    if t.reply.message_id in wanted and t.n < s.n:
                        found[t.n] = t
            elif depth == 2:
                for t in block_at.get(text.rstrip(), ())[:20]:
                    if t.reply.message_id in wanted and t.n < s.n:
                        found[t.n] = t
        for t in found.values():
            out.setdefault(t.n, []).append(s)
    return out


_ALL_POINTS = lazy_re(r"\b(?:with|to) (?:the|all the) (?:others|rest)\b|\ball of (?:them|these|those)\b|"
                      r"\b(?:the|all) other (?:points|comments|nits)\b", re.I)


def _agreement(said: _Said, responses: dict[int, list[_Said]],
               mail_answers: dict[str, list[_Said]]) -> tuple[str | None, str]:
    """('agreed' / 'declined' / None, the author's words) from the author's
    answers to a point and to the exchange below it; an answer to one point
    of a mail that agrees "with the others" too counts for all of them."""
    if said.by_author:
        return "agreed", ""
    decisions: list[tuple[int, str, str]] = []
    for r in mail_answers.get(said.reply.message_id or "", ()):
        text = " ".join(r.part.paragraphs)
        if _ALL_POINTS.search(text) and answer_of(r.part.paragraphs) == "agreed":
            decisions.append((r.n, "agreed", text))
    todo, seen = [said], {said.n}
    while todo and len(seen) < 200:
        current = todo.pop()
        for r in responses.get(current.n, ()):
            if r.n in seen:
                continue
            seen.add(r.n)
            todo.append(r)
            if r.by_author:
                verdict = answer_of(r.part.paragraphs)
                if verdict:
                    decisions.append((r.n, verdict, " ".join(r.part.paragraphs)))
    if not decisions:
        return None, ""
    decisions.sort()
    last = decisions[-1]
    if last[1] == "declined":
        return "declined", last[2]
    agreed = [d for d in decisions if d[1] == "agreed"]
    return ("agreed", agreed[-1][2]) if agreed else (None, "")


# -- the new version --------------------------------------------------------------------

class _NewPatch:
    """A patch of the new version, for finding quoted lines in it."""

    def __init__(self, patch: Patch):
        self.patch = patch
        self.post: dict[str, list[tuple[int, str]]] = {}
        self.kinds: dict[str, list[str]] = {}
        self.removed: dict[str, list[str]] = {}
        for diff in patch.files:
            post = self.post.setdefault(diff.path, [])
            kinds = self.kinds.setdefault(diff.path, [])
            gone = self.removed.setdefault(diff.path, [])
            for hunk in diff.hunks:
                for ln in hunk.lines:
                    if ln.kind == "-":
                        gone.append(ln.text.rstrip())
                    else:
                        post.append((ln.new_no, ln.text.rstrip()))
                        kinds.append(ln.kind)
        self.index: dict[str, list[tuple[str, int]]] = {}
        for path, lines in self.post.items():
            for i, (_, text) in enumerate(lines):
                self.index.setdefault(text, []).append((path, i))
        self.log = " ".join(" ".join(patch.changelog_lines).split())
        self.paragraphs = _paragraphs(patch.changelog_lines)

    def find(self, quoted: tuple[tuple[str, str], ...], path: str | None):
        """Where the quoted lines stand, unchanged and in one piece: (path,
        first index, last index) in the post-image, or True for changelog
        and removed lines; None when they are not there."""
        if not quoted:
            return None
        if quoted[0][0] == "c":
            text = " ".join(" ".join(t for _, t in quoted).split())
            return True if text and text in self.log else None
        post = [t.rstrip() for k, t in quoted if k != "-"]
        if not post:
            gone = [t.rstrip() for k, t in quoted]
            for lines in self.removed.values():
                if _run_in(gone, lines):
                    return True
            return None
        for p, start in sorted(self.index.get(post[0], ())[:200], key=lambda x: x[0] != path):
            lines = self.post[p]
            if start + len(post) <= len(lines) and all(lines[start + k][1] == post[k] for k in range(len(post))) \
                    and lines[start + len(post) - 1][0] - lines[start][0] == len(post) - 1:
                return p, start, start + len(post) - 1
        return None

    def similar(self, quoted: tuple[tuple[str, str], ...]) -> bool:
        """Do most words of quoted changelog lines stand in one paragraph
        here (rewritten, moved)?"""
        if not quoted or quoted[0][0] != "c":
            return False
        words = _terms(" ".join(t for _, t in quoted)).stems
        if len(words) < 4:
            return False
        return any(len(words & para) >= 0.45 * len(words) for para in self.paragraphs)


def _paragraphs(lines) -> list[set[str]]:
    out, current = [], []
    for text in list(lines) + [""]:
        if text.strip():
            current.append(text)
        elif current:
            out.append(_terms(" ".join(current)).stems)
            current = []
    return out


def _run_in(needle: list[str], hay: list[str]) -> bool:
    if not needle or len(needle) > len(hay):
        return False
    first = needle[0]
    for i, text in enumerate(hay):
        if text == first and hay[i:i + len(needle)] == needle:
            return True
    return False


# -- deciding ---------------------------------------------------------------------------

def _defined_names(quoted: tuple[tuple[str, str], ...]) -> set[str]:
    """Names the quoted lines define (a function, a variable, a macro)."""
    out = set()
    for kind, text in quoted:
        if kind in ("+", " ") and text[:1] not in (" ", "\t") and text.strip():
            m = _DEFINES.match(text)
            if m:
                name = m.group(1) or m.group(2)
                if name and name not in ("if", "for", "while", "return", "switch", "sizeof"):
                    out.add(name.lower())
    return out


def _note_for(point: _Said, notes: list[Note], carried: set[int], new_patches: set[int],
              agreed: bool) -> tuple[Note | None, bool]:
    """The note of the new version that answers a point, and whether it
    says the point was only partly handled."""
    name, email = _person(point.reply)
    terms = _terms(point.meaning, _defined_names(point.quoted))
    best, best_units = None, 0
    for note in notes:
        if note.where and note.where not in carried:
            continue
        if not note.where and note.patches and not set(note.patches) & (carried | new_patches):
            continue
        credited = any(credits_person(c, name, email) for c in note.credits)
        units, named = _overlap(terms, _terms(note.text))
        if credited:
            ok = named or units >= 2 or (units >= 1 and agreed)
        else:
            mine = bool(note.where) or bool(note.patches and set(note.patches) & carried)
            ok = not note.credits and mine and (named and units >= 2 or units >= 3)
        if ok and units > best_units:
            best, best_units = note, units
    if best is None:
        return None, False
    return best, bool(_HEDGE.search(best.text))


def _old_neighbours(old: Patch, point: _Said) -> tuple[str | None, str | None]:
    """The lines right above and right below the quoted block in the old
    patch's post-image (None where the hunk ends)."""
    post = [(ln.new_no, ln.text.rstrip()) for diff in old.files if diff.path == point.path
            for hunk in diff.hunks for ln in hunk.lines if ln.kind != "-"]
    texts = [t for k, t in point.quoted if k != "-"]
    numbers = {no: i for i, (no, _) in enumerate(post)}
    if point.line is None or point.line not in numbers or not texts:
        return None, None
    last = numbers[point.line]
    first = last - len(texts) + 1
    above = post[first - 1][1] if first >= 1 and post[first - 1][0] == post[first][0] - 1 else None
    below = post[last + 1][1] if last + 1 < len(post) and post[last + 1][0] == post[last][0] + 1 else None
    return above, below


def _next_to(new: _NewPatch, where, old: Patch, point: _Said) -> str | None:
    """What was added right next to quoted lines that stayed: an empty
    line or a comment, when the point asked for one."""
    path, first, last = where
    lines = new.post[path]
    above, below = _old_neighbours(old, point)
    added = []
    for k in range(1, 4):  # below the block, up to the old neighbour
        i = last + k
        if i >= len(lines) or lines[i][0] != lines[last][0] + k or (below is not None and lines[i][1] == below):
            break
        added.append(lines[i][1])
    for k in range(1, 4):  # above it
        i = first - k
        if i < 0 or lines[i][0] != lines[first][0] - k or (above is not None and lines[i][1] == above):
            break
        added.append(lines[i][1])
    if not added:
        return None
    text = point.meaning
    if _WANTS_SPACE.search(text) and any(not t.strip() or t.strip() in ("*", "/*", "*/") for t in added):
        return "an empty line was added next to them"
    if _WANTS_COMMENT.search(text) and any(t.lstrip().startswith(("/*", "*", "//")) for t in added):
        return "a comment was added next to them"
    if len(_terms(text).stems & _terms(" ".join(added)).stems) >= 2:
        return "the lines next to them changed along what was asked"
    return None


def _trim(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _where(series: Series, index: int | None) -> str:
    if index is None:
        return "?"
    if index == 0:
        return "the cover letter"
    return f"{index}/{series.total}"


def follow_up(series: Series, previous: Series) -> FollowUpReport:
    """The follow-up on previous's review, as series (the next version) took it up."""
    parts = _thread_parts(previous)
    responses = _responses(parts)
    carried_on = successors(previous, series)
    notes = version_notes(series)
    carrying = {s.primary for s in carried_on.values() if s.primary} | {
        o for s in carried_on.values() for o in s.others}
    new_patches = {p.index for p in series.patches} - carrying
    new = {p.index: _NewPatch(p) for p in series.patches}
    if series.cover is not None:
        new[0] = _NewPatch(series.cover)
    items: list[FollowUp] = []
    tags: list[CarriedTag] = []
    mail_answers: dict[str, list[_Said]] = {}
    for said in parts:
        if said.by_author and said.reply.in_reply_to:
            mail_answers.setdefault(said.reply.in_reply_to, []).append(said)
    for said in parts:
        if said.part.tags and not said.by_author:
            tags += _tags(said, previous, series, carried_on)
        if not _is_point(said):
            continue
        verdict, words = _agreement(said, responses, mail_answers)
        items.append(_decide(said, verdict, words, previous, series, carried_on, notes, new, new_patches))
    return FollowUpReport(previous.version, series.version, tuple(items), tuple(tags), previous.total)


def _decide(said: _Said, verdict, words: str, previous: Series, series: Series,
            carried_on: dict[int, Successors], notes: list[Note], new: dict[int, _NewPatch],
            new_patches: set[int]) -> FollowUp:
    old = said.patch
    name, _email = _person(said.reply)
    agreed = verdict == "agreed"
    if old.index == 0 or old.is_cover:
        succ = Successors(0 if series.cover is not None else None, (), "cover letter")
    else:
        succ = carried_on.get(old.index, Successors(None, (), "dropped"))
    carried = ({succ.primary} if succ.primary is not None else set()) | set(succ.others)
    note, hedged = _note_for(said, notes, carried, new_patches, agreed)
    said_note = f"the v{series.version} notes say: \"{_trim(note.text, 160)}\"" if note else ""
    agreed_text = f", although the author agreed (\"{_trim(words, 80)}\")" if agreed and words else ""
    declined_text = f"; the author answered \"{_trim(words, 80)}\"" if verdict == "declined" and words else ""

    def item(status: str, why: str, next_index=succ.primary) -> FollowUp:
        return FollowUp(previous.version, name, said.reply.message_id, old.index, said.path, said.line,
                        _trim(" ".join(said.part.paragraphs)), status, why, agreed, next_index, said.anchor)

    if note and hedged:
        return item("unclear", f"only partly: {said_note}")
    if said.anchor == "none":
        if note:
            return item("addressed", said_note)
        if _SUBJECT_TALK.search(" ".join(said.part.paragraphs)) and succ.primary in new and succ.primary \
                and _subject_key(new[succ.primary].patch.title) != _subject_key(old.title):
            return item("addressed", f"the subject changed: \"{_trim(new[succ.primary].patch.title, 100)}\"")
        return item("unclear", f"not under a quoted line of the patch, and the v{series.version} notes do not "
                               f"take it up{declined_text}")
    if succ.primary is None and not succ.others:
        moved = [k for k, n in new.items() if n.find(said.quoted, said.path)]
        if note:
            return item("addressed", said_note, None)
        if moved:
            return item("unclear", f"{_where(previous, old.index)} is not in v{series.version} as such; the "
                                   f"quoted lines are now in {_where(series, moved[0])}", moved[0])
        return item("unclear", f"{_where(previous, old.index)} has no counterpart in v{series.version}", None)
    primary = new.get(succ.primary) if succ.primary is not None else None
    where = primary.find(said.quoted, said.path) if primary is not None else None
    if where and isinstance(where, tuple) and _no_longer_added(primary, where, said.quoted):
        return item("addressed", f"the quoted lines are no longer added by {_where(series, succ.primary)}: an "
                                 "earlier patch adds them now" + (f"; {said_note}" if note else ""))
    if where:
        place = _where(series, succ.primary)
        if note:
            return item("addressed", f"the quoted lines are unchanged in {place}, but {said_note}")
        if isinstance(where, tuple):
            beside = _next_to(primary, where, old, said)
            if beside:
                return item("addressed", f"the quoted lines are unchanged in {place}, but {beside}")
        if succ.others:
            return item("unclear", f"the patch was split in v{series.version}; the quoted lines stayed "
                                   f"unchanged in {place}")
        return item("not addressed", f"the quoted lines are unchanged in {place}{agreed_text}{declined_text}")
    if note:
        return item("addressed", said_note)
    if primary is not None and primary.similar(said.quoted):
        return item("addressed", f"the quoted lines were rewritten in {_where(series, succ.primary)}")
    for other in succ.others:
        part = new.get(other)
        if part is not None and (part.find(said.quoted, said.path) or part.similar(said.quoted)):
            return item("unclear", f"the patch was split in v{series.version}; the quoted lines went on to "
                                   f"{_where(series, other)}", other)
    if primary is None:
        return item("addressed", f"the patch was split in v{series.version} and the quoted lines are in none "
                                 "of its parts", succ.others[0] if succ.others else None)
    gone = "changed" if said.anchor == "changelog" else "changed or are gone"
    return item("addressed", f"the quoted lines {gone} in {_where(series, succ.primary)}")


def _no_longer_added(new: _NewPatch, where, quoted) -> bool:
    """Quoted lines the old patch added that the new one only shows as
    context (an earlier patch of the new version adds them)."""
    path, first, last = where
    kinds = new.kinds[path][first:last + 1]
    old_kinds = [k for k, _ in quoted if k != "-"]
    added_before = [i for i, k in enumerate(old_kinds) if k == "+"]
    return bool(added_before) and all(kinds[i] == " " for i in added_before)


def _subject_key(title: str) -> str:
    return " ".join(title.lower().split())


def _tags(said: _Said, previous: Series, series: Series, carried_on: dict[int, Successors]) -> list[CarriedTag]:
    name, email = _person(said.reply)
    old = said.patch
    targets = [old] if old.index and not old.is_cover else list(previous.patches)
    by_index = {p.index: p for p in series.patches}
    out = []
    for tag in said.part.tags:
        m = TAG_LINE.match(tag)
        kind = m.group(1).lower() if m else ""
        for target in targets:
            succ = carried_on.get(target.index)
            nxt = by_index.get(succ.primary) if succ and succ.primary is not None else None
            carried = None
            if nxt is not None:
                carried = any(t.name.lower() == kind and (email and email in t.value.lower()
                                                          or name.lower() in t.value.lower())
                              for t in nxt.trailers)
            out.append(CarriedTag(previous.version, target.index, tag, name, said.reply.message_id, carried,
                                  nxt.index if nxt is not None else None))
    return out
