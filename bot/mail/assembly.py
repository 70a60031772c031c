"""From messages to series: a thread (or a loose mbox) becomes the Series
the rules review. b4 decides which messages form a series (see b4glue); a
lone patch, or messages with no [PATCH] subjects, need no b4."""
from __future__ import annotations


from ..common import NamedTuple, UserError, lazy_re
from .b4glue import SeriesPlan, is_patch_message, is_threaded, plan_revisions, plan_series
from .model import Patch, Series
from .parse import decode_header_value, message_id, patch_from_message
from .remarks import remarks_in
from .subjects import parse_subject

_REF = lazy_re(r"<([^<>\s]+)>")

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from email.message import Message


def assemble(messages: list[Message], version: int | None = None, where: str = "input") -> Series:
    """Turn the messages of a thread (or a loose mbox) into one Series."""
    plan = plan_series(messages, version, where) if needs_b4(messages) else None
    return build_series(messages, version, where, plan)


def versions_in(messages: list[Message]) -> set[int]:
    """The versions the [PATCH] subjects of the messages name (no b4)."""
    out = set()
    for msg in messages:
        subject = parse_subject(decode_header_value(msg.get("Subject")), is_threaded(msg))
        if not subject.is_reply and any(t.upper() == "PATCH" for t in subject.tags):
            out.add(subject.version)
    return out


def previous_in(messages: list[Message], version: int, where: str = "input",
                newest_if_none: bool = False) -> Series | None:
    """The newest version below `version` that the messages hold, put
    together by b4, with the thread's other mails as its replies (its
    review). None when they hold none; with newest_if_none, their newest
    version then (an earlier posting given by hand)."""
    if not messages:
        return None
    if len(messages) == 1 or not needs_b4(messages):
        try:
            series = build_series(messages, None, where, None)
        except UserError:
            return None
        return series if series.version < version or newest_if_none else None
    plans = [plan for plan, _complete in plan_revisions(messages)]
    below = [p for p in plans if p.version < version]
    chosen = max(below, key=lambda p: p.version) if below else (
        max(plans, key=lambda p: p.version) if plans and newest_if_none else None)
    if chosen is None:
        return None
    try:
        return build_series(messages, chosen.version, where, chosen)
    except UserError:
        return None


def needs_b4(messages: list[Message]) -> bool:
    return len(messages) > 1 and any(is_patch_message(m) for m in messages)


def parse_all(messages: list[Message], where: str) -> list[Patch | None]:
    """Every message as a Patch, None where it cannot be read (build_series
    parses that one again when it needs it, for its error message)."""
    out: list[Patch | None] = []
    for i, msg in enumerate(messages):
        try:
            out.append(patch_from_message(msg, f"{where} message {i + 1}"))
        except UserError:
            out.append(None)
    return out


def build_series(messages: list[Message], version: int | None, where: str,
                 plan: SeriesPlan | None, parsed: list[Patch | None] | None = None) -> Series:
    """The Series that plan describes; without a plan, every message with a
    diff is a patch. parsed: the messages already parsed by parse_all."""
    def patch_at(pos: int, label: str) -> Patch:
        if parsed is not None and parsed[pos] is not None:
            return parsed[pos]
        return patch_from_message(messages[pos], label)

    if len(messages) == 1:
        patch = patch_at(0, where)
        if not patch.files:
            raise UserError(f"{where}: no patch found in the message")
        missing = tuple(i for i in range(1, patch.total + 1) if i != patch.index)
        return Series(title=patch.title, version=patch.version, total=patch.total, cover=None,
                      patches=(patch,), missing=missing)
    if plan is not None:
        return _series_from_plan(messages, plan, where, patch_at)
    if version is not None:
        raise UserError(f"{where}: no version {version} of a series found")
    # No series b4 can put together (git format-patch without --thread writes
    # no Message-IDs, which b4 needs): every message with a diff is a patch.
    patches = []
    others = []
    remarks = []
    for i in range(len(messages)):
        p = patch_at(i, f"{where} message {i + 1}")
        if is_standalone_patch(p):
            patches.append(p)
        else:
            others.append(p)
            remarks += remarks_in(p)
    if not patches:
        raise UserError(f"{where}: no patch found in {len(messages)} messages")
    numbered = _numbered_series(patches, others)
    if numbered is not None:
        cover = numbered.cover
        return numbered._replace(remarks=tuple(remarks), replies=tuple(p for p in others if p is not cover))
    total = len(patches)
    patches = [_renumber(p, i + 1, total) for i, p in enumerate(patches)]
    return Series(title=patches[0].title, version=patches[0].version, total=total, cover=None,
                  patches=tuple(patches), remarks=tuple(remarks), replies=tuple(others))


