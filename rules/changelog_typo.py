"""A misspelled word in the changelog, or in a comment or string the patch adds.

What it flags: words codespell's dictionary lists as common misspellings
("succesfully", "recieve", "seperate"), in the subject, the changelog
prose, and the comments and string literals the patch adds to C files (and
the lines it adds to documentation). One finding per line, naming each word
and its fix. Never flagged: kernel and TDX words (SEAMCALL, TDCALL, TDMR,
PAMT, seamldr, ...), every identifier in the diff and its parts, acronyms,
CamelCase, words of one or two letters, and dictionary entries codespell
itself does not trust to fix (those that carry a reason).

Why: reviewers on the x86 and KVM lists point typos out one by one ("s/
succesfully/successfully/"), and each costs a respin. checkpatch's
--codespell and `b4 prep --check` run the same dictionary; this rule brings
it to the series tdxbot reviews, limited to prose so that code is never
"corrected".

Fires on the changelog line "let the guest pick it up once that has
completed succesfully." and on an added comment "/* Seperate the two
lists. */".
Must not fire on "TDMRs and PAMTs are set up by the host", nor on a comment
that names the diff's own `nr_entrys` field.
"""
from __future__ import annotations

from functools import lru_cache

from ..lint.kit import C_SUFFIXES, SUBJECT, Case, ChangelogLine, CodeLine, Violation, lazy_re

ID = "changelog-typo"
SEVERITY = "warning"
PATHS = None
TOPICS = ("typo", "spelling", "misspelled", "misspelling", "spell", "s/")

# Kernel and TDX words, lower case. The last line holds those codespell's
# dictionary would "correct": each was found in merged comments under
# arch/x86 and virt/kvm of linux-6.12, where they are kernel usage, not typos.
KERNEL_WORDS = frozenset("""
seamcall seamcalls seamret tdcall tdcalls tdvmcall tdvmcalls tdmr tdmrs pamt pamts seamldr
tdx kvm tdh tdg hkid hkids keyid keyids tdcs tdvpr tdcx sept vcpu vcpus vmx vmcs mktme
wbinvd kexec kdump hypercall hypercalls userspace noinstr
intack parm parms callin ser
""".split())

_STRIP = "\"'`()[]{}<>.,;:!?*"
_CODEISH = lazy_re(r"[_0-9/\\=#{}<>@%$&|~^\[\]()+]|->|::|\.\w")
_PLAIN = lazy_re(r"^[A-Za-z]+(?:-[A-Za-z]+)*(?:['\u2019][A-Za-z]+)?$")
_JOINERS = str.maketrans("", "", "- ")
# A word is read from where it starts, once (a long word without '@' is not
# read again from each of its letters).
_URL = lazy_re(r"\b(?:https?|ftp|git)://\S++|(?<!\S)[^\s@]++@\S++")
_ESCAPE = lazy_re(r"\\[nrt\\\"']|%[-+ #0]*+\d*+(?:\.\d++)?+[hlLzjt]{0,2}[a-zA-Z]")
_IDENT = lazy_re(r"[A-Za-z_][A-Za-z0-9_]*")
_DOC_SUFFIXES = (".rst", ".txt")
_NAME_NODES = ("identifier", "field_identifier", "type_identifier", "statement_identifier")
# (A string is taken as one only within 200 characters of its quote: a line
# of unclosed quotes must not be read again from each of them.)
_NOT_CODE = lazy_re(r"/\*.*?(?:\*/|$)|//.*$|\"(?:\\.|[^\"\\]){0,200}+\"")


class Misspelled(Violation):
    message = "possible misspelling: {pairs}"
    comment = "Typo{plural}: {pairs}."

    @property
    def pairs(self) -> str:
        return ", ".join(f"{w} -> {f}" for w, f in self.typos.items())

    @property
    def plural(self) -> str:
        return "s" if len(self.typos) > 1 else ""


def check_patch(ctx):
    # Words the dictionary knows as misspellings are rare: each distinct
    # word of the patch is looked up once, and the places and the diff's
    # identifiers (which excuse some words) are read only when one is known.
    if not _any_suspect(_chunks("\n".join(_texts(ctx)))):
        return
    found = [(at, word) for at, text in _places(ctx) for word in _words(text) if _dictionary_says(word)]
    if not found:
        return
    skip = KERNEL_WORDS | _code_names(ctx)
    for at, typos in _typos_by_place(found, skip).items():
        if typos:
            ctx.report(at, Misspelled(typos=typos))


