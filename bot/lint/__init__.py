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
from ..common import lazy_door

__all__ = [
    "BINARY_NOT_READ", "CarriedTag", "Edit", "Finding", "FollowUp", "FollowUpReport",
    "NOT_READ", "OUT_OF_TIME_ID", "Options", "Review", "SERIES_SECONDS", "STATUSES", "TDX_SCOPE",
    "active_rules", "all_rules", "apply", "check_patch", "describe_unknown", "exit_status", "follow_up",
    "path_matches", "preview", "review_series", "sarif_fix", "split_by_scope", "still_parses",
    "unknown_rule_ids", "validate_rule_ids", "without_overlaps",
]

# Each module of the layer and the names it offers, imported when a name
# is first asked for (see common/doors.py).
__getattr__, __dir__ = lazy_door(globals(), {
    "areas": ("TDX_SCOPE", "path_matches", "split_by_scope"),
    "engine": ("active_rules", "all_rules", "check_patch", "describe_unknown", "exit_status",
               "review_series", "unknown_rule_ids", "validate_rule_ids"),
    "findings": ("Finding", "Options", "Review"),
    "fixes": ("Edit", "apply", "preview", "sarif_fix", "still_parses", "without_overlaps"),
    "followup": ("CarriedTag", "FollowUp", "FollowUpReport", "STATUSES", "follow_up"),
    "limits": ("BINARY_NOT_READ", "NOT_READ", "OUT_OF_TIME_ID", "SERIES_SECONDS"),
})

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from .areas import TDX_SCOPE, path_matches, split_by_scope
    from .engine import (active_rules, all_rules, check_patch, describe_unknown, exit_status,
                         review_series, unknown_rule_ids, validate_rule_ids)
    from .findings import Finding, Options, Review
    from .fixes import Edit, apply, preview, sarif_fix, still_parses, without_overlaps
    from .followup import CarriedTag, FollowUp, FollowUpReport, STATUSES, follow_up
    from .limits import BINARY_NOT_READ, NOT_READ, OUT_OF_TIME_ID, SERIES_SECONDS
