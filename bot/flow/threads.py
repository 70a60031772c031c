"""Reviewing the threads of a loose mbox one by one, on one core or shared
with a forked child (forked.work_shared), and keeping of each review only
what the reports read. pipeline.review_local decides what to review and
whether to share; this module does the work."""
from __future__ import annotations


from ..common import NamedTuple, UserError
from ..lint import Review, all_rules, review_series
from ..mail import assemble, message_id, parse_message
from .forked import collector_resting, work_shared
from .previous import PreviousLookup, attach_previous

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from ..mail import ThreadPlan
    from ..lint import Options
    from ..lint import Review


class ThreadJob(NamedTuple):
    plan: ThreadPlan
    where: str


def review_threads(jobs: list[ThreadJob], heads: list, raws: list, version: int | None,
                   options: Options, keep_whole: bool, fork: bool, previous=None) -> list:
    """Each job's review (slimmed unless keep_whole) or its error message,
    in order; with fork, a forked child shares the threads
    (forked.work_shared). heads and raws: the mails as keep_what_threads_read
    left them; each is let go once its thread has read it."""
    def work(job: ThreadJob):
        try:
            messages = thread_messages(job.plan.positions, heads, raws, job.where)
            earlier = thread_messages(list(job.plan.previous), heads, raws, job.where) \
                if job.plan.previous else None
            for pos in job.plan.positions + list(job.plan.previous):  # read once: let the bytes go
                heads[pos] = raws[pos] = None
            series = assemble(messages, version, job.where)
            series = attach_previous(series, messages, previous or PreviousLookup(), job.where, earlier)
            review = review_series(series, options)
        except UserError as exc:
            return str(exc)
        review.notes.extend(job.plan.notes)
        return review if keep_whole else slim_review(review)

    if fork:
        all_rules()  # imported once, before the fork, for both processes
    with collector_resting():
        return work_shared(jobs, work, fork=fork)


def thread_messages(positions: list[int], heads: list, raws: list, where: str) -> list:
    """The mails of a thread: a lone mail as read for threading, more as
    email.message objects (b4 wants those)."""
    if len(positions) == 1:
        return [heads[positions[0]]]
    return [parse_message(raws[p], where) for p in positions]


def keep_what_threads_read(plans: list[ThreadPlan], heads: list, raws: list) -> None:
    """Let go of each mail's copy its thread will not read (see
    _thread_messages) and of the mails of threads left out."""
    wanted = [0] * len(heads)  # 1: the head, 2: the raw bytes
    for plan in plans:
        for positions in (plan.positions, list(plan.previous)):
            for pos in positions:
                wanted[pos] = 1 if len(positions) == 1 else 2
    for pos, want in enumerate(wanted):
        if want != 1:
            heads[pos] = None
        if want != 2:
            raws[pos] = None


def first_id(msg) -> str:
    return message_id(msg) or "no Message-ID"


def slim_review(review: Review) -> Review:
    """The review with its patches cut down to what the reports read:
    subjects, numbers, Message-IDs and the paths touched. Bodies, diffs,
    headers and replies are let go once a series is reviewed and drafted."""
    series = review.series

    out = Review(series._replace(cover=_slim_patch(series.cover),
                                 patches=tuple(_slim_patch(p) for p in series.patches), remarks=(),
                                 replies=(), previous=None),
                 review.findings, review.notes, review.follow_up)
    return out


def _slim_patch(patch):
    if patch is None:
        return None
    return patch._replace(changelog_lines=(), trailers=(), body_lines=(), headers=(), to_headers=(),
                          cc_headers=(), reply_to_headers=(),
                          files=tuple(f._replace(hunks=(), post_image_text=None) for f in patch.files))
