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
from .assembly import (ThreadPlan, assemble, build_series, is_standalone_patch, needs_b4,
                       parse_all, plan_threads, previous_in, versions_in)
from .b4glue import plan_revisions, plan_series_in_child
from .gitsource import LinesAtHead, load_git_series
from .model import Address, FileDiff, Line, Patch, Series
from .remarks import TAG_LINE, Part, Remark, answer_of, quote_key, remarks_in, reply_parts, same_again
from .versions import (Note, Successors, change_id, credits_person, notes_text, patch_notes_lines,
                       previous_links, search_query, successors, version_notes)
from .parse import decode_header_value, message_id, patch_from_message
from .safe import (Intended, MAX_NAME, MAX_SUBJECT, UnsafeReply, clean_address, envelope,
                   header_text, parse_msgid, parse_msgid_list, printable, split_addresses,
                   trim_references, valid_msgid, verify_reply)
from .sources import (DEFAULT_LORE_URL, fetch_thread, is_remote_source, load_local, load_raw,
                      parse_message, parse_msgid_arg, search_archive)
from .subjects import parse_subject

__all__ = [
    "Note", "Part", "Successors", "TAG_LINE", "answer_of", "change_id", "credits_person", "notes_text",
    "patch_notes_lines", "previous_in", "previous_links", "reply_parts", "same_again", "search_archive",
    "versions_in", "search_query", "successors", "version_notes",
    "Address", "DEFAULT_LORE_URL", "FileDiff", "Intended", "Line", "LinesAtHead", "MAX_NAME", "MAX_SUBJECT",
    "Patch", "Remark", "Series", "ThreadPlan", "UnsafeReply", "assemble", "build_series", "clean_address",
    "decode_header_value", "envelope", "fetch_thread", "header_text", "is_remote_source",
    "is_standalone_patch", "load_git_series", "load_local", "load_raw", "message_id", "needs_b4",
    "parse_all", "parse_message", "parse_msgid", "parse_msgid_arg", "parse_msgid_list",
    "parse_subject", "patch_from_message", "plan_revisions", "plan_series_in_child",
    "plan_threads", "printable", "quote_key", "remarks_in", "split_addresses", "trim_references", "valid_msgid",
    "verify_reply",
]
