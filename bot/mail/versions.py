"""One series across its versions: what the version notes say, which patch
of the new version stands for which patch of the old one, and where the
previous version is to be found (the way b4 finds it).

- version_notes: the "Changes in vN" items of the cover letter and the
  "vN:" notes below each patch's '---', each with the patch it names and
  the people it credits ("(Kalle)", "[Dorian]");
- successors: old patch -> new patches (the same title, a "Split from"
  note, else the closest title and files);
- change_id, previous_links, search_query: b4's ways to the previous
  version (the cover's change-id:, a "Link to v2:" in the notes, a search
  for the subject and the sender).
"""
from __future__ import annotations

import re

from ..common import NamedTuple, lazy_re
from .model import Patch, Series
from .subjects import split_title


class Note(NamedTuple):
    """One item of the version notes."""
    text: str  # folded to one line
    patches: tuple[int, ...]  # the patches (new numbering) it names; () for the series
    credits: tuple[str, ...]  # the people it credits, as written ("Kalle", "Sam")
    where: int  # 0: the cover letter, else the index of the patch whose notes hold it


# A heading of version notes: "Changes in v3:", "Changes since v2", "v3:",
# "v2 -> v3:", "Changelog:", "Updates in v3", "Changes v2 -> v3".
_HEADING = lazy_re(
    r"^\s{0,3}+(?:(?:changes|changelog|updates|change log|revisions?)\b[^\n]{0,40}?"
    r"(?:\bv(?P<a>\d{1,4})\b(?:\s*+(?:->|=>|\u2192|\.\.|to)\s*+v(?P<b>\d{1,4}))?)?[^\n]{0,20}?"
    r"|v(?P<c>\d{1,4})(?:\s*+(?:->|=>|\u2192|\.\.|to)\s*+v(?P<d>\d{1,4}))?)\s*+:?\s*+$",
    re.I)
_UNDERLINE = lazy_re(r"^\s*+(?:=+|-{3,}+|~+)\s*+$")
_BULLET = lazy_re(r"^(\s{0,8}+)(?:[-*+\u2022]|\d{1,3}[.)])\s++(\S.*)$")
_SHORTLOG = lazy_re(r"^[^\s(][^(\n]{0,80}+(?<= )\(\d{1,5}\):\s*+$")
_DIFFSTAT = lazy_re(r"^ \S.* \| +\d|^ \d+ files? changed")
_END = lazy_re(r"^(?:base-commit|change-id|prerequisite-\S+|--)\s*+:|^-- $|^---\s*$")
_PATCH_NAMES = lazy_re(r"\bpatch(?:es)?\s++#?(\d{1,4})\b((?:\s*+(?:,|and|&|-|/)\s*+#?\d{1,4}\b)*)", re.I)
_CREDIT_END = lazy_re(r"[(\[]\s*+([A-Z][^()\[\]\n]{0,80}?)\s*+[)\]]\s*+[.;]?\s*+$")
_CREDIT_WORDS = lazy_re(r"\b(?:thanks to|suggested by|reported by|pointed out by|per|from)\s++"
                        r"([A-Z][a-z'-]++(?:\s++[A-Z][a-z'-]++)?)", re.I)


def version_notes(series: Series) -> list[Note]:
    """The notes on what changed since the previous version: the cover
    letter's section for this version and every patch's own notes."""
    out: list[Note] = []
    if series.cover is not None:
        out += _notes_in(list(series.cover.body_lines), series.version, 0, cover=True)
    for patch in series.patches:
        out += _notes_in(list(patch_notes_lines(patch)), series.version, patch.index, cover=False)
    return out


def patch_notes_lines(patch: Patch) -> tuple[str, ...]:
    """A patch's lines between the '---' below its changelog and the
    diffstat or diff."""
    body = patch.body_lines
    end = patch.diff_body_start
    start = patch.changelog_body_start + len(patch.changelog_lines)
    while start < end and body[start].rstrip() != "---":
        start += 1
    lines = []
    for text in body[start + 1:end]:
        if _DIFFSTAT.match(text) or text.rstrip() == "---":
            break
        lines.append(text)
    return tuple(lines)


def notes_text(series: Series) -> str:
    """Every note of the version, as one text (for the rules that only
    ask whether something is mentioned)."""
    return "\n".join(n.text for n in version_notes(series))


