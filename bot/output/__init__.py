"""Output: what a review becomes.

- reports: text, JSON, checkpatch-style lines and b4's review records;
- sarif: SARIF 2.1.0 for code scanning;
- drafts: the reply mails a reviewer would send, quoted, trimmed, threaded;
- rulesdoc: the rules' documentation (`tdxbot rules`, docs/rules.md).
"""
from .drafts import draft_replies, message_bytes, write_drafts
from .reports import b4_review_records, render, render_checkpatch, use_colour
from .rulesdoc import enforces, is_help_url, render_markdown, render_table, severity_origin

__all__ = [
    "b4_review_records", "draft_replies", "is_help_url", "message_bytes", "render",
    "enforces", "render_checkpatch", "render_markdown", "render_table", "severity_origin", "use_colour",
    "write_drafts",
]
