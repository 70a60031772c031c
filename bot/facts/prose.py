"""English for the changelog rules and the engine: imperative verbs, how a
sentence states a change, and which words make up a review topic."""
from __future__ import annotations

from functools import lru_cache

import re

from ..common import NamedTuple, lazy_re

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


# ---------------------------------------------------------------------------
# Loops in prose: why a retry ends (a termination argument), and what a
# comment or changelog claims about how a loop ends.
#
# Both are read by meaning, clause by clause: a reason is one of a few kinds
# (progress kept across calls, contention that lasts only while a named
# call runs, callers serialized by a named lock, a deadline or a bound kept
# by someone else), stated and not denied ("does not guarantee progress",
# "without a timeout", a question). A claim is what the words say the loop
# does: ends within a bound ("doesn't loop forever", "bounded", "gives up
# after 3 tries", "a few attempts"), retries once, or loops forever ("loop
# infinitely", "until success").


class ProseSentence(NamedTuple):
    """A sentence of a comment or changelog, with where its lines start."""
    text: str
    paragraph: int  # blank lines and list items start a new one
    starts: tuple  # (offset in text, key of the source line), in order

    def key_at(self, offset: int):
        """The key (line number, changelog index) of the line that holds
        the character at offset."""
        found = self.starts[0][1]
        for start, key in self.starts:
            if start > offset:
                break
            found = key
        return found


def prose_sentences(lines) -> tuple[ProseSentence, ...]:
    """The sentences of prose given as (key, text) lines whose markers are
    already stripped (comment stars, quote marks)."""
    return _prose_sentences(tuple(lines))


@lru_cache(maxsize=256)
def _prose_sentences(lines: tuple) -> tuple[ProseSentence, ...]:
    out: list[ProseSentence] = []
    para: list[tuple] = []
    number = 0

    def flush():
        nonlocal number
        if not para:
            return
        text, starts = "", []
        for key, line in para:
            starts.append((len(text), key))
            text += line + " "
        begin = 0
        for m in list(_SENTENCE_BREAK.finditer(text)) + [None]:
            end = m.end() if m else len(text)
            chunk = text[begin:end]
            lead = len(chunk) - len(chunk.lstrip())
            chunk = chunk.strip()
            if chunk:
                first = begin + lead
                inner = [(max(0, off - first), key) for off, key in starts if first <= off < end]
                head = [(0, key) for off, key in starts if off <= first][-1:]
                out.append(ProseSentence(chunk, number, tuple(head + [s for s in inner if s[0] > 0])))
            begin = end
        para.clear()
        number += 1

    for key, line in lines:
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if _BULLET.match(stripped):
            flush()
            stripped = _BULLET.sub("", stripped)
        para.append((key, stripped))
    flush()
    return tuple(out)


class Reason(NamedTuple):
    """A reason a sentence gives for a retry ending."""
    kind: str  # "progress", "contention", "lock", "deadline" or "bound"
    start: int  # where in the sentence it is stated
    end: int


# -- the kinds of reason -------------------------------------------------------

