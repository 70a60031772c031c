"""Mail in: reading mail and turning it into series.

- sources: mboxes, .eml files, maildirs, folders of patches, stdin, lore;
- parse and litemail: one mail to a Patch (diff, changelog, trailers);
- subjects: [PATCH vN M/N] prefixes and titles;
- safe: what a hostile header may not do (Message-IDs, addresses, text);
- assembly and b4glue: threads and series, with b4's own series logic
  behind one adapter;
- remarks: what reviewers wrote below the lines they quoted;
- gitsource: a git revision range as the series `git format-patch` writes;
- lore: fetching a thread from a public-inbox server;
- model: the records the other layers read (Series, Patch, FileDiff, ...).
"""
from ..common import lazy_door

__all__ = [
    "Address", "DEFAULT_LORE_URL", "FileDiff", "Intended", "Line", "LinesAtHead", "MAX_NAME", "MAX_SUBJECT",
    "Patch", "Remark", "Series", "ThreadPlan", "UnsafeReply", "assemble", "build_series", "clean_address",
    "decode_header_value", "envelope", "fetch_thread", "header_text", "is_remote_source",
    "is_standalone_patch", "load_git_series", "load_local", "load_raw", "message_id", "needs_b4",
    "parse_all", "parse_message", "parse_msgid", "parse_msgid_arg", "parse_msgid_list",
    "parse_subject", "patch_from_message", "plan_revisions", "plan_series_in_child",
    "plan_threads", "printable", "quote_key", "remarks_in", "split_addresses", "trim_references", "valid_msgid",
    "verify_reply",
]

# Each module of the layer and the names it offers, imported when a name
# is first asked for (see common/doors.py).
__getattr__, __dir__ = lazy_door(globals(), {
    "assembly": ("ThreadPlan", "assemble", "build_series", "is_standalone_patch", "needs_b4",
                 "parse_all", "plan_threads"),
    "b4glue": ("plan_revisions", "plan_series_in_child"),
    "gitsource": ("LinesAtHead", "load_git_series"),
    "model": ("Address", "FileDiff", "Line", "Patch", "Series"),
    "remarks": ("Remark", "quote_key", "remarks_in"),
    "parse": ("decode_header_value", "message_id", "patch_from_message"),
    "safe": ("Intended", "MAX_NAME", "MAX_SUBJECT", "UnsafeReply", "clean_address", "envelope",
             "header_text", "parse_msgid", "parse_msgid_list", "printable", "split_addresses",
             "trim_references", "valid_msgid", "verify_reply"),
    "sources": ("DEFAULT_LORE_URL", "fetch_thread", "is_remote_source", "load_local", "load_raw",
                "parse_message", "parse_msgid_arg"),
    "subjects": ("parse_subject",),
})

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from .assembly import (ThreadPlan, assemble, build_series, is_standalone_patch, needs_b4,
                           parse_all, plan_threads)
    from .b4glue import plan_revisions, plan_series_in_child
    from .gitsource import LinesAtHead, load_git_series
    from .model import Address, FileDiff, Line, Patch, Series
    from .remarks import Remark, quote_key, remarks_in
    from .parse import decode_header_value, message_id, patch_from_message
    from .safe import (Intended, MAX_NAME, MAX_SUBJECT, UnsafeReply, clean_address, envelope,
                       header_text, parse_msgid, parse_msgid_list, printable, split_addresses,
                       trim_references, valid_msgid, verify_reply)
    from .sources import (DEFAULT_LORE_URL, fetch_thread, is_remote_source, load_local, load_raw,
                          parse_message, parse_msgid_arg)
    from .subjects import parse_subject
