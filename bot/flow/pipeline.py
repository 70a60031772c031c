"""The review flow behind every command: options from the command line and
git config, inputs to series, series to reviews, reviews to drafts.

cli.py parses arguments and calls these; tests call them directly.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable

from ..common import NamedTuple, UserError
from ..lint import (BINARY_NOT_READ, NOT_READ, SERIES_SECONDS, Finding, Options, Review, check_patch,
                    review_series, split_by_scope)
from ..mail import (DEFAULT_LORE_URL, assemble, build_series, fetch_thread, is_standalone_patch,
                    LinesAtHead, load_git_series, load_raw, needs_b4, parse_all,
                    parse_message, parse_msgid_arg, plan_series_in_child,
                    plan_threads, printable)
from ..output import draft_replies, is_help_url, write_drafts
from .checkpatch import checkpatch_findings, checkpatch_path, merge
from .config import sender_address
from .fixgit import plan_fixes, write_fixes
from .forked import collector_resting, work_shared
from .options import build_options, note, scope_note, warn
from .previous import PreviousLookup, attach_previous
from .threads import (ThreadJob, first_id, keep_what_threads_read, review_threads, slim_review,
                      thread_messages)

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from .config import Settings

# Below this many messages a second process costs more than it saves.
PARALLEL_MIN_MESSAGES = 64


def sarif_help_url(settings: Settings | None) -> str | None:
    """git config tdxbot.help-url, where SARIF's rule links point (None:
    the rules document installed with tdxbot, see rulesdoc)."""
    url = settings.get("tdxbot.help-url") if settings is not None else None
    if url and not is_help_url(url):
        warn(f"git config tdxbot.help-url: {url!r} is not an http(s) or file URL; ignored")
        return None
    return url


# -- reviewing mail -------------------------------------------------------------


def review_local(sources: list[str], version: int | None, options: Options,
                 on_review: Callable[[Review], None] | None = None,
                 previous: PreviousLookup = PreviousLookup()) -> list[Review]:
    """A review of every series in the local inputs (paths, '-'), in input
    order. The mails are split into threads first and each thread's series
    is reviewed on its own (assembly.plan_threads says which threads).

    on_review sees each whole review (to draft replies); the reviews
    returned keep only what the reports read (see slim_review), so memory
    does not grow with the patches of a big mbox."""
    if sources.count("-") > 1:
        raise UserError("'-' (stdin) given more than once")
    raws: list[bytes | None] = []
    heads: list = []
    for src in sources:
        where, got = load_raw(src)
        # The small reader where it can: the headers are all that threading
        # needs, and a lone patch's thread needs nothing more.
        heads += [parse_message(raw, where, lite=True) for raw in got]
        raws += got
    where = sources[0] if len(sources) == 1 else f"{len(sources)} inputs"
    where = "<stdin>" if where == "-" else where
    plans, notes = plan_threads(heads, version)
    for text in notes:
        note(f"{where}: {text}")
    if len(plans) == 1 and not notes:  # one thread: its errors are the input's
        earlier = thread_messages(list(plans[0].previous), heads, raws, where) if plans[0].previous else None
        review = review_messages(thread_messages(plans[0].positions, heads, raws, where),
                                 version, where, options, previous=previous, earlier=earlier)
        review.notes.extend(plans[0].notes)
        if on_review is not None:
            on_review(review)
        return [slim_review(review)]
    jobs = [ThreadJob(plan, f"{where}, thread <{first_id(heads[plan.positions[0]])}>")
            for plan in plans]
    keep_what_threads_read(plans, heads, raws)
    share = sum(len(job.plan.positions) for job in jobs) >= PARALLEL_MIN_MESSAGES and usable_cpus() > 1
    outcomes = review_threads(jobs, heads, raws, version, options, keep_whole=on_review is not None,
                              fork=share, previous=previous)
    reviews, errors = [], []
    for outcome in outcomes:
        if isinstance(outcome, str):
            errors.append(outcome)
            note(f"{outcome}; thread left out")
        elif on_review is not None:
            on_review(outcome)  # whole: the drafts quote the patches
            reviews.append(slim_review(outcome))
        else:
            reviews.append(outcome)  # slimmed already
    if not reviews:
        if version is not None:
            raise UserError(f"{where}: no thread has a version {version} of a series")
        raise UserError(errors[0] if errors else f"{where}: no patch found")
    return reviews


def review_remote(source: str, lore_url: str | None, version: int | None, timeout: float,
                  options: Options, previous: PreviousLookup = PreviousLookup()) -> Review:
    """The review of the thread a Message-ID or lore URL names; its
    previous version is looked for on the same archive."""
    msgid, url_base = parse_msgid_arg(source)
    base = url_base or lore_url or DEFAULT_LORE_URL
    messages = fetch_thread(msgid, base, timeout)
    return review_messages(messages, version, msgid, options, previous=previous, remote_base=base)


def review_messages(messages, version: int | None, where: str, options: Options,
                    parallel_min: int = PARALLEL_MIN_MESSAGES, previous: PreviousLookup = PreviousLookup(),
                    earlier: list | None = None, remote_base: str | None = None) -> Review:
    """Assemble and review one thread or mbox. A big one on a machine with a
    spare core has b4 pick the series in a child process while this one
    parses every patch; then this process and a second child share the
    per-patch rules (forked.work_shared), the second child taking up the
    core once b4 is done. Patches that turn out not to be in the series
    are checked for nothing, which is cheaper than waiting for b4."""
    if len(messages) < parallel_min or usable_cpus() < 2 or not needs_b4(messages):
        series = attach_previous(assemble(messages, version, where), messages, previous, where, earlier,
                                 remote_base)
        with collector_resting():  # as in the shared path: a pass would only walk live objects
            return review_series(series, options)
    wait_for_plan = plan_series_in_child(messages, version, where)
    parsed = parse_all(messages, where)
    standalone = [p for p in parsed if p is not None and is_standalone_patch(p)]
    with collector_resting():
        until = time.monotonic() + SERIES_SECONDS  # the budget of the whole input, as in review_series
        findings = work_shared(standalone, lambda patch: check_patch(patch, options, until))
    checked = {id(p): (p, found) for p, found in zip(standalone, findings)}
    plan, earlier_plan = wait_for_plan()
    series = build_series(messages, version, where, plan, parsed)
    in_thread = None
    if earlier_plan is not None:
        try:
            in_thread = build_series(messages, earlier_plan.version, where, earlier_plan, parsed)
        except UserError:
            in_thread = None
    series = attach_previous(series, messages, previous, where, earlier, remote_base,
                             in_thread=in_thread, thread_looked=True)
    return review_series(series, options, checked)


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# -- drafts -----------------------------------------------------------------------


def write_reply_drafts(reviews: list[Review], settings: Settings, sender_arg: str | None,
                       folder: str) -> list[str]:
    """Draft every review's replies into folder; the paths written."""
    write = draft_writer(settings, sender_arg, folder)
    for review in reviews:
        write(review)
    return write.written


