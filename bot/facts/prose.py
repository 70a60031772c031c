"""English for the changelog rules and the engine: imperative verbs, how a
sentence states a change, and which words make up a review topic."""
from __future__ import annotations

from functools import lru_cache

import re

from ..common import lazy_re

# Verbs that open an imperative changelog sentence or subject line.
IMPERATIVE_VERBS = frozenset("""
abort accept account add adjust align allocate allow annotate apply assert assign avoid
bail block bound bring build bump cache calculate call cancel cap carry change check clamp
clarify clean clear close collect combine compute consolidate constify convert copy correct
create deduplicate defer define delay delete deny depend deprecate describe destroy detect
disable disallow discard document do drop dump emit enable enforce ensure enumerate error
exclude expand explain export expose extend extract factor fail fill filter fix flag flush
fold force forbid forward free gate generalize get give grab group guard handle harden hide
hoist honor honour hook ignore implement import include increase inform initialize init
inline insert introduce invalidate invoke issue keep kick kill limit load lock log look
loop make map mark mask match merge mention migrate mitigate move name note notify obtain
omit open opt optimize order override pass pin plumb poison populate prefer prepare
preserve prevent print probe process program propagate protect provide prune purge put
query raise read rearrange rebase recalculate reclaim record recover reduce refactor refer
refresh refuse register reinitialize reject release reload remove rename reorder replace
report request require reserve reset resize resolve restore restrict restructure resume
retain retry return reuse revert rework rewrite route run sanitize save select send
separate serialize set share shift shrink shut simplify skip sort specify split squash
start stash stop store stub support suppress switch sync synchronize take teach tear tell
test tidy toggle touch trace track treat trigger trim truncate try tweak unblock unexport
unify unlock unmap unpin unregister unwind update upgrade use validate verify wait wake
warn widen wire wrap write yield zap zero
""".split())

CONNECTORS = frozenset("so thus therefore instead hence then also additionally finally now "
                       "simply just first second third lastly and".split())


def verb_base(word: str) -> str | None:
    """'Adds' -> 'add', 'Fixes' -> 'fix', 'Added' -> 'add', 'Adding' -> 'add'."""
    w = word.lower()
    for suffix, add in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"),
                        ("ing", ""), ("ing", "e")):
        if w.endswith(suffix) and len(w) > len(suffix) + 1:
            base = w[: -len(suffix)] + add
            if base in IMPERATIVE_VERBS:
                return base
            # doubled consonant: 'dropped', 'mapping'
            if suffix in ("ed", "ing") and len(base) > 2 and base[-1] == base[-2] \
                    and base[:-1] in IMPERATIVE_VERBS:
                return base[:-1]
    return None


def is_imperative(word: str) -> bool:
    return word.lower() in IMPERATIVE_VERBS


# Words that open a sentence but are not verbs; anything else in base form
# may be an imperative verb the list above lacks ("Quiesce", "Coalesce").
NOT_VERBS = frozenset("""
a an the this that these those it its in on at for with without within when while if as since
because but and or nor so then there here we i you they he she our my your their his her some
many most all each every no not also currently now today later before after during unlike like
otherwise however therefore thus hence instead previously commit patch series linux kernel
one two three both either neither other another such only even just what which who why how where
until unless although though whether once per via from to of by into onto over under about
should would could can will may might must shall is are was were be been has have had does did
nothing something everything anything none
outside inside beyond between among across along around behind below beneath beside besides
despite toward towards through throughout against above upon amid yet still never always ever
meanwhile moreover furthermore nevertheless nonetheless whereas
""".split())


def plausible_imperative(word: str) -> bool:
    """Known imperative verbs, and any capitalised plain word that is not a
    sentence opener, inflected form, acronym or identifier."""
    if is_imperative(word):
        return True
    w = word.lower()
    if w in NOT_VERBS or not word.isalpha() or word.isupper() or len(w) < 3:
        return False
    if any(c.isupper() for c in word[1:]):
        return False  # CamelCase: a name, not a verb
    return not w.endswith(("s", "ed", "ing", "ly", "tion", "ment", "ness", "ity", "ally"))


# ---------------------------------------------------------------------------
# Sentences: what a changelog says, judged one sentence at a time.

# Verbs that name a change to the code (what a patch does to the tree), as
# opposed to what the code does when it runs ("request", "loop", "free").
CHANGE_VERBS = frozenset("""
add annotate clean consolidate constify convert deduplicate define delete deprecate document
drop export expose extend extract factor fold generalize hoist implement inline introduce make
merge move provide refactor remove rename reorder replace restructure revert rework rewrite
simplify split squash switch teach unexport unify use wire
""".split())

