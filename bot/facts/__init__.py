"""The meaning layer: what code and prose say, for the rules to ask.

- c: C facts from tree-sitter-c (a Region of post-image lines: its nodes,
  comments, calls, assignments, types, constants, truth tests);
- tdx: TDX facts (status codes, what a call issues, which values hold a
  status, status tests, retry loops and their bounds and justifications);
- abi: the TDX module's ABI (leaf numbers, status values, the statuses
  each leaf can return, feature gates) from tdx_module.json, read when a
  question first needs it; and, per region, the leaf each call issues and
  the leaves a tested status came from;
- prose: English facts about changelogs and comments (sentences, mood,
  voice, topic words).
The rules reach these through the rule kit (lint.kit).
"""
from .abi import (TRANSIENT, AbiFacts, Leaf, LeafTest, Status, is_module_status, module_abi, resolve,
                  resolve_all)
from .abi import BUSY as BUSY_STATUSES
from .c import (Comment, Region, ancestor, call_args, call_name, comment_inner, declaration_type,
                declared_name, function_name, int_literal, int_of_text, iter_nodes, parse_expression,
                parser, strip_comment_markers, unwrap)
from .prose import (WORD, is_imperative, on_topic, passive_change, personal_change, sentences,
                    statement_mood, topic_terms, verb_base)
from .tdx import (BUSY_CODES, DETAIL_STATUSES, GUEST, HOST, HYPERCALL, SW_FULL_CODES, Loop, LoopFacts,
                  TdxFacts, TdxPatchFacts, code_of, is_masked, masked_with)

__all__ = [
    "AbiFacts", "BUSY_STATUSES", "Leaf", "LeafTest", "Status", "TRANSIENT", "is_module_status",
    "module_abi", "resolve", "resolve_all",
    "BUSY_CODES", "Comment", "DETAIL_STATUSES", "GUEST", "HOST", "HYPERCALL", "Loop", "LoopFacts",
    "Region", "SW_FULL_CODES", "TdxFacts", "TdxPatchFacts", "WORD", "ancestor", "call_args",
    "call_name", "code_of", "comment_inner", "declaration_type", "declared_name", "function_name",
    "int_literal", "int_of_text", "is_imperative", "is_masked", "iter_nodes", "masked_with",
    "on_topic", "parse_expression", "parser", "passive_change", "personal_change", "sentences",
    "statement_mood",
    "strip_comment_markers", "topic_terms", "unwrap", "verb_base",
]