# Progress kept across calls: each call does part of the work and the next
# one carries on from there.
_PROGRESS = lazy_re(
    r"\bforward progress\b|\bmak(?:es?|ing) (?:some |more |further |steady |real )?progress\b|"
    r"\bprogress (?:is |gets |was |stays )?(?:kept|saved|preserved|retained|recorded|carried over)\b|"
    r"\bpicks? (?:back )?up (?:again )?(?:from )?where\b|"
    r"\bwhere (?:\w+ ){1,3}(?:left off|stopped|was interrupted|paused|got to)\b|"
    r"\b(?:resum|continu|restart)(?:es|e|ing|s)? (?:from |at )(?:the |its |their )?"
    r"(?:saved|last|same|recorded|previous|point|place|spot|position)\b|"
    r"\bkeeps? (?:track of )?(?:its|their|the) (?:place|position|progress)\b|"
    r"\b(?:saves?|records?|remembers?|stores?) (?:its|their|the) (?:place|position|progress)\b|"
    r"\b(?:kept|saved|preserved|retained|remembered) (?:across|between) (?:calls|retries|attempts|rounds)\b|"
    r"\b(?:work|progress) (?:already )?(?:done|made|completed)? ?(?:so far )?(?:is|are|stays?) "
    r"(?:kept|saved|preserved|not lost|never lost|not repeated|not redone)\b|"
    r"\b(?:each|every) (?:[\w.*]+ ){0,2}?(?:call|round|retry|attempt|iteration|pass|invocation|seamcall) "
    r"(?:\w+ ){0,3}?(?:completes|finishes|handles|processes|initiali[sz]es|frees|clears|advances|moves|retires|"
    r"writes(?: back)?|flushes|reclaims|does|converts|removes|covers|zeroes|resets) (?:\w+ ){0,2}?"
    r"(?:more|some|another|part|a part|a chunk|a batch|a bit|a portion|at least)\b|"
    r"\brecords? how far\b|\b(?:resumes?|continues?|carries on|picks? up) (?:from )?(?:there|that point)\b|"
    r"\bless (?:work|of the work) (?:is )?(?:left|remains|remaining)\b", re.I)
# Contention that lasts only while another call runs (the call must be named).
_CONTENTION = lazy_re(
    r"\bonly (?:\w+ ){0,2}?(?:while|as long as|during)\b|"
    r"\b(?:lasts?|persists?|happens?|comes? back|is returned|returns?) only (?:while|as long as|during|until)\b|"
    r"\b(?:lasts?|persists?) (?:while|as long as|until)\b|"
    # "held until", "stays busy until": the state lasts until another
    # call ends (a bare "retry until it completes" says what, not why)
    r"\b(?:held|holds?|busy|contended|contends?|conflicts?|competes?|remains?|stays?|blocked|locked) "
    r"(?:\w+ ){0,3}?until (?:[\w'.*-]+ ){0,5}?(?:finishes|finish|completes|complete|returns|return|is done|"
    r"are done|ends|exits|drains|releases)\b|"
    r"\b(?:clears|goes away|disappears|is over|resolves|is gone) (?:as soon as|once|when|after)\b|"
    r"\bno longer than\b|\bfor the duration of\b|\bat most as long as\b", re.I)
# The call itself shuts competitors out, so contention lasts only while the
# ones already running finish.
_EXCLUSION = lazy_re(
    r"\b(?:lock|keep|shut|fence)(?:s|ed|ing)? (?:(?:new|other|later|future|further|subsequent|"
    r"concurrent|competing|all|any|the|them|others|ones|callers?|calls?|seamcalls?|cpus?|vcpus?|"
    r"threads?|users?|tdh\.[\w.*]+) ){0,3}out\b|\b(?:kept|locked|shut) out\b|"
    r"\b(?:block|prevent|stop|refuse|reject|exclude|fence off)(?:s|ed|ing)? (?:all |any )?"
    r"(?:new|other|later|future|further|subsequent|concurrent|competing)\b|"
    r"\bno (?:new|other|later|further|concurrent) (?:\w+ ){0,3}(?:can|may|will|could) "
    r"(?:start|begin|run|get in|enter|be issued|be made)\b", re.I)
# A call named in the prose: a TDX leaf (TDH.SYS.*, TDH_MEM_TRACK), a
# function(), a snake_case name.
_NAMED_CALL = lazy_re(r"\bTD[HG][._][\w.*]+|\b[A-Za-z_]\w*\(\)|\b[a-z]+_[a-z0-9_]+\b")
# A named lock, and what serializes callers on it.
_LOCK_NAME = lazy_re(r"\b\w+_(?:lock|mutex|sem|rwsem|spinlock)\b|\b\w+->\w*(?:lock|mutex|sem)\b|"
                     r"\bthe (?!same\b|other\b|lock\b)\w+ (?:spin)?(?:lock|mutex|rwsem|semaphore)\b", re.I)