# Words that open a fronted clause ("Since ..., remove ..."): the main
# clause, and so the imperative, comes after its comma.
SUBORDINATORS = frozenset("""
since because as to when whenever while if once after before with without for given now unlike
like rather instead in on at during until upon although though whereas unless
""".split())

_SENTENCE_BREAK = lazy_re(r"[.!?][\"')\]]*\s+(?=[\"'(\[]*[A-Z0-9])")
_BULLET = lazy_re(r"^([-*]|\d+[.)])\s+")
# A word of prose: not a piece of an identifier (tdx_foo, foo(), TDH.SYS).
WORD = lazy_re(r"(?<![\w.])[A-Za-z][A-Za-z'-]*(?![\w(])")
_CLAUSE = lazy_re(r"[,;:]\s+")
_DETERMINERS = frozenset("a an the this that these those new its their some all each every".split())


def sentences(lines) -> tuple[tuple[int, str], ...]:
    """(index of the line it starts on, sentence) for prose given as
    (index, text) pairs; blank lines end paragraphs, bullets start one.
    (Several rules read the same changelog: it is split once.)"""
    return _sentences(tuple(lines))


@lru_cache(maxsize=32)
def _sentences(lines: tuple) -> tuple[tuple[int, str], ...]:
    out: list[tuple[int, str]] = []
    para: list[tuple[int, str]] = []

    def flush():
        if not para:
            return
        text, starts = "", []
        for index, line in para:
            starts.append((len(text), index))
            text += line + " "
        begin = 0
        for m in list(_SENTENCE_BREAK.finditer(text)) + [None]:
            end = m.end() if m else len(text)
            chunk = text[begin:end].strip()
            if chunk:
                out.append((max(i for off, i in starts if off <= begin), chunk))
            begin = end
        para.clear()

    for index, line in lines:
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if _BULLET.match(stripped):
            flush()
            stripped = _BULLET.sub("", stripped)
        para.append((index, stripped))
    flush()
    return tuple(out)  # shared by every caller: not to be changed


def _opens_imperative(words: list[str], led_in: bool) -> bool:
    while words and words[0].lower() in CONNECTORS:
        words, led_in = words[1:], True
    if not words or (not led_in and not words[0][0].isupper()):
        return False
    return plausible_imperative(words[0])


def _lead_words(clause: str) -> list[str]:
    """The words of a clause that opens with a word; [] when it opens with
    an identifier or a symbol ("tdx_foo() should ...")."""
    head = clause.split()[:1]
    if not head or not WORD.match(head[0].lstrip("\"'(")):
        return []
    return WORD.findall(clause)


def _identifier_like(word: str) -> bool:
    return "_" in word or word.endswith("()") or (word.isupper() and len(word) > 1)


@lru_cache(maxsize=1024)
def statement_mood(sentence: str) -> str | None:
    """How a sentence states a change: "imperative" ("Add ...", "So loop
    ...", "Since ..., remove ..."), "inflected" ("Adds a ..."),
    "descriptive" ("This patch adds ...", "We add ..."), "passive" ("X can
    be dropped"), "modal" ("To address this, X should take ..."),
    or None when it states no change (background, explanation).

    An imperative counts where it opens the sentence or the main clause
    after a fronted clause. In "The kernel only supports upgrades, so
    simply request the newest version" the imperative hangs off a
    background clause and tells a detail, so only a change verb counts
    there ("..., so move it to ...")."""
    clauses = _CLAUSE.split(sentence)
    first = _lead_words(clauses[0])
    if not first:
        return None
    if _opens_imperative(list(first), False):
        return "imperative"
    lead = first[0].lower()
    for clause in clauses[1:]:
        words = _lead_words(clause)
        if lead in SUBORDINATORS and _opens_imperative(words, True):
            return "imperative"
        while words and words[0].lower() in CONNECTORS:
            words = words[1:]
        if words and words[0].lower() in CHANGE_VERBS and len(words) > 1:
            return "imperative"
    if lead == "this" and len(first) > 2 and first[1].lower() in ("patch", "commit", "change", "series") \
            or lead == "the" and len(first) > 2 and first[1].lower() in ("patch", "commit"):
        return "descriptive"
    # "We add ...", "Let's add ...": the change, in the wrong voice.
    if len(first) > 1 and lead in ("we", "i", "let's", "lets", "let") and (
            is_imperative(first[1]) or verb_base(first[1]) or first[1].lower() == "us"):
        return "descriptive"
    base = verb_base(first[0])
    # "-s" and "-ed" forms only: "Replacing X starts with ..." is a gerund
    # subject, not a statement of the change.
    if base in CHANGE_VERBS and first[0][0].isupper() and first[0].endswith(("s", "d")):
        rest = sentence.split()[1:2]
        if rest and (rest[0].lower() in _DETERMINERS or _identifier_like(rest[0])):
            return "inflected"
    if passive_change(sentence):
        return "passive"
    if lead == "to" and len(first) > 2 and first[1].lower() in _REMEDY and len(clauses) > 1 \
            and _MODAL.search(" ".join(clauses[1:])):
        return "modal"  # "To address this, X should take the __pa() path"
    return None


