"""The rules and what runs them.

- kit: the rule kit, the one module a rule imports (the contract, the
  check contexts, report(), and the facts a rule may ask);
- engine: finding the rules, running them over a series, keeping their
  findings to lines the patch adds, marking points a reviewer already made;
- findings: Finding and Review, what the rules found;
- followup: the follow-up on the previous version's review (each point:
  addressed, not addressed or unclear, and why; the tags carried);
- cases: each rule's example patches (INVALID and VALID);
- fixes: certain fixes as edits, and applying them;
- areas: the table of tree areas (TDX, tip, KVM) rules and scope use;
- limits: the bounds past which a patch is too large to review.
"""
from .areas import TDX_SCOPE, path_matches, split_by_scope
from .engine import (Options, active_rules, all_rules, check_patch, describe_unknown, exit_status,
                     review_series, unknown_rule_ids, validate_rule_ids)
from .findings import Finding, Review
from .followup import STATUSES, CarriedTag, FollowUp, FollowUpReport, follow_up
from .fixes import Edit, apply, preview, sarif_fix, still_parses, without_overlaps
from .limits import BINARY_NOT_READ, NOT_READ, OUT_OF_TIME_ID

__all__ = [
    "CarriedTag", "FollowUp", "FollowUpReport", "STATUSES", "follow_up",
    "BINARY_NOT_READ", "Edit", "Finding", "NOT_READ", "OUT_OF_TIME_ID", "Options", "Review", "TDX_SCOPE", "active_rules", "all_rules", "apply",
    "check_patch", "describe_unknown", "exit_status", "path_matches", "preview", "review_series",
    "sarif_fix", "split_by_scope", "still_parses", "unknown_rule_ids", "validate_rule_ids",
    "without_overlaps",
]
