"""The changelog quotes a log line that the patch's code cannot print.

What it flags: an indented (quoted) changelog line that reads like the
output of a print the patch adds (most of that format string's words are
in it) but that no format string the patch adds can produce: the wording,
the case or the shape of the values differ ("failed" against "returned",
"0x%016llx" against a decimal). Lines that an old format string the patch
removes would print (the "before" of a message the patch rewords) are left
alone, and so is any quoted output that resembles nothing the patch adds
(a crash the patch fixes, the output of another tool).

Why: reviewers check the example output in a changelog against the code
and ask about every difference ("the log in the changelog says 'returned',
the pr_err() says 'failed'; which one is it?"). A changelog that shows
output from an earlier version of the patch misleads whoever greps the
kernel log for it later.

Fires on a changelog that shows
    virt/tdx: TDH.SYS.DISABLE returned 0xc000010000000000
when the patch adds pr_err("TDH.SYS.DISABLE failed: 0x%016llx\\n", ret).
Must not fire when the changelog shows
    virt/tdx: TDH.SYS.DISABLE failed: 0xc000010000000000
"""
from __future__ import annotations

import re
from collections import Counter

from ..lint.kit import Case, ChangelogLine, Violation, lazy_re

ID = "changelog-log-mismatch"
SEVERITY = "warning"
PATHS = None
TOPICS = ("log", "message", "output", "print", "pr_err", "prints", "dmesg")

_PRINTERS = lazy_re(r"^(?:pr_[a-z]+(?:_once|_ratelimited)?|printk(?:_once|_ratelimited)?|"
                    r"dev_[a-z]+(?:_once|_ratelimited)?|WARN(?:_ONCE)?|WARN_ON_ONCE|panic|"
                    r"seamcall_err\w*|[a-z_]*_(?:err|warn|info|dbg)(?:_once|_ratelimited)?)$")
_CONVERSION = lazy_re(r"%%|%[-+ #0]*+(?:\d++|\*)?+(?:\.(?:\d++|\*))?+(?:hh|h|ll|l|L|z|j|t)?"
                      r"(?:p[A-Za-z]*|[diouxXcseEfgGaA])")
_ESCAPE = lazy_re(r"\\(?:[nrt\\\"']|x[0-9a-fA-F]+|[0-7]{1,3})")
_TIMESTAMP = lazy_re(r"^\s*\[\s*\d+\.\d+\]\s*")
_WORDS = lazy_re(r"[A-Za-z]{3,}")
_LIST_ITEM = lazy_re(r"^\s*(?:[-*\u2022]|\d+[.)])\s")


class LogNotPrintable(Violation):
    message = "the changelog shows a log line the code cannot print (the new format is \"{fmt}\")"
    comment = ("This output does not match what the patch prints (\"{fmt}\"). Please update the "
               "example, or the message, so the two agree.")


def check_patch(ctx):
    quoted = _quoted_output(ctx.patch)
    if not quoted:
        return
    added = _new_formats(ctx)
    if not added:
        return
    old = [p for p in map(_Printed.of, _old_formats(ctx)) if p]
    # Each format's words once, and an index from word to format, so that
    # a changelog line meets only the formats it shares words with (a patch
    # of many formats and many quoted lines is not read pair by pair).
    new = [(f, p, _format_words(f)) for f, p in ((f, _Printed.of(f)) for f in added) if p is not None]
    new = [entry for entry in new if len(entry[2]) >= 2]
    having: dict[str, list[int]] = {}
    for i, (_, _, words) in enumerate(new):
        for word in words:
            having.setdefault(word, []).append(i)
    for index, text in quoted:
        line = _TIMESTAMP.sub("", text).strip()
        shared = Counter(i for word in _words(line) for i in having.get(word, ()))
        near = [new[i] for i in sorted(shared) if shared[i] >= 0.6 * len(new[i][2])]
        if near and not any(p.prints(line) for _, p, _ in near) and not any(p.prints(line) for p in old):
            ctx.report(ChangelogLine(index), LogNotPrintable(fmt=near[0][0]))


def _literal(node, region) -> str | None:
    """A format argument's text with each macro piece (KERN_ERR, PRIx64)
    as a conversion; None when the argument is not a string."""
    if node.type == "string_literal":
        return region.text(node)[1:-1]
    if node.type == "concatenated_string":
        parts = [_literal(child, region) if child.type == "string_literal" else "%s"
                 for child in node.named_children]
        return "".join(p for p in parts if p is not None)
    return None


def _new_formats(ctx) -> list[str]:
    """The format strings of the print calls on lines the patch adds, as C
    source text."""
    out = []
    for file in ctx.files():
        for code in file.code:
            region = code.c
            for call, name in region.calls():
                if not _PRINTERS.match(name) or not region.touches_added(call):
                    continue
                args = call.child_by_field_name("arguments")
                for arg in args.named_children if args is not None else ():
                    text = _literal(arg, region)
                    if text is not None:
                        out.append(text)
                        break
    return out


def _old_formats(ctx) -> list[str]:
    """The string literals of the lines the patch removes (from any C file,
    deleted ones too), as C source text."""
    removed = "\n".join(ctx.removed_lines())
    # A string ends on its line, within a bound: a line of unclosed quotes is
    # not read again from each of them.
    return [m.group(1) for m in re.finditer(r'"((?:\\.|[^"\\\n]){0,2000}+)"', removed)]