# "To fix this, ..." : a fronted clause that announces the remedy.
_REMEDY = frozenset("address fix avoid solve handle prevent resolve cure remedy correct".split())
_MODAL = lazy_re(r"\b(?:should|must|needs? to|has to|have to|is to)\s+\w", re.I)


_PERSONAL = frozenset({"we", "i"})
_ADVERBS = frozenset("also now then simply just instead further therefore thus additionally "
                     "only first finally here".split())


@lru_cache(maxsize=1024)
def personal_change(sentence: str) -> bool:
    """Does the sentence state a change to the code in the first person:
    "We add ...", "So we also remove ...", "Here I move ..." (a clause
    opening with we/I and a verb that changes the tree)? "We walk the
    range" or "When a CPU dies, we cancel the worker" tell what code does,
    not what the patch changes."""
    for clause in _CLAUSE.split(sentence):
        words = [w.lower() for w in _lead_words(clause)]
        while words and (words[0] in CONNECTORS or words[0] in _ADVERBS):
            words = words[1:]
        if len(words) < 2 or words[0] not in _PERSONAL:
            continue
        rest = [w for w in words[1:4] if w not in _ADVERBS and w not in ("will", "can", "should", "need",
                                                                        "needs", "have", "to")]
        if rest and (rest[0] in CHANGE_VERBS or verb_base(rest[0]) in CHANGE_VERBS):
            return True
    return False


def participle(verb: str) -> str:
    irregular = {"make": "made", "split": "split", "rewrite": "rewritten", "put": "put", "set": "set",
                 "take": "taken", "move": "moved", "remove": "removed"}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ied"
    if verb in ("drop", "wrap", "strip", "ship", "stop", "plan", "zap"):
        return verb + verb[-1] + "ed"
    return verb + "ed"


# Participles that say a patch changed the tree; runtime ones ("is
# called", "is freed", "is updated") describe what the code does.
PASSIVE_CHANGE = ("added", "removed", "dropped", "deleted", "introduced", "moved", "renamed",
                  "converted", "exported", "unexported", "reverted", "refactored", "reworked",
                  "consolidated", "deduplicated", "simplified", "split out", "factored out",
                  "extracted", "open-coded", "open coded", "made static", "cleaned up",
                  "taken out", "got rid of", "replaced", "rewritten", "unified")
# The things a patch adds or removes: a passive about one of these (or an
# identifier) states the change.
ARTIFACTS = frozenset("""
helper helpers function functions check checks macro macros define defines definition
definitions wrapper wrappers code comment comments variable variables field fields member members
parameter parameters argument arguments header headers file files call calls export exports stub
stubs prototype prototypes declaration declarations warning warnings message messages test tests
option options quirk workaround hack logic support case cases path enum struct structure
structures flag flags bit bits constant constants include includes tag tags
""".split())
_PASSIVE = lazy_re(r"\b(?:is|are|gets|get|(?:can|could|should|will|would|may|might|must|needs? to|"
                   r"ha(?:s|ve) to)\s+(?:now\s+|also\s+|simply\s+|safely\s+|then\s+|just\s+)*be)"
                   r"\s+(?:now\s+|also\s+|simply\s+|safely\s+|then\s+|just\s+|thus\s+)*"
                   r"(" + "|".join(p.replace(" ", r"\s+") for p in PASSIVE_CHANGE) + r")\b", re.I)
_HISTORY = lazy_re(r"\bcommit\b|\b[0-9a-f]{12,40}\b|\bupstream\b|\bv\d+\b", re.I)


_SUBORDINATE = lazy_re(r"\b(?:so that|because|since|if|when|whenever|unless|whether|until|once|"
                       r"not|never|no longer|n't)\b|n't\b", re.I)