def _numbered_series(patches: list[Patch], others: list[Patch]) -> Series | None:
    """The series the [PATCH vV N/M] numbers of the patches describe, with
    the one [PATCH vV 0/M] among the other messages as its cover (a folder
    `git format-patch --cover-letter` wrote without --thread); None when
    the numbers do not make one series."""
    version, total = patches[0].version, patches[0].total
    indices = [p.index for p in patches]
    if total < 1 or (total == 1 and not others) or len(set(indices)) != len(indices) or any(
            p.version != version or p.total != total or not 1 <= p.index <= total for p in patches):
        return None
    covers = [p for p in others if p.index == 0 and p.total == total and p.version == version
              and not p.files and any(t.upper() == "PATCH" for t in p.tags)
              and not parse_subject(p.subject, bool(p.in_reply_to or p.references)).is_reply]
    cover = covers[0] if len(covers) == 1 else None
    patches = sorted(patches, key=lambda p: p.index)
    missing = tuple(i for i in range(1, total + 1) if i not in set(indices))
    return Series(title=cover.title if cover is not None else patches[0].title, version=version,
                  total=total, cover=cover, patches=tuple(patches), missing=missing)


def is_standalone_patch(p: Patch) -> bool:
    """A message with a diff that is not a reply: a patch in its own right."""
    return bool(p.files) and not parse_subject(p.subject, bool(p.in_reply_to or p.references)).is_reply


def _renumber(p: Patch, index: int, total: int) -> Patch:
    return p._replace(index=index, total=total)


def _series_from_plan(messages: list[Message], plan: SeriesPlan, where: str, patch_at) -> Series:
    def label(pos: int) -> str:
        return f"{where}: {decode_header_value(messages[pos].get('Subject'))}"

    cover = patch_at(plan.cover, label(plan.cover)) if plan.cover is not None else None
    patches = [patch_at(pos, label(pos)) for pos in plan.patches]
    present = {p.index for p in patches}
    missing = tuple(i for i in range(1, plan.expected + 1) if i not in present)
    if not patches:
        raise UserError(f"{where}: the thread has a cover letter but no patches")
    for p in patches:
        if not p.files:
            raise UserError(f"{where}: no diff found in '{p.subject}'")
    used = set(plan.patches) | ({plan.cover} if plan.cover is not None else set())
    remarks = []
    replies = []
    for pos in range(len(messages)):
        if pos in used:
            continue
        try:
            reply = patch_at(pos, where)
        except UserError:
            continue
        remarks += remarks_in(reply)
        replies.append(reply)
    title = cover.title if cover is not None else patches[0].title
    return Series(title=title, version=plan.version, total=plan.expected, cover=cover,
                  patches=tuple(patches), missing=missing, remarks=tuple(remarks), replies=tuple(replies))


# -- a loose mbox: threads first ---------------------------------------------------