_SERIALIZED = lazy_re(r"\bserializ\w*|\bheld\b|\bhold(?:s|ing)?\b|\bunder\b|\bprotected by\b|"
                      r"\b(?:takes?|took|taken|acquires?|acquired|grabs?|holding)\b|\bmutual(?:ly)? exclu\w*",
                      re.I)
# Someone other than the loop keeps the time or the count.
_AGENT = lazy_re(r"\bcallers?\b|\bcaller's\b|\bthe (?:tdx )?module\b|\btdx module\b|\bfirmware\b|"
                 r"\bspec(?:ification)?\b|\bhardware\b|\bvmm\b|\bthe host\b|\buserspace\b|\bwatchdog\b|"
                 r"\b(?:hr)?timer\b|\bhelper\b|\bwrapper\b|\b[A-Za-z_]\w*\(\)", re.I)
_TIME = lazy_re(r"\btime-?outs?\b|\btimes? out\b|\bdeadlines?\b|\btime limit\b|\bwatchdog\b|\bjiffies\b|"
                r"\b(?:milli|micro)?seconds?\b|\b\d+ ?(?:ms|us|ns|s|sec|secs)\b", re.I)
_COUNT_BOUND = lazy_re(r"\bat most\b|\bno more than\b|\bup to \w+ (?:times|retries|tries|attempts|rounds|calls)\b|"
                       r"\bbound(?:s|ed)? (?:by|the|it|this|how)\b|\blimit(?:s|ed)? (?:by|the|it|this|how)\b|"
                       r"\bcap(?:s|ped)? (?:by|the|it|this)\b|\b(?:a |an )?(?:fixed|finite|bounded|limited) "
                       r"number of\b|\bonly (?:\w+ ){0,2}?(?:once|twice|\d+ times)\b", re.I)
_CONTRACT = lazy_re(r"\b(?:guarantee|promise|document|specifie|specify|ensure)(?:s|d)? (?:that )?(?:\w+ ){0,8}?"
                    r"(?:ends?|completes?|succeeds?|terminates?|finishes|stops?|clears?|"
                    r"returns? (?:success|TDX_SUCCESS))\b", re.I)

# Words that deny what follows in their clause, and the words that turn a
# denial into a condition ("will not return until it makes progress").
_NEGATORS = frozenset("not no never nothing without cannot unless none neither nor avoid prevent "
                      "instead".split())
_CANCELLERS = frozenset("until unless without before only except".split())
_CLAUSE_BREAK = lazy_re(r"[,;:()]|\s(?:but|however|so|and so|thus|hence|because|since|although|though)\s",
                        re.I)
_TOKEN = lazy_re(r"[A-Za-z']+")


def denied(text: str, start: int) -> bool:
    """Whether the clause before offset start denies what stands at start
    ("no progress", "does not guarantee", "without a timeout"), reading a
    denial followed by "until"/"unless"/"without" as a condition."""
    begin = 0
    for m in _CLAUSE_BREAK.finditer(text, 0, start):
        begin = m.end()
    neg = False
    for tok in _TOKEN.findall(text, begin, start):
        low = tok.lower()
        if low in _CANCELLERS and neg:
            neg = False
        elif low in _NEGATORS or low.endswith("n't"):
            neg = True
    return neg


# Verbs of looping: "retry only while X returns BUSY" restates the loop's
# condition, it does not say the contention lasts only while X runs.
_LOOP_VERBS = frozenset("retry retrying loop looping call calling spin spinning try trying repeat "
                        "repeating poll polling".split())


def _restates_loop(sentence: str, start: int) -> bool:
    before = _TOKEN.findall(sentence, max(0, start - 24), start)
    return bool(before) and before[-1].lower() in _LOOP_VERBS