@lru_cache(maxsize=1024)
def passive_change(sentence: str):
    """The passive 'X is added' / 'X can be dropped' match when it is the
    sentence's statement about a piece of code; None for history ("was
    added in commit ..."), negations ("need not be removed"), passives in a
    subordinate clause ("..., so that it is removed"), and sentences that
    already open with an imperative ("Remove X so that Y can be dropped")."""
    if _HISTORY.search(sentence) or _opens_imperative(WORD.findall(_CLAUSE.split(sentence)[0]), False):
        return None
    for m in _PASSIVE.finditer(sentence):
        subject = _CLAUSE.split(sentence[:m.start()])[-1]
        if _SUBORDINATE.search(subject):
            continue
        words = subject.split()
        if words and words[-1].lower() in ("and", "or", "but"):
            # "A range ... takes the old path and is converted": the passive
            # shares the clause's subject, its opening words.
            subject = " ".join(_noun_phrase(words))
        if any(w.lower().strip("(),.") in ARTIFACTS or _identifier_like(w.strip(",.")) for w in subject.split()):
            return m
    return None


def _noun_phrase(words: list[str]) -> list[str]:
    """The opening noun phrase of a clause's words: up to its first verb,
    relative pronoun or preposition (at most four words)."""
    out = []
    for w in words[:4]:
        lw = w.lower().strip(",.")
        if out and (lw in NOT_VERBS and lw not in _DETERMINERS or verb_base(lw) or lw.endswith("s")
                    and lw[:-1] in IMPERATIVE_VERBS):
            break
        out.append(w)
    return out


# ---------------------------------------------------------------------------
# Topics: whether a human reviewer's comment is about what a finding says.

# Words that talk about the same thing. A finding's topic words pull in
# their whole group, so "spacing" matches a human's "add a new line here".
TOPIC_GROUPS = (
    ("spacing", "blank line", "empty line", "new line", "newline", "whitespace", "blank",
     "empty ' *' line", "line break"),
    ("loop", "forever", "infinite", "infinitely", "retry", "retries", "bound", "bounded", "unbounded",
     "endless", "spin", "livelock", "busy"),
    ("mask", "masked", "unmasked", "sw_error", "tdx_sw_error", "detail bits", "status mask"),
    ("typo", "spelling", "misspelled", "misspelling", "spell"),
    ("imperative", "mood", "passive", "we", "this patch", "what this patch does", "what the patch does"),
    ("tag", "tags", "signed-off-by", "sob", "trailer", "trailers", "chain", "reported-by", "closes",
     "link"),
    ("export", "exported", "export_symbol", "export_symbol_gpl", "export_symbol_for_kvm"),
    ("contradict", "contradicts", "contradiction", "mismatch", "doesn't match", "does not match",
     "inconsistent", "stale"),
    ("split", "separate patch", "own patch", "move", "moves", "refactor"),
    ("noinstr", "inline", "__always_inline", "instrumentation"),
    ("prefix", "subject", "shortlog"),
    ("stub", "stubs", "config_intel_tdx_host", "!config"),
)
_TOPIC_STOP = frozenset("""
a an the this that these those it its is are was be been not no and or but of in on at to for
with by from as if so than then there here line lines code comment comments changelog patch tdx
rule please add new nit says say does do has have should would could can will also only one
but all any none its
""".split())
# A word with a slash in it (a path); it starts where its word does, so a
# long word without one is read once, not once from each of its letters.
_PATHLIKE = lazy_re(r"(?<!\S)[^\s/]*+/\S*+")


def topic_terms(rule_id: str, message: str, declared=None) -> frozenset[str]:
    """The words and phrases that mark a comment as being on a finding's
    topic: the rule's own TOPICS when it declares them, else the content
    words of its id and message; each widened to its TOPIC_GROUPS group."""
    if declared:
        base = {t.lower() for t in declared}
    else:
        text = rule_id.replace("-", " ") + " " + _PATHLIKE.sub(" ", message.lower())
        base = {w for w in WORD.findall(text) if w not in _TOPIC_STOP and len(w) > 2}
    stems = {_stem(t) for t in base}
    out = set(base)
    for group in TOPIC_GROUPS:
        if any(t in base or _stem(t) in stems for t in group):
            out.update(group)
    return frozenset(out)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def on_topic(text: str, terms: frozenset[str]) -> bool:
    """Whether a comment's text uses one of the terms (words by stem,
    phrases as written, ignoring case)."""
    low = " ".join(text.lower().split())
    stems = {_stem(w.lower()) for w in re.findall(r"[\w'!*-]+", low)}
    for term in terms:
        if " " in term or not term.replace("_", "").replace("-", "").isalnum():
            if term in low:
                return True
        elif _stem(term) in stems:
            return True
    return False
