"""Mail in: reading mail and turning it into series.

- sources: mboxes, .eml files, maildirs, folders of patches, stdin, lore;
- parse and litemail: one mail to a Patch (diff, changelog, trailers);
- subjects: [PATCH vN M/N] prefixes and titles;
- safe: what a hostile header may not do (Message-IDs, addresses, text);
- assembly and b4glue: threads and series, with b4's own series logic
  behind one adapter;
- remarks: what reviewers wrote below the lines they quoted, a reply read
  part by part, and what an author's answer says;
- versions: version notes, which new patch carries which old one on, and
  where the previous version is (change-id, links, a search);
- gitsource: a git revision range as the series `git format-patch` writes;
- lore: fetching a thread from a public-inbox server;
- model: the records the other layers read (Series, Patch, FileDiff, ...).
"""
from ..common import lazy_door

__all__ = [
    "Address", "DEFAULT_LORE_URL", "FileDiff", "Intended", "Line", "LinesAtHead", "MAX_NAME",
    "MAX_SUBJECT", "Note", "Part", "Patch", "Remark", "Series", "Successors", "TAG_LINE",
    "ThreadPlan", "UnsafeReply", "answer_of", "assemble", "build_series", "change_id",
    "clean_address", "credits_person", "decode_header_value", "envelope", "fetch_thread",
    "header_text", "is_remote_source", "is_standalone_patch", "load_git_series", "load_local",
    "load_raw", "message_id", "needs_b4", "notes_text", "parse_all", "parse_message",
    "parse_msgid", "parse_msgid_arg", "parse_msgid_list", "parse_subject", "patch_from_message",
    "patch_notes_lines", "plan_revisions", "plan_series_in_child", "plan_threads",
    "previous_in", "previous_links", "printable", "quote_key", "remarks_in", "reply_parts",
    "same_again", "search_archive", "search_query", "split_addresses", "successors",
    "trim_references", "valid_msgid", "verify_reply", "version_notes", "versions_in",
]

# Each module of the layer and the names it offers, imported when a name
# is first asked for (see common/doors.py).
__getattr__, __dir__ = lazy_door(globals(), {
    "assembly": ("ThreadPlan", "assemble", "build_series", "is_standalone_patch", "needs_b4",
                 "parse_all", "plan_threads", "previous_in", "versions_in"),
    "b4glue": ("plan_revisions", "plan_series_in_child"),
    "gitsource": ("LinesAtHead", "load_git_series"),
    "model": ("Address", "FileDiff", "Line", "Patch", "Series"),
    "parse": ("decode_header_value", "message_id", "patch_from_message"),
    "remarks": ("Part", "Remark", "TAG_LINE", "answer_of", "quote_key", "remarks_in", "reply_parts",
                "same_again"),
    "safe": ("Intended", "MAX_NAME", "MAX_SUBJECT", "UnsafeReply", "clean_address", "envelope",
             "header_text", "parse_msgid", "parse_msgid_list", "printable", "split_addresses",
             "trim_references", "valid_msgid", "verify_reply"),
    "sources": ("DEFAULT_LORE_URL", "fetch_thread", "is_remote_source", "load_local", "load_raw",
                "parse_message", "parse_msgid_arg", "search_archive"),
    "subjects": ("parse_subject",),
    "versions": ("Note", "Successors", "change_id", "credits_person", "notes_text",
                 "patch_notes_lines", "previous_links", "search_query", "successors",
                 "version_notes"),
})

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from .assembly import (ThreadPlan, assemble, build_series, is_standalone_patch, needs_b4,
                           parse_all, plan_threads, previous_in, versions_in)
    from .b4glue import plan_revisions, plan_series_in_child
    from .gitsource import LinesAtHead, load_git_series
    from .model import Address, FileDiff, Line, Patch, Series
    from .parse import decode_header_value, message_id, patch_from_message
    from .remarks import (Part, Remark, TAG_LINE, answer_of, quote_key, remarks_in, reply_parts,
                          same_again)
    from .safe import (Intended, MAX_NAME, MAX_SUBJECT, UnsafeReply, clean_address, envelope,
                       header_text, parse_msgid, parse_msgid_list, printable, split_addresses,
                       trim_references, valid_msgid, verify_reply)
    from .sources import (DEFAULT_LORE_URL, fetch_thread, is_remote_source, load_local, load_raw,
                          parse_message, parse_msgid_arg, search_archive)
    from .subjects import parse_subject
    from .versions import (Note, Successors, change_id, credits_person, notes_text,
                           patch_notes_lines, previous_links, search_query, successors,
                           version_notes)
