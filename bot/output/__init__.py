"""Output: what a review becomes.

- reports: text, JSON, checkpatch-style lines and b4's review records;
- sarif: SARIF 2.1.0 for code scanning;
- drafts: the reply mails a reviewer would send, quoted, trimmed, threaded;
- rulesdoc: the rules' documentation (`tdxbot rules`, docs/rules.md).
"""
from ..common import lazy_door

__all__ = [
    "b4_review_records", "draft_replies", "is_help_url", "message_bytes", "render",
    "enforces", "render_checkpatch", "render_markdown", "render_table", "severity_origin", "use_colour",
    "write_drafts",
]

# Each module of the layer and the names it offers, imported when a name
# is first asked for (see common/doors.py).
__getattr__, __dir__ = lazy_door(globals(), {
    "drafts": ("draft_replies", "message_bytes", "write_drafts"),
    "reports": ("b4_review_records", "render", "render_checkpatch", "use_colour"),
    "rulesdoc": ("enforces", "is_help_url", "render_markdown", "render_table", "severity_origin"),
})

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from .drafts import draft_replies, message_bytes, write_drafts
    from .reports import b4_review_records, render, render_checkpatch, use_colour
    from .rulesdoc import enforces, is_help_url, render_markdown, render_table, severity_origin