def termination_reasons(sentence: str) -> tuple[Reason, ...]:
    """The reasons a sentence gives for a retry ending, in order (none for
    a question, or where every reason is denied)."""
    return _termination_reasons(sentence)


@lru_cache(maxsize=2048)
def _termination_reasons(sentence: str) -> tuple[Reason, ...]:
    if sentence.rstrip().endswith("?"):
        return ()
    found: list[Reason] = []
    for m in _PROGRESS.finditer(sentence):
        found.append(Reason("progress", m.start(), m.end()))
    if _NAMED_CALL.search(sentence):
        for m in _CONTENTION.finditer(sentence):
            if not _restates_loop(sentence, m.start()):
                found.append(Reason("contention", m.start(), m.end()))
    for m in _EXCLUSION.finditer(sentence):
        found.append(Reason("contention", m.start(), m.end()))
    lock = _LOCK_NAME.search(sentence)
    if lock:
        verb = _SERIALIZED.search(sentence)
        if verb:
            found.append(Reason("lock", min(lock.start(), verb.start()), max(lock.end(), verb.end())))
    if _AGENT.search(sentence):
        for m in _TIME.finditer(sentence):
            found.append(Reason("deadline", m.start(), m.end()))
        for m in _COUNT_BOUND.finditer(sentence):
            found.append(Reason("bound", m.start(), m.end()))
        for m in _CONTRACT.finditer(sentence):
            found.append(Reason("bound", m.start(), m.end()))
    return tuple(sorted((r for r in found if not denied(sentence, r.start)), key=lambda r: r.start))


# -- what prose claims about how a loop ends -----------------------------------


class LoopClaim(NamedTuple):
    """What a sentence says about how a loop ends."""
    kind: str  # "finite" (ends, is bounded), "count" (gives up after N), "once", "forever"
    count: int | None  # the number of tries a "count" claim names, when it names one
    start: int  # where in the sentence the claim is
    imperative: bool  # said as a command ("Don't loop forever."), not a description
    caused: bool = False  # the sentence says what makes it so ("X ensures it won't loop forever")


# Words that make a sentence about looping.
_LOOP_WORD_LIST = (r"loop\w*|retr(?:y|ies|ied|ying)|re-?tr(?:y|ies|ied|ying)|spin\w*|tries|try|trying|"
                   r"attempts?|iterat\w*|again|repeat\w*|rounds?|calls?|forever|infinite\w*|endless\w*|"
                   r"indefinitely|give up|gives up")
LOOP_WORDS = lazy_re(r"\b(?:" + _LOOP_WORD_LIST + r")\b", re.I)
_NUMBER = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a few|a handful of|several|a couple of)"
_UNITS = r"(?:times|retries|re-tries|tries|attempts|rounds|iterations|calls|loops|passes)"
# Loops forever: a verb of looping and a word of no end, a noun phrase, or
# "until it succeeds".
_FOREVER = lazy_re(
    r"\b(?:loop(?:s|ing|ed)?|spin(?:s|ning)?|retr(?:y|ies|ying|ied)|run(?:s|ning)?|iterat(?:e|es|ing)|"
    r"poll(?:s|ing)?|wait(?:s|ing)?|repeat(?:s|ing)?|call(?:s|ing)?(?: it)?|tr(?:y|ies|ying)|"
    r"keep(?:s)? (?:retrying|trying|calling|looping|spinning|going)) (?:\w+ ){0,2}?"
    r"(?:forever|for ever|infinitely|indefinitely|endlessly|unconditionally)\b|"
    r"\b(?:infinite|endless|unbounded|unlimited|open-ended|never-ending) (?:loop|retry|retries|retrying|"
    r"spin|spinning|looping|wait|number of (?:retries|tries|attempts))\b|"
    r"\buntil (?:it |the \w+ |the call |this |that |they )?(?:succeeds|success|completes|works|"
    r"goes through|is successful)\b|"
    r"\b(?:no|without (?:a |any )?)(?:upper )?(?:limit|bound|cap|maximum) (?:on|to|for) (?:the )?"
    r"(?:number of )?(?:retries|tries|attempts|loops|iterations|rounds)\b|"
    r"\bas long as it takes\b", re.I)