def split_threads(heads: list[Message]) -> list[list[int]]:
    """The threads of a loose mbox, as positions in heads (headers are
    enough), each in input order, threads in the order of their first mail.

    A mail joins every message its References and In-Reply-To name, so a
    reply whose parent is missing still joins the thread of any message its
    References share; a mail with no Message-ID and no parent is a thread of
    its own."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        top = key
        while parent.get(top, top) != top:
            top = parent[top]
        while key != top:  # path compression: the next look-up is one step
            parent[key], key = top, parent[key]
        return top

    keys = []
    for pos, msg in enumerate(heads):
        own = message_id(msg) or f"\0{pos}"
        keys.append(own)
        links = _REF.findall(decode_header_value(msg.get("References")))
        links += _REF.findall(decode_header_value(msg.get("In-Reply-To")))
        mine = root(own)
        for link in links:
            theirs = root(link)
            if theirs != mine:
                parent[theirs] = mine
    threads: dict[str, list[int]] = {}
    for pos, key in enumerate(keys):
        threads.setdefault(root(key), []).append(pos)
    return list(threads.values())


def join_unthreaded_parts(heads: list[Message], threads: list[list[int]]) -> list[list[int]]:
    """Put back together a series sent without threading (each N/M patch a
    thread of its own): lone numbered mails from one sender with the same
    version and count join the first of them, as b4 would assemble them,
    until a number repeats."""
    from email.utils import parseaddr


    out: list[list[int]] = []
    open_parts: dict[tuple, tuple[list[int], set[int]]] = {}
    for thread in threads:
        if len(thread) == 1:
            msg = heads[thread[0]]
            subject = parse_subject(decode_header_value(msg.get("Subject")), is_threaded(msg))
            if subject.total > 1 and not subject.is_reply and "PATCH" in (t.upper() for t in subject.tags):
                sender = parseaddr(decode_header_value(msg.get("From")))[1].lower()
                key = (sender, subject.version, subject.total)
                joined = open_parts.get(key)
                if joined is not None and subject.index not in joined[1]:
                    joined[0].append(thread[0])
                    joined[1].add(subject.index)
                    continue
                thread = list(thread)
                open_parts[key] = (thread, {subject.index})
        out.append(thread)
    return out


class ThreadVersions(NamedTuple):
    """What the [PATCH] subjects of one thread say, before any b4: the
    series title (of its cover letter, else its first patch) and, per
    version, the patch numbers seen and the count announced."""
    title: str | None
    seen: dict[int, tuple[set[int], int]]
    author: str  # the address of whoever wrote the series (an in-body From: counts)

    def complete(self, version: int) -> bool:
        numbers, total = self.seen[version]
        return all(i in numbers for i in range(1, total + 1))


def thread_versions(heads: list[Message], positions: list[int]) -> ThreadVersions:
    title = cover_title = None
    author = ""
    seen: dict[int, tuple[set[int], int]] = {}
    for pos in positions:
        subject = parse_subject(decode_header_value(heads[pos].get("Subject")), is_threaded(heads[pos]))
        if subject.is_reply or not any(t.upper() == "PATCH" for t in subject.tags):
            continue
        numbers, total = seen.setdefault(subject.version, (set(), 1))
        numbers.add(subject.index)
        seen[subject.version] = (numbers, max(total, subject.total))
        if title is None:
            title = subject.title
            author = posting_author(heads[pos])
        if subject.index == 0 and cover_title is None:
            cover_title = subject.title
    title = cover_title or title
    return ThreadVersions(" ".join(title.casefold().split()) if title else None, seen, author)


_IN_BODY_FROM = lazy_re(rb"\A\s{0,8}+From: ?([^\n]{1,300}+)\n")


def posting_author(msg: Message) -> str:
    """Who wrote a posting, as a lower-cased address: the in-body From: of
    a patch sent on someone's behalf (git format-patch puts it first), else
    the sender."""
    from email.utils import parseaddr

    value = decode_header_value(msg.get("From"))
    try:
        body = msg.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - an odd part is no reason to fail: the sender stands
        body = None
    if isinstance(body, bytes) and (m := _IN_BODY_FROM.match(body[:400])):
        value = m.group(1).decode("utf-8", "replace")
    return (parseaddr(value)[1] or value).strip().lower()


class ThreadPlan(NamedTuple):
    """One thread to review, and what to tell about the postings of the same
    series that were left out for it."""
    positions: list[int]
    notes: tuple[str, ...] = ()
    # The posting of the version before it, when the input holds it as a
    # thread of its own (for the follow-up on its review).
    previous: tuple[int, ...] = ()


def plan_threads(heads: list[Message], version: int | None) -> tuple[list[ThreadPlan], list[str]]:
    """The threads to review, in input order, and notes on threads left out.

    Unthreaded postings of one series (the same title: a re-send, a v2 sent
    as a new thread) collapse to one, as b4 would: the version asked for,
    else the newest complete one, else the newest; the latest posting wins
    a tie. With a version asked for, a thread whose subjects do not have it
    is left out with a note (a thread of several mails is left to b4)."""
    threads = join_unthreaded_parts(heads, split_threads(heads))
    info = [thread_versions(heads, t) for t in threads]
    by_title: dict[str, list[int]] = {}
    for n, v in enumerate(info):
        if v.title is not None:
            by_title.setdefault(v.title, []).append(n)
    groups: dict[object, list[int]] = {}  # one group per series
    for title, members in by_title.items():
        for k, series in enumerate(_same_series(members, info)):
            groups[(title, k)] = series
    group_of = {n: key for key, members in groups.items() for n in members}
    chosen: dict[int, tuple[str, ...]] = {}
    earlier: dict[int, tuple[int, ...]] = {}
    notes: list[str] = []
    for n, v in enumerate(info):
        if v.title is None or len(groups[group_of[n]]) == 1:
            if version is not None and v.seen and version not in v.seen and len(threads[n]) == 1:
                notes.append(f"{_thread_name(heads, threads[n])}: no version {version}; left out")
            else:
                chosen[n] = ()
    for members in (g for g in groups.values() if len(g) > 1):
        pick = _pick_posting([info[n] for n in members], version)
        if pick is None:
            notes.append(f"{_thread_name(heads, threads[members[0]])}: no version {version} in its "
                         f"{len(members)} postings; left out")
            continue
        keep = members[pick]
        left = [f"v{max(info[n].seen)} ({_thread_name(heads, threads[n], title=False)}, "
                f"{'the same author' if info[n].author == info[keep].author else 'another version'})"
                for n in members if n != keep]
        chosen[keep] = (f"other postings of this series in the input, not reviewed: {', '.join(left)}",)
        reviewed = version if version in info[keep].seen else max(info[keep].seen)
        older = [n for n in members if n != keep and min(info[n].seen) < reviewed]
        if older:
            prev = max(older, key=lambda n: (max(v for v in info[n].seen if v < reviewed), n))
            earlier[keep] = tuple(threads[prev])
    plans = [ThreadPlan(threads[n], chosen[n], earlier.get(n, ())) for n in sorted(chosen)]
    return plans, notes


def _same_series(members: list[int], info: list[ThreadVersions]) -> list[list[int]]:
    """Postings with one title, split into series: one author's postings
    are one series; another author's join it only with versions it does not
    have (a v2 that someone else took over). Two v1 postings by two people
    ("x86/tdx: Fix a typo") are two series."""
    series: list[tuple[list[int], set[str], set[int]]] = []  # members, authors, versions
    for n in members:
        versions = set(info[n].seen)
        home = next((s for s in series if info[n].author in s[1]), None) or next(
            (s for s in series if not versions & s[2]), None)
        if home is None:
            series.append(([n], {info[n].author}, versions))
        else:
            home[0].append(n)
            home[1].add(info[n].author)
            home[2].update(versions)
    return [s[0] for s in series]


def _pick_posting(postings: list[ThreadVersions], version: int | None) -> int | None:
    """Which of several postings of one series to review (see plan_threads)."""
    def last_with(revision: int) -> int:
        return max(i for i, p in enumerate(postings) if revision in p.seen)

    if version is not None:
        return last_with(version) if any(version in p.seen for p in postings) else None
    complete = [r for p in postings for r in p.seen if p.complete(r)]
    return last_with(max(complete) if complete else max(r for p in postings for r in p.seen))


def _thread_name(heads: list[Message], positions: list[int], title: bool = True) -> str:
    """'<first Message-ID>' of a thread, with its first subject."""
    first = heads[positions[0]]
    name = f"<{message_id(first) or '?'}>"
    if title:
        name = f"{decode_header_value(first.get('Subject'))!r} {name}"
    return name
