"""The review flow behind every command: options from the command line and
git config, inputs to series, series to reviews, reviews to drafts.

cli.py parses arguments and calls these; tests call them directly.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple

from .errors import UserError

if TYPE_CHECKING:
    from .assembly import ThreadPlan
    from .config import Settings
    from .engine import Options
    from .model import Review, Series

# Below this many messages a second process costs more than it saves.
PARALLEL_MIN_MESSAGES = 64


def split_ids(values: Iterable[str] | None) -> set[str]:
    """Rule ids from repeatable, comma- or space-separated option values."""
    out: set[str] = set()
    for v in values or []:
        out.update(x.strip() for x in v.replace(",", " ").split() if x.strip())
    return out


def build_options(settings: Settings, ignore: Iterable[str] | None = None,
                  select: Iterable[str] | None = None) -> Options:
    """Options from the command line (unknown ids are an error) and git
    config (unknown ids are reported and skipped: the same config serves b4's
    per-patch checks, which should keep running)."""
    from .engine import Options, validate_rule_ids

    ignored = split_ids(ignore)
    validate_rule_ids(ignored, "--ignore")
    selected = split_ids(select) or None
    if selected:
        validate_rule_ids(selected, "--select")
    cfg_ignore = known_ids(settings.ignored(), "git config tdxbot.ignore")
    severities = {rid: sev for rid, sev in settings.severities().items()
                  if rid in known_ids({rid}, "git config tdxbot.severity")}
    for rid, sev in list(severities.items()):
        if sev not in ("error", "warning", "info"):
            warn(f"git config tdxbot.severity.{rid}: {sev!r} is not error, warning or info; ignored")
            del severities[rid]
    return Options(ignore=frozenset(ignored | cfg_ignore),
                   select=frozenset(selected) if selected else None,
                   severity=tuple(sorted(severities.items())))


def known_ids(ids: set[str], where: str) -> set[str]:
    """The known ones of ids; the others are reported on stderr."""
    from .engine import all_rules

    known = {r.id for r in all_rules()}
    unknown = sorted(set(ids) - known)
    if unknown:
        warn(f"{where}: unknown rule id(s): {', '.join(unknown)}; ignored")
    return set(ids) & known


def warn(text: str) -> None:
    print(f"tdxbot: warning: {text}", file=sys.stderr)


def note(text: str) -> None:
    print(f"tdxbot: note: {text}", file=sys.stderr)


# -- reviewing mail -------------------------------------------------------------


def review_local(sources: list[str], version: int | None, options: Options,
                 on_review: Callable[[Review], None] | None = None) -> list[Review]:
    """A review of every series in the local inputs (paths, '-'), in input
    order. The mails are split into threads first and each thread's series
    is reviewed on its own (assembly.plan_threads says which threads).

    on_review sees each whole review (to draft replies); the reviews
    returned keep only what the reports read (see slim_review), so memory
    does not grow with the patches of a big mbox."""
    from .assembly import plan_threads
    from .sources import load_raw, parse_message

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
        review = review_messages(_thread_messages(plans[0].positions, heads, raws, where),
                                 version, where, options)
        review.notes.extend(plans[0].notes)
        return [_deliver(review, on_review)]
    jobs = [ThreadJob(plan, f"{where}, thread <{_first_id(heads[plan.positions[0]])}>")
            for plan in plans]
    _keep_what_threads_read(plans, heads, raws)
    outcomes = _review_threads(jobs, heads, raws, version, options, keep_whole=on_review is not None)
    reviews, errors = [], []
    for outcome in outcomes:
        if isinstance(outcome, str):
            errors.append(outcome)
            note(f"{outcome}; thread left out")
        elif on_review is not None:
            reviews.append(_deliver(outcome, on_review))
        else:
            reviews.append(outcome)  # slimmed already
    if not reviews:
        if version is not None:
            raise UserError(f"{where}: no thread has a version {version} of a series")
        raise UserError(errors[0] if errors else f"{where}: no patch found")
    return reviews


def _review_threads(jobs: list[ThreadJob], heads: list, raws: list, version: int | None,
                    options: Options, keep_whole: bool) -> list:
    """Each job's review (slimmed unless keep_whole) or its error message,
    in order. With a spare core and enough mails, a forked child shares
    the threads (forked.work_shared)."""
    from .assembly import assemble
    from .engine import all_rules, review_series
    from .forked import work_shared

    def work(job: ThreadJob):
        try:
            messages = _thread_messages(job.plan.positions, heads, raws, job.where)
            for pos in job.plan.positions:  # read once: let the bytes go
                heads[pos] = raws[pos] = None
            review = review_series(assemble(messages, version, job.where), options)
        except UserError as exc:
            return str(exc)
        finally:
            after_thread()
        review.notes.extend(job.plan.notes)
        return review if keep_whole else slim_review(review)

    share = sum(len(job.plan.positions) for job in jobs) >= PARALLEL_MIN_MESSAGES and usable_cpus() > 1
    if share:
        all_rules()  # imported once, before the fork, for both processes
    with _sparing_gc() as after_thread:
        return work_shared(jobs, work, fork=share)


class ThreadJob(NamedTuple):
    plan: ThreadPlan
    where: str


def _thread_messages(positions: list[int], heads: list, raws: list, where: str) -> list:
    """The mails of a thread: a lone mail as read for threading, more as
    email.message objects (b4 wants those)."""
    from .sources import parse_message

    if len(positions) == 1:
        return [heads[positions[0]]]
    return [parse_message(raws[p], where) for p in positions]


def _keep_what_threads_read(plans: list[ThreadPlan], heads: list, raws: list) -> None:
    """Let go of each mail's copy its thread will not read (see
    _thread_messages) and of the mails of threads left out."""
    wanted = [0] * len(heads)  # 1: the head, 2: the raw bytes
    for plan in plans:
        for pos in plan.positions:
            wanted[pos] = 1 if len(plan.positions) == 1 else 2
    for pos, want in enumerate(wanted):
        if want != 1:
            heads[pos] = None
        if want != 2:
            raws[pos] = None


def _first_id(msg) -> str:
    from .mailparse import message_id

    return message_id(msg) or "no Message-ID"


def _deliver(review: Review, on_review) -> Review:
    if on_review is not None:
        on_review(review)
    return slim_review(review)


# Threads reviewed between two garbage collector passes (see _sparing_gc).
COLLECT_EVERY = 1000


@contextmanager
def _sparing_gc():
    """Collect garbage between threads, not while reviewing one. Reference
    counting frees the millions of short-lived objects a big review makes;
    the collector's automatic passes, triggered every few thousand new
    objects, walk the many that live until their thread is done, for
    nothing (a tenth of the review's time). Reviews make next to no cycles
    (ten unreachable objects after 1,000 threads), so the collector is off
    while reviewing and runs every COLLECT_EVERY threads. What is loaded
    before is frozen, which also keeps a forked child from copying the
    pages a pass would touch. Yields the function to call after each
    thread."""
    import gc

    enabled = gc.isenabled()
    done = 0

    def after_thread() -> None:
        nonlocal done
        done += 1
        if done % COLLECT_EVERY == 0:
            gc.collect(0)

    gc.freeze()
    gc.disable()
    try:
        yield after_thread
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def slim_review(review: Review) -> Review:
    """The review with its patches cut down to what the reports read:
    subjects, numbers, Message-IDs and the paths touched. Bodies, diffs,
    headers and replies are let go once a series is reviewed and drafted."""
    series = review.series
    from .model import Review

    out = Review(series._replace(cover=_slim_patch(series.cover),
                                 patches=tuple(_slim_patch(p) for p in series.patches), replies=()),
                 review.findings, review.notes)
    return out


def _slim_patch(patch):
    if patch is None:
        return None
    return patch._replace(changelog_lines=(), trailers=(), body_lines=(), headers=(), to_headers=(),
                          cc_headers=(), reply_to_headers=(),
                          files=tuple(f._replace(hunks=(), post_image_text=None) for f in patch.files))


def review_remote(source: str, lore_url: str | None, version: int | None, timeout: float,
                  options: Options) -> Review:
    """The review of the thread a Message-ID or lore URL names."""
    from .sources import DEFAULT_LORE_URL, fetch_thread, parse_msgid_arg

    msgid, url_base = parse_msgid_arg(source)
    base = url_base or lore_url or DEFAULT_LORE_URL
    messages = fetch_thread(msgid, base, timeout)
    return review_messages(messages, version, msgid, options)


def review_messages(messages, version: int | None, where: str, options: Options,
                    parallel_min: int = PARALLEL_MIN_MESSAGES) -> Review:
    """Assemble and review one thread or mbox. A big one on a machine with a
    spare core has b4 pick the series in a child process while this one
    parses every patch and runs the per-patch rules; patches that turn out
    not to be in the series are checked for nothing, which is cheaper than
    waiting for b4."""
    from .assembly import assemble, build_series, is_standalone_patch, needs_b4, parse_all
    from .b4glue import plan_series_in_child
    from .engine import check_patch, review_series

    if len(messages) < parallel_min or usable_cpus() < 2 or not needs_b4(messages):
        return review_series(assemble(messages, version, where), options)
    wait_for_plan = plan_series_in_child(messages, version, where)
    parsed = parse_all(messages, where)
    checked = {id(p): (p, check_patch(p, options)) for p in parsed
               if p is not None and is_standalone_patch(p)}
    series = build_series(messages, version, where, wait_for_plan(), parsed)
    return review_series(series, options, checked)


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def stdin_series() -> tuple[Series | None, list]:
    """The messages b4 passes on stdin, as a series; None for a mail with no
    diff (a cover letter or a note)."""
    from .assembly import assemble
    from .mailparse import patch_from_message
    from .sources import load_local

    messages = load_local("-")
    if len(messages) == 1 and not patch_from_message(messages[0], "<stdin>").files:
        return None, messages
    return assemble(messages, None, "<stdin>"), messages


def cover_thread_series(cover_message, lore_url: str | None, settings: Settings,
                        timeout: float) -> Series:
    """The whole series of a cover letter b4 passed alone, fetched from the
    archive the user's config names."""
    from .assembly import assemble
    from .mailparse import patch_from_message
    from .sources import DEFAULT_LORE_URL, fetch_thread

    cover = patch_from_message(cover_message, "<stdin>")
    if not cover.message_id:
        raise UserError("the cover letter on stdin has no Message-ID")
    base = lore_url or settings.get("tdxbot.lore-url") or b4_lore_base(settings) or DEFAULT_LORE_URL
    return assemble(fetch_thread(cover.message_id, base, timeout), None, cover.message_id)


def b4_lore_base(settings: Settings) -> str | None:
    """b4 users already point b4.midmask at their archive; follow it."""
    from urllib.parse import urlsplit

    midmask = settings.get("b4.midmask")
    if midmask and "%s" in midmask:
        base = midmask.replace("%s", "").rstrip("/")
        return base if urlsplit(base).path.strip("/") else base + "/all"
    return None


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

        from .config import sender_address

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
        from .replies import draft_replies, write_drafts

        self.written += write_drafts(draft_replies(review, self.sender, self.now), self.folder)


# -- a git branch -----------------------------------------------------------------


def review_branch(rev_range: str | None, settings_for, ignore, select, with_checkpatch: bool):
    """(review, settings, options) of a git branch: the b4 prep series, else
    the range. settings_for(root) reads the repository's git config."""
    from .checkpatch import checkpatch_findings, checkpatch_path, merge
    from .engine import review_series
    from .gitsource import load_git_series

    gs = load_git_series(rev_range)
    settings = settings_for(gs.root)
    options = build_options(settings, ignore, select)
    review = review_series(gs.series, options)
    review.notes.extend(gs.notes)
    review.notes.insert(0, f"checked {gs.range_text}")
    if with_checkpatch:
        if checkpatch_path(gs.root) is None:
            raise UserError(f"--checkpatch: no scripts/checkpatch.pl in {gs.root}")
        review.findings = merge(review.findings, checkpatch_findings(gs.series, gs.mails, gs.root))
    return review, settings, options
