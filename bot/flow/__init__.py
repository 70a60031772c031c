"""The review flow behind every command: options from the command line
and git config, inputs to series, series to reviews, reviews to drafts
and reports; a branch check with its fixes and checkpatch; the labelled
evaluation.

- pipeline: review a mailbox, a lore thread, b4's stdin or a git branch;
- previous: where the previous version comes from (--previous, the
  input, the archive as b4 searches it), for the follow-up on its review;
- threads and forked: many threads of an mbox, shared with a forked child;
- config: git config, the sender, the scope;
- fixgit: certain fixes written into a work tree;
- checkpatch: the tree's checkpatch.pl, merged in;
- evaluation: `tdxbot eval` over labelled cases.
"""
from .config import read_git_config, sender_address
from .evaluation import evaluate, render
from .fixgit import fixes_diff, outcome_lines, unfixed
from .previous import PreviousLookup, archive_previous, attach_previous
from .pipeline import (b4_check_lines, b4_review_check_records, build_options, draft_writer,
                       fix_branch, review_branch, review_local, review_remote, sarif_help_url,
                       write_reply_drafts)

__all__ = [
    "PreviousLookup", "archive_previous", "attach_previous",
    "b4_check_lines", "b4_review_check_records", "build_options", "draft_writer", "evaluate",
    "fix_branch", "fixes_diff", "outcome_lines", "read_git_config", "render", "review_branch",
    "review_local", "review_remote", "sarif_help_url", "sender_address", "unfixed",
    "write_reply_drafts",
]