class _Printed:
    """What a format string prints: its literal pieces in order, a run of
    spaces in them matching any (or no) whitespace, and each conversion a
    gap of at least one character. A line is printable when the pieces are
    found in it in order, each as early as it can be: no backtracking over
    the gaps, so a format of many conversions against a long line costs a
    pass per piece (a pattern of one '.+?' per conversion took seconds at
    eight and minutes at sixteen)."""

    def __init__(self, parts: list):
        self.parts = parts  # compiled pieces, and None for each conversion

    @classmethod
    def of(cls, fmt: str) -> "_Printed | None":
        parts: list = []
        pos = 0
        for m in _CONVERSION.finditer(fmt):
            parts += [fmt[pos:m.start()], "%" if m.group(0) == "%%" else None]
            pos = m.end()
        parts.append(fmt[pos:])
        # A literal "%" joins the text around it; the ends lose their spaces.
        merged: list = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            else:
                merged.append(part)
        texts = [_ESCAPE.sub(" ", p) if isinstance(p, str) else None for p in merged]
        if isinstance(texts[0], str):
            texts[0] = texts[0].lstrip()
        if isinstance(texts[-1], str):
            texts[-1] = texts[-1].rstrip()
        if not any(t for t in texts if t is not None) and None not in texts:
            return None
        return cls([_piece(t) if t is not None else None for t in texts if t != ""])

    def prints(self, line: str) -> bool:
        pos = 0
        gap = 0  # characters the conversions before the next piece need
        for part in self.parts:
            if part is None:
                gap += 1
                continue
            m = part.search(line, pos + gap)
            if m is None:
                return False
            pos, gap = m.end(), 0
        return pos + gap <= len(line)


def _piece(text: str):
    """A literal piece as a pattern: a run of white space matches any (or
    none). The words hold no white space at all (a raw tab in a string is
    white space too), so each run is read one way only: a word of tabs
    between lazy runs once let a pattern split a run of tabs in
    exponentially many ways."""
    return re.compile(r"\s*+".join(re.escape(word) for word in re.split(r"\s+", text)))


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(text)}


def _format_words(fmt: str) -> set[str]:
    """The words of a format without its escapes and conversions: a quoted
    line resembles the format when it has 60% of them."""
    return _words(_CONVERSION.sub(" ", _ESCAPE.sub(" ", fmt)))


def _quoted_output(patch) -> list[tuple[int, str]]:
    """(index, line) of the changelog's quoted blocks: paragraphs whose
    lines are all indented (or carry a kernel log timestamp) and that are
    not a list item's continuation."""
    trailer_lines = {t.line for t in patch.trailers}
    out, para = [], []
    for i, text in list(enumerate(patch.changelog_lines)) + [(-1, "")]:
        if text.strip() and i not in trailer_lines:
            para.append((i, text))
            continue
        if para and not _LIST_ITEM.match(para[0][1]) and all(
                t[:1] == "\t" or t.startswith("  ") or _TIMESTAMP.match(t) for _, t in para):
            out.extend(para)
        para = []
    return out


_PRINT = '\tpr_err("TDH.SYS.DISABLE failed: 0x%016llx\\n", ret);'

INVALID = [
    Case(code=_PRINT, changelog="On an old module the kernel now logs:\n\n"
                                "  virt/tdx: TDH.SYS.DISABLE returned 0xc000010000000000",
         at=('changelog:3: TDH.SYS.DISABLE returned',), why="other wording"),
    Case(code='\tpr_info("module update done in %u ms\\n", ms);',
         changelog="The log shows how long it took:\n\n"
                   "[   12.504412] virt/tdx: Module update done in 12 ms",
         at=('changelog:3: Module update done',), why="other case, with a timestamp"),
    Case(code='\tdev_warn(dev, "quote buffer too small: %zu < %zu\\n", len, need);',
         changelog="A short buffer is reported as:\n\n\ttdx-guest tdx-guest: quote buffer too small (4096)",
         at=('changelog:3: quote buffer too small (4096)',), why="other shape of the values"),
]

VALID = [
    Case(code=_PRINT, changelog="On an old module the kernel now logs:\n\n"
                                "  virt/tdx: TDH.SYS.DISABLE failed: 0xc000010000000000",
         why="matches the format"),
    Case(code=_PRINT, changelog="Without this the next kernel crashes:\n\n"
                                "  mce: [Hardware Error]: Machine check events logged",
         why="quoted output unlike anything the patch prints"),
    Case(code='\tpr_err("TDX module update failed: %d\\n", ret);',
         removed_files=(("arch/x86/virt/vmx/tdx/seamldr.c", '\tpr_err("module update error %d\\n", ret);'),),
         changelog="Reword the message. Before:\n\n  virt/tdx: module update error -16\n\nAfter:\n\n"
                   "  virt/tdx: TDX module update failed: -16",
         why="the 'before' line is what the removed format printed"),
    Case(changelog="The log shows:\n\n  virt/tdx: module update error -16", why="the patch prints nothing"),
    Case(code=_PRINT, changelog="The SEAMCALL can return two codes.\n - TDX_SYS_BUSY is returned on\n"
                                "   contention; TDH.SYS.DISABLE blocks other SEAMCALLs once it runs.",
         why="an indented list item continuation, not output (the seed's changelog)"),
]