def _typos_by_place(found, skip: frozenset[str]) -> dict:
    """{place: {word: codespell's fix}} for the (place, word) pairs found,
    without the words skip excuses and the spelling variants; in the order
    the places come."""
    typos_at: dict = {}
    for at, word in found:
        typos = typos_at.setdefault(at, {})
        for w, fix in _lookups(word, skip):
            if w not in typos and not _variant(w.lower(), fix):
                typos[w] = fix
    return typos_at


def _variant(word: str, fix: str) -> bool:
    """'re-use' -> 'reuse', 'bootup' -> 'boot up': the same letters, only
    hyphens or spaces differ; the kernel writes both, so not a typo."""
    return any(f.strip().translate(_JOINERS) == word.translate(_JOINERS) for f in fix.split(" or "))


def _without_urls(text: str) -> str:
    if "://" in text or "@" in text:  # the only texts _URL can match
        text = _URL.sub(" ", text)
    return text


def _words(text: str):
    """The plain words of prose: no identifiers, paths, acronyms, CamelCase."""
    for chunk in _without_urls(text).split():
        core = _plain_word(chunk)
        if core:
            yield core


@lru_cache(maxsize=65536)
def _plain_word(chunk: str) -> str | None:
    core = chunk.strip(_STRIP)
    return core if len(core) > 2 and _PLAIN.match(core) else None


@lru_cache(maxsize=65536)
def _suspect(chunk: str) -> bool:
    core = _plain_word(chunk)
    return core is not None and bool(_dictionary_says(core))


def _code_names(ctx) -> frozenset[str]:
    """Every identifier in the diff's C code (tree-sitter's view of the
    post-image hunks; the removed lines, deleted files' too, with comments
    and strings cut out), and the parts of the snake_case ones, lower-cased:
    the words prose may name on purpose."""
    names = {region.text(n) for file in ctx.files() for region in (code.c for code in file.code)
             for n in region.find(*_NAME_NODES)}
    for text in ctx.removed_lines():
        if not text.lstrip().startswith("*"):
            names.update(_IDENT.findall(_NOT_CODE.sub(" ", text)))
    out = set()
    for name in names:
        out.add(name.lower())
        if "_" in name:
            out.update(p.lower() for p in name.split("_") if p)
    return frozenset(out)


def _c_prose(file):
    """(line, text) of the comment rows and string literals a C file adds."""
    for region in (code.c for code in file.code):
        for comment in region.comments():
            row = comment.node.start_point[0]
            for k, text in enumerate(comment.raw.split("\n")):
                line = region.line_no(row + k)
                if region.is_added(line):
                    yield line, text
        for node in region.find("string_literal"):
            line = region.line_no(node.start_point[0])
            if region.is_added(line) and node.parent is not None and node.parent.type != "preproc_include":
                yield line, _ESCAPE.sub(" ", region.text(node))


# Words known to hold no misspelling, kept for the process as _suspect()'s
# cache is, but asked by one set difference in C: most words of a patch
# were seen in the patches before it.
_CLEAN: set[str] = set()


def _any_suspect(chunks: set[str]) -> bool:
    new = chunks - _CLEAN
    if any(map(_suspect, new)):
        return True
    if len(_CLEAN) > 200_000:
        _CLEAN.clear()
    _CLEAN.update(new)
    return False


def _chunks(text: str) -> set[str]:
    """The distinct words of text, without URLs and addresses. (A URL lies
    inside one word, so only the words that may hold one are searched.)"""
    chunks = set(text.split())
    if "@" in text or "://" in text:
        odd = {c for c in chunks if "@" in c or "://" in c}
        chunks = (chunks - odd) | set(_without_urls(" ".join(odd)).split())
    return chunks