# Ends within a bound (without saying how many tries).
_FINITE = lazy_re(
    r"(?<!un)\bbounded\b|"
    r"\b(?:a |an )?(?:limited|bounded|finite|fixed|small) number of " + _UNITS + r"\b|"
    r"\blimit(?:s|ed|ing)? (?:the )?(?:number of )?(?:retries|retrying|attempts|tries|loops|iterations|"
    r"rounds)\b|\b(?:retries|attempts|tries|loop|iterations) (?:is |are )?(?:limited|capped|bounded)\b|"
    r"\bcap(?:s|ped)? (?:the )?(?:number of )?(?:retries|attempts|tries|loop|iterations)\b|"
    r"\b(?:gives?|giving|gave) up\b|\bbails? out\b|\bstops? (?:retrying|trying|looping)\b", re.I)
# Gives up after a number of tries ("a few" names none).
_COUNT = lazy_re(
    r"\b(?:at most|up to|no more than|not more than|a maximum of|maximum of|max\.?) (" + _NUMBER + r")"
    r"(?: " + _UNITS + r")?\b|"
    r"\b(?:after|within) (" + _NUMBER + r"|\w+) (?:failed |unsuccessful |more |consecutive )?"
    + _UNITS + r"\b|"
    r"\b(?:retry|retrying|try|trying|loop|call it|attempt) (?:it |the \w+ )?(?:up to |at most )?"
    r"(" + _NUMBER + r") (?:more )?times\b|"
    r"\b(" + _NUMBER + r") " + _UNITS + r" at most\b|"
    r"\bonly (" + _NUMBER + r") " + _UNITS + r"\b", re.I)
_ONCE = lazy_re(
    r"\bretr(?:y|ies|ied|ying) (?:it |the \w+ )?(?:only |just |exactly )?(?:once|one time)\b|"
    r"\b(?:only |just )?(?:one|a single) (?:more |extra |last )?(?:retry|re-try|attempt|try)\b|"
    r"\b(?:a|one) (?:second|extra|more) call\b|\bsecond (?:retry|attempt|try)\b|\btry (?:it )?twice\b", re.I)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10}
_IMPERATIVE_OPENING = lazy_re(r"^(?:don'?t|do not|never|avoid|prevent|make sure|ensure|no need to|"
                              r"retry|try|loop|give up|limit|cap|bail|stop|keep|call)\b", re.I)


def loop_claims(sentence: str, at_loop: bool = False) -> tuple[LoopClaim, ...]:
    """What a sentence about looping claims about how the loop ends. A
    denied claim turns round ("don't loop forever" claims an end, "never
    gives up" claims none); a sentence that names a bound and also says
    "until it succeeds" claims the bound. at_loop: the sentence is in a
    comment at a loop, where one with no subject ("Bounded by
    RETRY_LOOPS.") speaks of that loop."""
    return _loop_claims(sentence, at_loop)


# A sentence with no subject that says the loop it sits at is bounded.
_ELIDED_BOUND = lazy_re(r"^(?:bounded|limited|capped) (?:by|to|at)\b", re.I)


# A loop forever named as a hazard, not as what the loop does: "we would
# get stuck in an infinite loop if the page came back", "otherwise ...".
# A condition ("if", "unless") makes a hazard only of a loop named as a
# thing ("an infinite loop if ..."): "retry forever if it is busy" is a claim.
_HYPOTHETICAL = lazy_re(r"\b(?:otherwise|would|could|might|risks?)\b", re.I)
_CONDITION = lazy_re(r"\b(?:if|unless|whenever|in case)\b", re.I)
_HAZARD_NOUN = frozenset("infinite endless unbounded unlimited open-ended never-ending".split())
# What makes a loop end, said as the subject of the sentence: "Disallowing
# max_id from shrinking ensures KVM won't get stuck in an infinite loop".
_CAUSE = lazy_re(r"\b(?:ensures?|guarantees?|makes? sure|means?)\b|\bso that\b", re.I)
_EMPTY_SUBJECT = frozenset("this it that which the loop code here also will so and then".split())


