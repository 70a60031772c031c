"""The b4 check commands: what `tdxbot b4-check` and `b4-review-check`
print for the mail b4 passes on stdin. b4 starts them once per patch, so
this module imports only what one patch needs: no lore client unless a
cover letter asks for its series, no git reader, no drafts."""
from __future__ import annotations

from ..common import UserError
from ..mail import DEFAULT_LORE_URL, assemble, build_series, fetch_thread, load_local, patch_from_message
from ..output import b4_review_records, render_checkpatch
from .config import read_git_config
from .options import apply_scope, build_options

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from ..lint import Review
    from ..mail import Series
    from .config import Settings


def stdin_series() -> tuple[Series | None, list]:
    """The messages b4 passes on stdin, as a series; None for a mail with no
    diff (a cover letter or a note)."""
    messages = load_local("-")
    if len(messages) == 1:
        patch = patch_from_message(messages[0], "<stdin>")
        if not patch.files:
            return None, messages
        return build_series(messages, None, "<stdin>", None, [patch]), messages  # parsed once, not twice
    return assemble(messages, None, "<stdin>"), messages


def b4_check_lines(ignore, review_all: bool) -> str:
    """What `tdxbot b4-check` prints for the patch on stdin: checkpatch-style
    lines; nothing for a cover letter or a patch outside the scope (which b4
    shows as passed)."""
    settings = read_git_config()
    options = build_options(settings, ignore)
    series, _ = stdin_series()
    if series is not None:
        series, _ = apply_scope(series, settings, review_all)
    if series is None or not series.patches:
        return ""
    return render_checkpatch(_review(series, options))


def b4_review_check_records(whole_series: bool, ignore, lore_url: str | None, timeout: float,
                            review_all: bool) -> list[dict]:
    """b4's review check records for the message on stdin: one for the
    patch, or with whole_series one for the series of the cover letter;
    none for a cover letter alone or for what lies outside the scope."""
    settings = read_git_config()
    options = build_options(settings, ignore)
    series, messages = stdin_series()
    if whole_series:
        if len(messages) == 1:
            series = cover_thread_series(messages[0], lore_url, settings, timeout)
        if series is None:
            raise UserError("no patches in this thread")
    left_out: tuple = ()
    if series is not None:
        series, left_out = apply_scope(series, settings, review_all)
    if series is None or not series.patches:
        return []
    return b4_review_records(_review(series, options), whole_series, len(left_out))


def _review(series: Series, options) -> Review:
    # Imported here: b4 passes every patch of a series, and one outside the
    # scope (or a cover letter) is answered without loading the rules.
    from ..lint import review_series

    return review_series(series, options)


def cover_thread_series(cover_message, lore_url: str | None, settings: Settings,
                        timeout: float) -> Series:
    """The whole series of a cover letter b4 passed alone, fetched from the
    archive the user's config names."""
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