def _texts(ctx):
    """All the prose _places() yields, and a little more (whole comments,
    context lines included), without working out where each line is: what
    the first look for a known misspelling reads."""
    yield ctx.patch.summary
    yield from (text for _, text in ctx.patch.prose_lines)
    for file in ctx.files():
        for region in (code.c for code in file.code):
            yield from (comment.raw for comment in region.comments())
            yield from (_ESCAPE.sub(" ", region.text(node)) for node in region.find("string_literal"))
    for diff in _doc_files(ctx.patch):
        yield from (ln.text for ln in diff.added_lines())


def _places(ctx):
    """(place, text) for every piece of prose to check: the subject, the
    changelog prose, then each file's added prose in the patch's order."""
    yield SUBJECT, ctx.patch.summary
    for index, text in ctx.patch.prose_lines:
        yield ChangelogLine(index), text
    c_files = iter(ctx.files())  # the C files of the patch, in its order
    for diff in ctx.patch.files:
        if diff.is_deleted or diff.is_binary:
            continue
        if diff.path.endswith(C_SUFFIXES):
            file = next(c_files)
            for line, text in _c_prose(file):
                yield CodeLine(file.path, line), text
        elif _is_doc(diff.path):
            for ln in diff.added_lines():
                yield CodeLine(diff.path, ln.new_no), ln.text


def _is_doc(path: str) -> bool:
    return path.endswith(_DOC_SUFFIXES) or path.startswith("Documentation/")


def _doc_files(patch):
    """The documentation files the patch leaves in the tree (its C files
    are read as code, comments and strings)."""
    return [d for d in patch.files if not d.is_deleted and not d.is_binary
            and not d.path.endswith(C_SUFFIXES) and _is_doc(d.path)]


def _lookups(word: str, skip: frozenset[str]):
    """(word, codespell's fix) for a word of prose that has one. A
    hyphenated word is looked up whole, as codespell does, and when the
    dictionary does not know it, its longer parts on their own
    ("maybe-unecessary"); short parts are prefixes ("mis-speculates")."""
    low = word.lower()
    if low in skip or low.split("'")[0] in skip:
        return ()
    return tuple((w, fix) for w, fix in _dictionary_says(word) if w.lower() not in skip)


def _camel(w: str) -> bool:
    return any(c.isupper() for c in w[1:])


@lru_cache(maxsize=65536)
def _dictionary_says(word: str) -> tuple[tuple[str, str], ...]:
    """The misspellings codespell finds in one word, with their fixes. The
    same words come back patch after patch; each is looked up once."""
    from ._codespell import correction, entry

    low = word.lower()
    if "-" not in word or (entry(low) is not None and not _camel(word.replace("-", ""))):
        fix = None if _camel(word) else correction(low)
        return ((word, fix),) if fix else ()
    return tuple((part, fix) for part in word.split("-")
                 if len(part) >= 5 and not _camel(part) and (fix := correction(part.lower())))


INVALID = [
    Case(changelog="A VMM may stop a conversion part way and let the guest pick it up once\n"
                   "that has completed succesfully.",
         at=('changelog:2: completed succesfully',), why="changelog typo"),
    Case(code="/* Seperate the two lists so the reciever can walk them. */",
         at=('1:0: Seperate the two lists',), why="two typos in one added comment, one finding"),
    Case(code='pr_err("TDX module initialisation failed, could not alocate PAMT\\n");',
         at=('1:0: could not alocate',), why="typo in an added string literal"),
    Case(subject="x86/virt/tdx: Retrun the SEAMCALL error to the caller", at=('subject: Retrun',),
         why="typo in the subject"),
]

VALID = [
    Case(changelog="TDMRs and PAMTs are set up by the host before any TDVMCALL or SEAMCALL\n"
                   "reaches the seamldr.", why="kernel words"),
    Case(code="struct foo { int nr_entrys; };\n/* Keep entrys in nr_entrys sorted. */",
         why="the diff's own identifier and its parts"),
    Case(changelog="Print the status. See https://example.org/seperate/recieve for the log:\n\n"
                   "    tdx: recieve failed",
         why="URLs and indented log lines are not prose"),
    Case(code="int seperate_count = 0; /* Count it. */", why="code is never corrected"),
    Case(changelog="Use the HKID of the TD, then the GPA and the TDMR's PAMT.",
         why="acronyms and possessives of them"),
]