def _clause(text: str, at: int) -> tuple[int, int]:
    """The clause around offset at: from the last clause break before it
    to the next one after it."""
    begin, end = 0, len(text)
    for m in _CLAUSE_BREAK.finditer(text):
        if m.end() <= at:
            begin = m.end()
        elif m.start() > at:
            end = m.start()
            break
    return begin, end


def _hypothetical(sentence: str, at: int) -> bool:
    begin, end = _clause(sentence, at)
    if _HYPOTHETICAL.search(sentence, begin, end):
        return True
    first = _TOKEN.match(sentence, at)
    return bool(first and first.group(0).lower() in _HAZARD_NOUN and _CONDITION.search(sentence, begin, end))


def _caused(sentence: str, at: int) -> bool:
    """Whether the clause of a denied "forever" names what ends the loop,
    as a subject of its own before "ensures" (not just "this ensures")."""
    begin, _end = _clause(sentence, at)
    m = _CAUSE.search(sentence, begin, at)
    if m is None:
        return False
    subject = [w.lower() for w in _TOKEN.findall(sentence, begin, m.start())]
    return any(w not in _EMPTY_SUBJECT for w in subject)


# The first look at a sentence before the claim patterns: it finds a word
# of each claim ("until it succeeds" and "as long as it takes" have no
# loop word of their own).
CLAIM_FIRST_LOOK = lazy_re(r"\b(?:" + _LOOP_WORD_LIST + r"|until|takes)\b", re.I)


@lru_cache(maxsize=2048)
def _loop_claims(sentence: str, at_loop: bool) -> tuple[LoopClaim, ...]:
    if sentence.rstrip().endswith("?"):
        return ()
    if not CLAIM_FIRST_LOOK.search(sentence):
        if at_loop and _ELIDED_BOUND.match(sentence.lstrip("-*> \t")):
            return (LoopClaim("finite", None, 0, False),)
        return ()
    imperative = bool(_IMPERATIVE_OPENING.match(sentence.lstrip("-*> \t")))
    found: list[LoopClaim] = []
    for m in _FOREVER.finditer(sentence):
        # the denial may stand inside the match: "the retry cannot loop forever"
        last = sentence.rfind(" ", m.start(), m.end()) + 1 or m.start()
        if denied(sentence, max(last, m.start())):
            found.append(LoopClaim("finite", None, m.start(), imperative, _caused(sentence, m.start())))
        elif not _hypothetical(sentence, m.start()):
            found.append(LoopClaim("forever", None, m.start(), imperative))
    for m in _FINITE.finditer(sentence):
        if not denied(sentence, m.start()):
            found.append(LoopClaim("finite", None, m.start(), imperative))
        elif not _hypothetical(sentence, m.start()):
            found.append(LoopClaim("forever", None, m.start(), imperative))
    for m in _COUNT.finditer(sentence):
        if denied(sentence, m.start()):
            continue
        words = next(g for g in m.groups() if g)
        count = int(words) if words.isdigit() else _NUMBER_WORDS.get(words.lower())
        found.append(LoopClaim("count", count, m.start(), imperative))
    for m in _ONCE.finditer(sentence):
        if not denied(sentence, m.start()):
            found.append(LoopClaim("once", 1, m.start(), imperative))
    if any(c.kind != "forever" for c in found):
        found = [c for c in found if c.kind != "forever"]
    if any(c.kind in ("count", "once") for c in found):  # the number says more than "bounded"
        found = [c for c in found if c.kind != "finite"]
    return tuple(sorted(found, key=lambda c: c.start))
