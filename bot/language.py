"""English for changelog rules: which words are imperative verbs."""
from __future__ import annotations

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
