"""Options every command shares: rule ids from the command line and git
config, the scope of a review, and the warnings and notes on stderr."""
from __future__ import annotations

import sys
from collections.abc import Iterable

from ..lint import Options, split_by_scope

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from ..mail import Series
    from .config import Settings


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
    ignored = split_ids(ignore)
    _validate(ignored, "--ignore")
    selected = split_ids(select) or None
    if selected:
        _validate(selected, "--select")
    cfg_ignore = known_ids(settings.ignored(), "git config tdxbot.ignore")
    severities = {rid: sev for rid, sev in settings.severities().items()
                  if rid in known_ids({rid}, f"git config tdxbot.severity.{rid}")}
    for rid, sev in list(severities.items()):
        if sev not in ("error", "warning", "info"):
            warn(f"git config tdxbot.severity.{rid}: {sev!r} is not error, warning or info; ignored")
            del severities[rid]
    return Options(ignore=frozenset(ignored | cfg_ignore),
                   select=frozenset(selected) if selected else None,
                   severity=tuple(sorted(severities.items())))


def _validate(ids: set[str], where: str) -> None:
    if ids:
        # Imported here: with no ids to check, the rules need not be loaded
        # (b4-check on a patch outside the scope never loads them).
        from ..lint import validate_rule_ids

        validate_rule_ids(ids, where)


def known_ids(ids: set[str], where: str) -> set[str]:
    """The known ones of ids; the others are reported on stderr, each with
    the closest known id when there is one."""
    if not ids:
        return set()
    from ..lint import describe_unknown, unknown_rule_ids  # see _validate

    unknown = unknown_rule_ids(ids)
    if unknown:
        warn(f"{where}: unknown rule id(s): {describe_unknown(unknown)}; ignored")
    return set(ids) - set(unknown)


def warn(text: str) -> None:
    print(f"tdxbot: warning: {text}", file=sys.stderr)


def note(text: str) -> None:
    print(f"tdxbot: note: {text}", file=sys.stderr)


def apply_scope(series: Series, settings: Settings, review_all: bool) -> tuple[Series, tuple]:
    """The series cut to the patches tdxbot reviews, and those left out:
    every patch with --all or git config tdxbot.scope=all, else those that
    touch TDX or name it in the subject (areas.TDX_SCOPE)."""
    scope, complaint = settings.scope()
    if complaint:
        warn(complaint)
    if review_all or scope == "all":
        return series, ()
    return split_by_scope(series)


def scope_note(left_out) -> str:
    numbers = ", ".join(f"{p.index}/{p.total}" for p in left_out)
    return (f"left out {len(left_out)} patch(es) that do not touch TDX: {numbers} "
            "(--all reviews them)")