def _notes_in(lines: list[str], version: int, where: int, cover: bool) -> list[Note]:
    """The items of the sections about this version. A patch's notes with
    no heading at all count whole; in a cover letter only a section under
    a heading does."""
    sections: list[list[str]] = []
    current: list[str] | None = None if cover else []
    headed = False
    i = 0
    while i < len(lines):
        text = lines[i]
        heading = _HEADING.match(text) if text.strip() else None
        if heading and _is_heading(heading, text, lines, i):
            numbers = [int(g) for g in heading.group("a", "b", "c", "d") if g]
            newest = max(numbers) if numbers else None
            if current and not headed and not cover:
                sections.append(current)
            current = [] if newest in (None, version) else None
            if current is not None:
                sections.append(current)
            headed = True
            i += 2 if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) else 1
            continue
        if current is not None:
            if cover and (_SHORTLOG.match(text) or _END.match(text) or _DIFFSTAT.match(text)):
                current = None
            elif (i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) and text.strip()
                  and not _BULLET.match(text)):
                current = None  # another titled section of the cover letter
            else:
                current.append(text)
        i += 1
    if current and not headed and not cover:
        sections.append(current)
    out = []
    for section in sections:
        for item in _items(section):
            out.append(Note(item, _patches_named(item, where), _credits(item), where))
    return out


def _is_heading(m, text: str, lines: list[str], i: int) -> bool:
    """A short line that opens a section: "v3:" alone, "Changes in v3:",
    a title with an underline; not a sentence that happens to start with
    "Changes"."""
    if len(text.split()) > 8:
        return False
    if m.group("c") is not None:
        return True
    return text.rstrip().endswith(":") or (i + 1 < len(lines) and bool(_UNDERLINE.match(lines[i + 1]))) \
        or m.group("a") is not None


def _items(section: list[str]) -> list[str]:
    """Bullet items (with their continuation lines), or the paragraphs of
    prose when there are no bullets (at most three)."""
    items: list[list[str]] = []
    bullets = any(_BULLET.match(t) for t in section)
    if bullets:
        indent = None
        for text in section:
            m = _BULLET.match(text)
            if m and (indent is None or len(m.group(1)) <= indent + 1):
                indent = len(m.group(1)) if indent is None else indent
                items.append([m.group(2)])
            elif m and items:
                items[-1].append(m.group(2))  # a nested item belongs to its parent
            elif text.strip() and items and (text[:1].isspace() or not text.strip()[:1].isupper()):
                items[-1].append(text.strip())
            elif not text.strip() and items:
                items.append([])
        return [" ".join(" ".join(i).split()) for i in items if i]
    para: list[str] = []
    for text in section + [""]:
        if text.strip():
            para.append(text.strip())
        elif para:
            items.append(para)
            para = []
    return [" ".join(" ".join(p).split()) for p in items[:3]]


def _patches_named(item: str, where: int) -> tuple[int, ...]:
    if where:
        return (where,)
    found: list[int] = []
    for m in _PATCH_NAMES.finditer(item[:300]):
        found.append(int(m.group(1)))
        found += [int(n) for n in re.findall(r"\d{1,4}", m.group(2))]
    return tuple(dict.fromkeys(found))


def _credits(item: str) -> tuple[str, ...]:
    names: list[str] = []
    m = _CREDIT_END.search(item[-120:])
    if m:
        for name in re.split(r"\s*+(?:,|\band\b|&)\s*+", m.group(1)):
            name = name.strip()
            if name and name[:1].isupper() and len(name.split()) <= 3 and not any(c.isdigit() for c in name):
                names.append(name)
    names += [m.group(1) for m in _CREDIT_WORDS.finditer(item[:400]) if m.group(1)[:1].isupper()]
    return tuple(dict.fromkeys(names))


def credits_person(credit: str, name: str, email: str = "") -> bool:
    """Does a note's credit ("Kalle", "Sam Carlisle", "kalle.hautala")
    name this person?"""
    credit = credit.strip().lower()
    if not credit:
        return False
    words = name.lower().replace(",", " ").split()
    if credit in words or credit == " ".join(words):
        return True
    local = email.split("@", 1)[0].lower()
    return bool(local) and (credit == local or credit in local.replace(".", " ").split())


# -- which new patch stands for which old one ------------------------------------------

class Successors(NamedTuple):
    """The patches of the new version that carry an old patch on."""
    primary: int | None  # the one with the same title (or the closest)
    others: tuple[int, ...]  # split off from it (its notes say so)
    how: str  # "same title", "renamed", "split", "split, no part keeps the title", "dropped"


_SPLIT_FROM = lazy_re(r"\b(?:split|carved|broken)\s++(?:out\s++)?(?:from|out\s++of|off)\s++(?:patch\s++)?"
                      r"[\"'\u201c]?([^\"'\u201d]{3,200}+)", re.I)


def _summary_key(title: str) -> str:
    return " ".join(split_title(title)[1].lower().split())


def _words(title: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9_/.<>-]+", split_title(title)[1].lower()) if len(w) > 1}