class draft_writer:  # noqa: N801 - used as a function that remembers what it wrote
    """write(review) drafts one review's replies into folder; write.written
    lists the paths so far. The sender is checked here, before any review."""

    def __init__(self, settings: Settings, sender_arg: str | None, folder: str):
        from datetime import datetime, timezone


        self.sender = sender_address(settings, sender_arg)
        if self.sender is None:
            if sender_arg:
                raise UserError(f"--from: not an address: {sender_arg!r}")
            raise UserError("no sender for the drafts: pass --from 'Name <you@example.org>' or "
                            "set git config tdxbot.from (or user.name and user.email)")
        self.now = datetime.now(timezone.utc).astimezone()
        self.folder = folder
        self.written: list[str] = []

    def __call__(self, review: Review) -> None:
        drafts = draft_replies(review, self.sender, self.now)
        by_index = {p.index: p for p in review.series.patches}
        if review.series.cover is not None:
            by_index[0] = review.series.cover
        for draft in drafts:
            patch = by_index.get(draft.patch_index)
            if patch is not None and draft.message["In-Reply-To"] is None:
                warn(f"the draft to '{printable(patch.subject)}' is not threaded: the patch has no "
                     "Message-ID a reply header may carry")
        self.written += write_drafts(drafts, self.folder)


# -- a git branch -----------------------------------------------------------------


class BranchCheck(NamedTuple):
    review: Review | None  # None: no patch in scope, nothing was checked
    settings: Settings
    options: Options
    skipped: str | None  # why nothing was checked
    root: str = ""  # the work tree's top folder
    # The review as the tree at HEAD has it, for the reports: each finding at
    # its line in HEAD's files (review keeps each patch's own lines: the
    # drafts quote the patches, and --fix checks each fix against its commit).
    at_head: Review | None = None
    commits: dict[int, str] | None = None  # patch index -> its commit


