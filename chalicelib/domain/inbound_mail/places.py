"""Places: the words around a name that make it a Connecticut jurisdiction or rule it out
(``COMMON_WORD_TOWNS``, "statewide", "Field Office", a ZIP code, …), an index of the registry's
names, and the places named by a layer's sentences about the activation (**Places.** in the package
docstring).

Separate because it is the one step that reads the jurisdiction registry, and its rules are the
longest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.domain.inbound_mail.dates import MONTH, WEEKDAY
from chalicelib.domain.inbound_mail.results import Found, missing
from chalicelib.domain.inbound_mail.sentences import View, source_of
from chalicelib.domain.inbound_mail.text import blank_spans
from chalicelib.domain.inbound_mail.vocabulary import HISTORY
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import STATE_ID, JurisdictionKind, normalize_name

COMMON_WORD_TOWNS: frozenset[str] = frozenset(
    {
        "Andover", "Ashford", "Avon", "Berlin", "Bethany", "Bethel", "Bethlehem", "Bolton", "Bristol",
        "Brooklyn", "Burlington", "Canaan", "Canterbury", "Canton", "Chester", "Clinton", "Colchester",
        "Columbia", "Cornwall", "Coventry", "Derby", "Durham", "Easton", "Enfield", "Essex", "Fairfield",
        "Franklin", "Goshen", "Granby", "Groton", "Guilford", "Hampton", "Hebron", "Kent", "Lebanon",
        "Lisbon", "Lyme", "Madison", "Manchester", "Mansfield", "Marlborough", "Middletown", "Milford",
        "Monroe", "Morris", "Norfolk", "Orange", "Oxford", "Plymouth", "Portland", "Preston",
        "Prospect", "Putnam", "Roxbury", "Salem", "Scotland", "Sharon", "Sherman", "Somers",
        "Stafford", "Sterling", "Thompson", "Union", "Vernon", "Warren", "Washington", "Waterford",
        "Weston", "Wilton", "Winchester", "Windsor", "Woodstock",
    }
)  # fmt: skip
_STATEWIDE = re.compile(
    r"\b(?:state[\s-]?wide"
    r"|(?:throughout|across|(?:in\s+)?all\s+of|the\s+(?:entire|whole)|every\s+part\s+of)\s+"
    r"(?:the\s+state(?:\s+of\s+(?:Connecticut|CT))?|Connecticut|CT)"
    r"|all\s+(?:(?:\d+|remaining|other)\s+)?(?:Connecticut|CT|state)\s+(?:jurisdictions|towns|cities"
    r"|municipalities|counties|law\s+enforcement\s+agencies|police\s+departments|agencies)"
    r"|(?:all|every)\s+(?:(?:\d+|remaining|other)\s+)?(?:jurisdictions?|towns?|municipalit(?:y|ies)"
    r"|count(?:y|ies)|cities\s+and\s+towns|law\s+enforcement\s+agenc(?:y|ies)|police\s+departments?)"
    r"\s+(?:in|of|across|throughout)\s+(?:the\s+state|Connecticut|CT)"
    # Spanish: "en todo el estado (de Connecticut)", "en todo Connecticut", "todas las jurisdicciones de …"
    r"|en\s+todo\s+el\s+estado|(?:en\s+)?todo\s+(?:el\s+estado\s+de\s+)?Connecticut"
    r"|todas\s+las\s+(?:jurisdicciones|ciudades|localidades|agencias)\s+(?:de|del\s+estado\s+de)\s+Connecticut)\b",
    re.IGNORECASE,
)
_OFFICE_AFTER = re.compile(r"\s+(?:(?i:field|area|resident|satellite|sub)[\s-]*)?[Oo]ffice\b")
_OFFICE_BEFORE = re.compile(r"\b(?:ICE|ERO|HSI|DHS)\s+$")
_ADDRESS_AFTER = re.compile(r",?\s*(?:(?:CT|Conn\.?|Connecticut),?\s*)?0\d{4}\b")
_TOWN_OF_BEFORE = re.compile(r"\b(?:[Tt]owns?|[Cc]ity|[Cc]ities|[Bb]orough|[Vv]illage)\s+of\s+$")
_STATE_AFTER = re.compile(r",\s*(?:CT|Conn\b\.?|Connecticut)\b")
_POLICE_AFTER = re.compile(r"\s+(?:Police|PD\b|Board\s+of\s+Selectmen|Town\s+Hall)")
_IN_BEFORE = re.compile(r"\bin\s+$")
_WHEN_AFTER = re.compile(
    rf"\s*,?\s*(?:on|as\s+of|beginning|starting|effective|from|this|next|tomorrow|today|immediately"
    rf"|{WEEKDAY}|{MONTH})\b",
    re.IGNORECASE,
)
# The sentences naming the places that are kept as their evidence: the subject and a body sentence or two.
MAX_EVIDENCE_SENTENCES = 3
_LIST_SEPARATOR = re.compile(r"\s*(?:[,;&/•·*]|-(?=\s))\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class PlaceIndex:
    names: re.Pattern[str]
    county_list: re.Pattern[str]
    county_base: re.Pattern[str]
    ids: dict[str, tuple[str, JurisdictionKind, str]]  # normalized name → (id, kind, name)


def _words(name: str) -> str:
    return r"\s+".join(re.escape(word) for word in name.split())


@lru_cache(maxsize=8)
def place_index(registry: JurisdictionRegistry) -> PlaceIndex:
    """Built once per registry: one alternation, longest names first, so the longest name wins."""
    entries: list[tuple[int, str]] = []
    ids: dict[str, tuple[str, JurisdictionKind, str]] = {}
    county_bases: list[str] = []
    for node in registry.within(STATE_ID):  # forwarded mail is about Connecticut
        if node.kind is JurisdictionKind.COUNTY:
            base = node.name.removesuffix(" County")
            county_bases.append(base)
            pattern, key = _words(base) + r"\s+[Cc]ounty", normalize_name(base) + " county"
        elif node.kind is JurisdictionKind.REGION:
            base = node.name.removesuffix(" Planning Region")
            pattern = _words(base) + r"\s+(?:[Pp]lanning\s+)?[Rr]egion"
            key = normalize_name(base) + " region"
        elif node.kind in (JurisdictionKind.TOWN, JurisdictionKind.FACILITY):
            pattern, key = _words(node.name), normalize_name(node.name)
        else:
            continue
        entries.append((len(node.name), pattern))
        ids[key] = (node.id, node.kind, node.name)
    entries.sort(key=lambda entry: -entry[0])
    names = re.compile(r"(?<![\w-])(?:" + "|".join(p for _, p in entries) + r")(?![\w-])")
    bases = "|".join(_words(b) for b in sorted(county_bases, key=len, reverse=True))
    county_list = re.compile(
        rf"(?<![\w-])(?P<names>(?:{bases})(?:\s*,\s*(?:{bases}))*\s*,?\s*(?:and|&)\s+(?:{bases}))\s+[Cc]ounties\b"
    )
    return PlaceIndex(names, county_list, re.compile(rf"(?:{bases})"), ids)


def _place_key(matched: str) -> str:
    key = normalize_name(matched)
    return key.removesuffix(" planning region") + " region" if key.endswith(" planning region") else key


def _places_in(text: str, index: PlaceIndex) -> list[tuple[int, int, str, str]]:
    """(start, end, id, name as written) for each place the sentence names, by the **Places.** rules."""
    work = HISTORY.sub(lambda m: " " * len(m.group()), text)
    found = [(m.start(), m.end(), STATE_ID, m.group()) for m in _STATEWIDE.finditer(work)]
    lists = list(index.county_list.finditer(work))
    for match in lists:
        for base in index.county_base.finditer(match.group("names")):
            node_id = index.ids[normalize_name(base.group()) + " county"][0]
            start = match.start("names") + base.start()
            found.append((start, start + len(base.group()), node_id, base.group() + " County"))
    work = blank_spans(work, [match.span() for match in lists])
    raw = [
        (m, entry)
        for m in index.names.finditer(work)
        if (entry := index.ids.get(_place_key(m.group()))) is not None
    ]
    for i, (match, (node_id, kind, name)) in enumerate(raw):
        if kind is JurisdictionKind.TOWN and not _town_counts(work, match, name, raw, i):
            continue
        found.append((match.start(), match.end(), node_id, match.group()))
    return sorted(found)


def _town_counts(
    text: str,
    match: re.Match[str],
    name: str,
    raw: list[tuple[re.Match[str], tuple[str, JurisdictionKind, str]]],
    i: int,
) -> bool:
    before, after = text[max(0, match.start() - 40) : match.start()], text[match.end() : match.end() + 60]
    if _OFFICE_AFTER.match(after) or _ADDRESS_AFTER.match(after) or _OFFICE_BEFORE.search(before):
        return False
    if name not in COMMON_WORD_TOWNS:
        return True
    return bool(
        _TOWN_OF_BEFORE.search(before)
        or _STATE_AFTER.match(after)
        or _POLICE_AFTER.match(after)
        or (_IN_BEFORE.search(before) and _WHEN_AFTER.match(after))
        or _listed(text, raw, i)
    )


def _listed(text: str, raw: list[tuple[re.Match[str], tuple[str, JurisdictionKind, str]]], i: int) -> bool:
    """Next to another town or county with only a comma, "and", "or" or a bullet between them."""
    for j in (i - 1, i + 1):
        if 0 <= j < len(raw) and raw[j][1][1] in (JurisdictionKind.TOWN, JurisdictionKind.COUNTY):
            first, second = sorted((raw[i][0], raw[j][0]), key=lambda m: m.start())
            gap = text[first.end() : second.start()]
            if len(gap) <= 12 and _LIST_SEPARATOR.fullmatch(gap):
                return True
    return False


def find_places(view: View, index: PlaceIndex) -> tuple[Found[tuple[str, ...]], list[str]]:
    ids: list[str] = []
    source = ""
    read_from: list[str] = []
    elsewhere: list[str] = []
    for sentence in view.sentences:
        places = _places_in(sentence.text, index)
        if not sentence.about_the_rollout:
            elsewhere += [written for _, _, _, written in places]
            continue
        for start, end, node_id, _ in places:
            if not source:
                source = source_of(sentence, start, end)
            if node_id not in ids:
                ids.append(node_id)
        if places and len(read_from) < MAX_EVIDENCE_SENTENCES:
            read_from.append(sentence.text)
    if ids:
        return Found(tuple(ids), source, True, tuple(read_from)), []
    if elsewhere:
        named = ", ".join(dict.fromkeys(" ".join(w.split()) for w in elsewhere))
        return missing(), [f"places named outside the sentences about the activation were not used: {named}"]
    return missing(), []