def successors(previous: Series, series: Series) -> dict[int, Successors]:
    """For each patch of the previous version, the patches of this one
    that carry it on."""
    new_by_summary: dict[str, list[int]] = {}
    for p in series.patches:
        new_by_summary.setdefault(_summary_key(p.title), []).append(p.index)
    notes = version_notes(series)
    split_of: dict[int, set[int]] = {}  # old index -> new patches split from it
    old_keys = {p.index: _summary_key(p.title) for p in previous.patches}
    for note in notes:
        if not note.where:
            continue
        for m in _SPLIT_FROM.finditer(note.text):
            said = " ".join(m.group(1).lower().split())
            for old, key in old_keys.items():
                if key and (key in said or said.startswith(key[:40])):
                    split_of.setdefault(old, set()).add(note.where)
    taken: set[int] = set()
    out: dict[int, Successors] = {}
    for old in previous.patches:
        same = [n for n in new_by_summary.get(old_keys[old.index], []) if n not in taken]
        if same:
            taken.add(same[0])
            others = tuple(sorted(split_of.get(old.index, set()) - {same[0]}))
            out[old.index] = Successors(same[0], others, "split" if others else "same title")
    for old in previous.patches:
        if old.index in out:
            continue
        split = tuple(sorted(split_of.get(old.index, set())))
        if split:
            out[old.index] = Successors(None, split, "split, no part keeps the title")
            continue
        best, score = None, 0.0
        old_words, old_files = _words(old.title), {f.path for f in old.files}
        for p in series.patches:
            if p.index in taken:
                continue
            words = _words(p.title)
            files = {f.path for f in p.files}
            s = len(old_words & words) / max(1, len(old_words | words))
            s += 0.5 * len(old_files & files) / max(1, len(old_files | files))
            if s > score:
                best, score = p.index, s
        if best is not None and score >= 0.5:
            taken.add(best)
            out[old.index] = Successors(best, (), "renamed")
        else:
            out[old.index] = Successors(None, (), "dropped")
    return out


# -- where the previous version is ----------------------------------------------------

_CHANGE_ID = lazy_re(r"^change-id:[ \t]++(\S{1,200}+)[ \t]*+$", re.I | re.M)
_LINK = lazy_re(r"(?:\blink to v(?P<a>\d{1,4})\b|\bv(?P<b>\d{1,4})\b|\bprevious (?:version|posting|revision)\b)"
                r"[^\n]{0,40}?(?P<url>https?://[^\s<>\"]{1,400}+)", re.I)
_MSGID_IN_URL = lazy_re(r"^https?://[^/\s]++/(?:[^/\s]++/)*?([^/\s]*@[^/\s]++)")


def _intro_text(series: Series) -> list[str]:
    """The text of the cover letter, else of the first patch, before its diff."""
    first = series.cover or (series.patches[0] if series.patches else None)
    if first is None:
        return []
    return list(first.body_lines[:first.diff_body_start])


def change_id(series: Series) -> str | None:
    """The b4 change-id of the series (in its cover letter or first patch)."""
    m = _CHANGE_ID.search("\n".join(_intro_text(series)))
    return m.group(1) if m else None


def previous_links(series: Series) -> list[str]:
    """Message-IDs of earlier versions the notes link to ("Link to v2:
    https://patch.msgid.link/<id>", "v1: https://lore.kernel.org/r/<id>"),
    the version before this one first."""
    from urllib.parse import unquote

    texts = _intro_text(series) + [t for p in series.patches for t in patch_notes_lines(p)]
    found: list[tuple[int, str]] = []
    for m in _LINK.finditer("\n".join(texts)):
        version = int(m.group("a") or m.group("b") or 0)
        if version and version >= series.version:
            continue
        url = m.group("url").rstrip(".,;)>")
        mid = _MSGID_IN_URL.match(url)
        if mid:
            found.append((version, unquote(mid.group(1))))
    wanted = series.version - 1
    found.sort(key=lambda f: (f[0] != wanted, -f[0]))
    return list(dict.fromkeys(mid for _, mid in found))


def search_query(series: Series) -> str | None:
    """The archive search b4 makes for the earlier versions of a series
    (b4.mbox.get_extra_series): the change-id when there is one, else the
    subject and the sender, within the year before this posting."""
    import email.utils
    import time

    first = series.cover or (series.patches[0] if series.patches else None)
    if first is None:
        return None
    cid = change_id(series)
    if cid:
        query = f'nq:"change-id: {cid}"'
    else:
        sender = first.author.email
        title = first.title.replace('"', "")
        if not sender or not title:
            return None
        query = f'(s:"{title}" AND f:"{sender}")'
    parsed = email.utils.parsedate_tz(first.date or "")
    if parsed is None:
        return query
    when = email.utils.mktime_tz(parsed)
    start = time.strftime("%Y%m%d", time.gmtime(when - 365 * 86400))
    end = time.strftime("%Y%m%d", time.gmtime(when + 86400))
    return f"({query}) AND d:{start}..{end}"
