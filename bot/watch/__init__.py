"""The list auto-responder: `tdxbot watch` follows a public-inbox archive
and drafts or sends the replies to each new series, once.

- inbox: reading (and mirroring) the archive's epochs from a mark;
- triage: which mail gets a reply (no bots, no replies, no opted-out);
- responder: one pass: new mail, series, reviews, planned replies;
- state: the SQLite state (marks, messages, replies, outcomes);
- delivery: a maildir, or SMTP with retries;
- command: `tdxbot watch` and `--status`.
"""
from .command import run

__all__ = [
    "run",
]
