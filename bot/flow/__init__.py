"""The review flow behind every command: options from the command line
and git config, inputs to series, series to reviews, reviews to drafts
and reports; a branch check with its fixes and checkpatch; the labelled
evaluation.

- pipeline: review a mailbox, a lore thread or a git branch;
- b4check: the b4 check commands, one patch from b4's stdin;
- options: rule ids and scope from the command line and git config;
- previous: where the previous version comes from (--previous, the
  input, the archive as b4 searches it), for the follow-up on its review;
- threads and forked: many threads of an mbox, shared with a forked child;
- config: git config, the sender, the scope;
- fixgit: certain fixes written into a work tree;
- checkpatch: the tree's checkpatch.pl, merged in;
- evaluation: `tdxbot eval` over labelled cases.
"""
from ..common import lazy_door

__all__ = [
    "PreviousLookup", "archive_previous", "attach_previous", "b4_check_lines",
    "b4_review_check_records", "build_options", "draft_writer", "evaluate", "fix_branch",
    "fixes_diff", "outcome_lines", "read_git_config", "render", "review_branch", "review_local",
    "review_remote", "sarif_help_url", "sender_address", "unfixed", "write_reply_drafts",
]

# Each module of the layer and the names it offers, imported when a name
# is first asked for (see common/doors.py).
__getattr__, __dir__ = lazy_door(globals(), {
    "b4check": ("b4_check_lines", "b4_review_check_records"),
    "config": ("read_git_config", "sender_address"),
    "evaluation": ("evaluate", "render"),
    "fixgit": ("fixes_diff", "outcome_lines", "unfixed"),
    "options": ("build_options",),
    "pipeline": ("draft_writer", "fix_branch", "review_branch", "review_local", "review_remote",
                 "sarif_help_url", "write_reply_drafts"),
    "previous": ("PreviousLookup", "archive_previous", "attach_previous"),
})

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from .b4check import b4_check_lines, b4_review_check_records
    from .config import read_git_config, sender_address
    from .evaluation import evaluate, render
    from .fixgit import fixes_diff, outcome_lines, unfixed
    from .options import build_options
    from .pipeline import (draft_writer, fix_branch, review_branch, review_local, review_remote,
                           sarif_help_url, write_reply_drafts)
    from .previous import PreviousLookup, archive_previous, attach_previous
