"""Fast first looks, and the slow reading each stands for.

To keep a big mbox cheap, some rules and facts first ask a cheap question
that is true whenever the slow one could be: a search in C over a whole
text before a line-by-line reading, a set of known-clean words, a literal
scan before a pattern. If a fast look ever said "nothing here" where the
slow reading finds something, a finding would be lost without any case
failing. These tests draw texts from the pieces that matter (and noise)
and check the promise each fast look makes.
"""
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdxbot.facts import c as csyntax
from tdxbot.facts.c import strip_comment_markers
from tdxbot.facts.c import Comment, Region
from tdxbot.rules import changelog_typo, lock_comment_not_asserted as lock

SETTINGS = dict(max_examples=400, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def pieces(*words: str):
    """Texts made of the given pieces, separators and stray characters."""
    return st.lists(st.sampled_from(words + (" ", "\n", "\t", "(", ")", "_", "x", "-", "*", "/", ",", ".",
                                             "\u00e9", "\u017f")), max_size=30).map("".join)


# The one pattern the three in csyntax._ANNOTATIONS replace (leftmost
# matches, blanked): kept here as the reference.
_REFERENCE = re.compile(
    rb"\b(?=__|no|as)(?:(?:__always_inline|noinstr|__init|__exit|__ref|__meminit|__init_or_module|__must_check|"
    rb"__cold|__hot|notrace|__flatten|__maybe_unused|__noreturn|__cpuidle|__weak|__visible|"
    rb"asmlinkage|__ro_after_init|__initdata|__initconst|__read_mostly|__percpu|__rcu|__iomem|"
    rb"__user|__force|__packed|__latent_entropy|__noclone|__attribute_const__)\b"
    rb"|(?:__must_hold|__acquires|__releases|__aligned|__section|__printf|__alias|__diag\w*)"
    rb"\s*\((?:[^()\n]|\([^()\n]*\))*\))")


@settings(**SETTINGS)
@given(pieces("__init", "__initdata", "__init_or_module", "noinstr", "notrace", "asmlinkage", "__must_hold",
              "__acquires", "__diag_ignore", "__always_inline", "a__init", "no", "as", "__", "static", "lock",
              "__noclone", "1"))
def test_annotations_are_blanked_as_by_one_pattern(text):
    source = text.encode("utf-8")
    assert csyntax._blank_annotations(source) == _REFERENCE.sub(lambda m: b" " * len(m.group(0)), source)


def _comment(raw: str) -> Comment:
    return Comment(node=None, raw=raw, lines=[(n, line) for n, line in enumerate(raw.split("\n"), 1)],
                   is_block=True, complete_start=True)


_DEMANDS = [
    "{must} be called with {lock} held", "{caller} {must} hold {lock}", "{must} be called under {lock}",
    "{must} be called with interrupts disabled", "{must} run with irqs off",
    "{must} be called with preemption disabled", "{must} be called under the rcu critical section",
    "{must} be called within an RCU read-side critical section", "{caller} must hold rcu_read_lock",
    "requires {lock} to be held", "expects the {lock} to be held for write",
]


@st.composite
def demands(draw):
    """A comment line that demands something, worded and broken over lines
    as kernel comments are, with noise around it."""
    text = draw(st.sampled_from(_DEMANDS)).format(
        must=draw(st.sampled_from(["must", "should", "has to", "have to", "needs to", "need to", "only"])),
        caller=draw(st.sampled_from(["caller", "callers", "Caller"])),
        lock=draw(st.sampled_from(["kvm->mmu_lock", "tdx_lock", "the mutex", "&sysinfo_sem", "seqcount"])))
    breaks = draw(st.lists(st.sampled_from([" ", "\n * ", "\n *\t", "  ", "\n// "]), min_size=12, max_size=12))
    words = text.split(" ")
    text = "".join(w + (breaks[i % len(breaks)] if i < len(words) - 1 else "") for i, w in enumerate(words))
    text = draw(st.sampled_from([text, text.upper(), text.capitalize()]))
    # Letters re.IGNORECASE takes for i and s (a comment may be written to dodge a check).
    text = text.translate(draw(st.sampled_from([{}, {ord("i"): "\u0131", ord("s"): "\u017f"},
                                                {ord("I"): "\u0130", ord("S"): "\u017f"}])))
    return "/*\n * " + draw(pieces("word", "the")) + text + draw(pieces(".", "word")) + "\n */"


@settings(**SETTINGS)
@given(st.one_of(demands(), pieces("must", "has", "to", "only", "lock", "rcu", "held", "called", "with")))
def test_a_comment_that_demands_a_lock_passes_the_first_look(raw):
    if _demands_slowly(raw):
        assert lock._names_a_subject(raw) and lock._DEMAND_RAW.search(raw)
        assert lock._demand(_comment(raw)) is not None


def _demands_slowly(raw: str) -> bool:
    """The demand patterns run on the comment's prose, with no first look."""
    prose = " ".join(w for line in raw.split("\n") if (w := strip_comment_markers(line)))
    return any(pattern.search(prose) for _, pattern in lock._DEMANDS)


def test_the_demands_drawn_are_demands():
    """The strategy above does draw comments _demand() takes for demands
    (else the test above would check nothing)."""
    found = []

    @settings(**SETTINGS)
    @given(demands())
    def draw(raw):
        found.append(_demands_slowly(raw))

    draw()
    assert sum(found) > len(found) // 4
    assert _demands_slowly("/* Must be called with \u0131rq\u017f disabled. */")


@settings(**SETTINGS)
@given(pieces("recieve", "teh", "occured", "receive", "the", "https://x.org/recieve", "a@recieve.org",
              "re-use", "maybe-unecessary", "don't", "it's", "'recieve'", "(teh)", "\"occured\"", "word",
              "Recieve", "RECIEVE", "reciEve"))
def test_a_text_with_a_known_misspelling_passes_the_first_look(text):
    changelog_typo._CLEAN.clear()
    slow = any(changelog_typo._dictionary_says(w) for w in changelog_typo._words(text))
    if slow:
        assert changelog_typo._any_suspect(changelog_typo._chunks(text))
    # and the clean words it keeps stay clean: asking again says the same
    assert changelog_typo._any_suspect(changelog_typo._chunks(text)) == \
        any(map(changelog_typo._suspect, changelog_typo._chunks(text)))


def _declared_everything(region, scope) -> dict[str, str]:
    """Every name a scope declares, with its type, read the slow way (the
    first declaration of a name wins; prototypes declare nothing)."""
    from tdxbot.facts.c import _declares_pointer, _inner_function, declaration_type, declared_name

    types: dict[str, str] = {}
    for decl in region.find("declaration", "parameter_declaration", within=scope):
        type_text = declaration_type(region, decl)
        for d in decl.children_by_field_name("declarator") if type_text is not None else ():
            name = declared_name(d)
            if _inner_function(d) is None and name is not None:
                types.setdefault(name, type_text + (" *" if _declares_pointer(d) else ""))
    return types


@settings(**SETTINGS)
@given(st.lists(st.sampled_from([
    "\tu64 err;", "\tint err;", "\tint ret, i;", "\tu64 *errp = NULL;", "\tstruct tdx_module_args args = {};",
    "\tint err_count(void);", "\tu32 ret = 0;", "\tconst u64 status = x;", "\tint errno_x;",
    "\tstatic bool done;", "\tret = seamcall(TDH_SYS_INIT, &args);", "\t{ u8 err; }",
]), max_size=8))
def test_a_declared_type_is_the_first_declaration_of_the_name(body):
    lines = ["static int tdx_f(u64 status, int retries)", "{"] + body + ["}"]
    region = Region(lines, list(range(1, len(lines) + 1)), frozenset())
    for func in region.functions():
        everything = _declared_everything(region, func)
        for name in ("err", "ret", "errp", "status", "retries", "args", "i", "done", "err_count", "nope"):
            assert region.declared_type(func, name) == (everything.get(name) or region.declared_type(None, name))


@settings(**SETTINGS)
@given(pieces("loop", "loops ", "spin ", "retry ", "call it ", "forever", "FOREVER", "infinitely", "\u0131nf\u0131n\u0131tely",
              "indefinitely", "unconditionally", "loops forever", "retries \u0130NFINITELY", "don't ", "never ",
              "not ", "until ", "it ", "succeeds", "as long as it takes", "bounded", "a limited number of ",
              "tries", "attempts", "give up ", "gives up ", "after ", "at most ", "3 ", "a few ", "times",
              "once", "a single ", "retr\u0130es ", "\u017fpin ", "ATTEMPTS", "endless ", "unbounded "))
def test_a_loop_claim_passes_the_first_look(text):
    """facts.prose reads a sentence for claims about how a loop ends only
    when CLAIM_FIRST_LOOK finds a word in it. A claim that the loop runs
    forever or retries once carries such a word itself ("until it
    succeeds" included), so the first look never hides one. ("Bounded" or
    "at most 3" alone are left to sentences that speak of looping, or to a
    subjectless sentence at a loop, by design.)"""
    from tdxbot.facts import prose

    if prose.CLAIM_FIRST_LOOK.search(text):
        return
    for pattern in (prose._FOREVER, prose._ONCE):
        assert pattern.search(text) is None, (pattern.pattern[:40], text)
    assert prose.loop_claims(text) == ()