def review_branch(revs: list[str], paths: list[str], settings_for, ignore, select,
                  with_checkpatch: bool, review_all: bool = False) -> BranchCheck:
    """The review of a git branch: the b4 prep series, else the commits
    `git rev-list revs -- paths` picks. settings_for(root) reads the
    repository's git config. Patches outside the scope are left out."""
    chosen = {}

    def scope_in_git(root: str):
        """The scope is applied while git lists the range: commits outside
        it are never turned into mails (10,000 of them cost seconds, not
        minutes)."""
        settings = chosen["settings"] = settings_for(root)
        scope, complaint = settings.scope()
        if complaint:
            warn(complaint)
        return None if review_all or scope == "all" else split_by_scope

    gs = load_git_series(revs, paths, scope=scope_in_git)
    settings = chosen.get("settings") or settings_for(gs.root)
    options = build_options(settings, ignore, select)
    series, left_out = gs.series, gs.left_out
    if not series.patches:
        return BranchCheck(None, settings, options,
                           f"no patch in {gs.range_text} touches TDX or names it in its subject; "
                           "nothing to check ('tdxbot check --all' checks them anyway)")
    review = review_series(series, options)
    review.findings += [Finding(rule=BINARY_NOT_READ, severity="warning", patch_index=u.patch_index,
                                message_id=u.message_id, message=f"{u.path or 'the patch'} was not read: {u.why}")
                        for u in gs.unread]
    # Before sending, code tdxbot did not read must not pass quietly: what
    # is a note in a review of the list is a warning here.
    review.findings = [f._replace(severity="warning") if f.rule in NOT_READ and f.rank < 1 else f
                       for f in review.findings]
    review.notes.extend(gs.notes)
    review.notes.insert(0, f"checked {gs.range_text}")
    if left_out:
        review.notes.append(scope_note(left_out))
    if with_checkpatch:
        if checkpatch_path(gs.root) is None:
            raise UserError(f"--checkpatch: no scripts/checkpatch.pl in {gs.root}")
        found, notes = checkpatch_findings(series, gs.mails, gs.root)
        review.findings = merge(review.findings, found)
        review.notes.extend(notes)
        for text in notes[:1]:
            warn(text)
    return BranchCheck(review, settings, options, None, gs.root, at_head(review, gs), gs.commits)


def at_head(review: Review, gs) -> Review:
    """The review with every code finding moved to its line in HEAD's tree
    (a later commit may have added lines above it). A finding on a line a
    later commit rewrote or removed is reported against its commit, with a
    note, rather than at a line number that is now wrong. The patches'
    first changed files are moved too: SARIF places a remark on a commit at
    the first line its patch adds."""
    head = gs.commits.get(max(gs.commits)) if gs.commits else None
    older = {p.index: gs.commits[p.index] for p in review.series.patches
             if gs.commits.get(p.index) not in (None, head)}
    if not older:
        return review
    wanted: dict[tuple[str, str], set[int]] = {}
    for f in review.findings:
        if f.patch_index in older and f.path is not None and f.line is not None:
            lines = wanted.setdefault((older[f.patch_index], f.path), set())
            lines.add(f.line)
            lines.update(n for e in f.fix for n in (e.line, e.end_line))
    firsts = {}
    for patch in review.series.patches:
        diff = next((d for d in patch.files if not d.is_deleted and not d.is_binary and d.added_lines()), None)
        if patch.index in older and diff is not None:
            firsts[patch.index] = diff
            wanted.setdefault((older[patch.index], diff.path), set()).update(diff.added_line_numbers)
    history = LinesAtHead(gs.root, min(older.items())[1], {path for _c, path in wanted})
    moved = {key: history.map(key[0], key[1], lines) for key, lines in wanted.items()}
    findings, notes = [], list(review.notes)
    for f in review.findings:
        where = moved.get((older.get(f.patch_index), f.path)) if f.path is not None else None
        if where is None or f.line is None:
            findings.append(f)
            continue
        line = where.get(f.line)
        if line is None:
            notes.append(f"[{f.patch_index}/{review.series.total}] {f.path}:{f.line} ({f.rule}): a later "
                         "commit rewrote that line; the finding is reported against its commit")
            findings.append(f._replace(path=None, line=None, column=None, fix=()))
            continue
        fix = tuple(e._replace(line=where[e.line], end_line=where[e.end_line]) for e in f.fix)
        if any(e.line is None or e.end_line is None for e in fix):
            fix = ()
        findings.append(f._replace(line=line, fix=fix))
    patches = []
    for patch in review.series.patches:
        diff = firsts.get(patch.index)
        if diff is not None:
            where = moved[(older[patch.index], diff.path)]
            files = tuple(_lines_moved(d, where) if d is diff else d for d in patch.files)
            patch = patch._replace(files=files)
        patches.append(patch)
    return Review(review.series._replace(patches=tuple(patches)), findings, notes)


def _lines_moved(diff, where: dict[int, int | None]):
    """A file's diff with its added lines at their lines in HEAD's tree; a
    line a later commit rewrote is left out."""
    hunks = []
    for hunk in diff.hunks:
        lines = tuple(ln._replace(new_no=where[ln.new_no]) if ln.added else ln for ln in hunk.lines
                      if not ln.added or where.get(ln.new_no) is not None)
        hunks.append(hunk._replace(lines=lines))
    return diff._replace(hunks=tuple(hunks))


# -- scope ------------------------------------------------------------------------


def fix_branch(checked: BranchCheck, write: bool):
    """The certain fixes of a checked branch: written to the work tree
    (write), or only worked out (for --diff). Returns the FixResult."""
    result = plan_fixes(checked.review, checked.root)
    if write:
        write_fixes(result, checked.root)
    return result
