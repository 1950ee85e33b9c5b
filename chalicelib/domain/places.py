"""A place of the United States as Vigil knows it, and the words it answers to.

What a place is (its kind, id, FIPS code and direct parents), the one id scheme, and the rules for
reading a name as people and source systems write it (case, punctuation, "Town of", "County",
the state's words), shared by the registry that resolves names (``domain/jurisdictions.py``), the
data build and admin-added facilities. Standard library only and no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

STATE_ID = "us-ct"  # the home state: Connecticut


def state_of(jurisdiction_id: str) -> str:
    """The id of the state (or territory) a place lies in: ids start with it (``us-tx/county/harris``)."""
    return jurisdiction_id.split("/", 1)[0]


def state_id_for(postal_code: str) -> str:
    """A state's id from its two-letter postal code: ``TX`` → ``us-tx``."""
    return f"us-{postal_code.strip().lower()}"


class JurisdictionKind(StrEnum):
    STATE = "state"
    COUNTY = "county"
    REGION = "region"
    TOWN = "town"
    FACILITY = "facility"


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """One node of the graph; ``parents`` holds only the direct parents, ancestry is the registry's job.

    ``aka``: other names the source lists for the same code (Kings County is also "Brooklyn Borough").
    """

    id: str
    kind: JurisdictionKind
    name: str
    fips: str | None
    parents: tuple[str, ...]
    aka: tuple[str, ...] = ()
    # A facility no new detainer may name (domain/facilities.py); what named it keeps it.
    retired: bool = False

    @property
    def state_id(self) -> str:
        return state_of(self.id)

    @property
    def full_name(self) -> str:
        """The name a reader needs: a place of another state than Connecticut with its state
        ("Harris County, TX"; there is one in Georgia too), a state or a Connecticut place alone."""
        if self.state_id == STATE_ID or self.kind is JurisdictionKind.STATE:
            return self.name
        return f"{self.name}, {self.state_id.removeprefix('us-').upper()}"

    def say(self) -> str:
        """Words that name this place and no other: its full name, and another state as "State of …"
        (a bare "Washington" is the Connecticut town)."""
        if self.kind is JurisdictionKind.STATE and self.state_id != STATE_ID:
            return f"State of {self.name}"
        return self.full_name

    def as_alternative(self) -> dict[str, str]:
        """This place as one the words did not choose, with what to say to choose it instead."""
        return {"id": self.id, "name": self.name, "kind": str(self.kind), "say": self.say()}

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "fips": self.fips,
            "parents": list(self.parents),
        }
        if self.aka:
            out["aka"] = list(self.aka)
        if self.retired:
            out["retired"] = True
        return out


class UnknownJurisdiction(LookupError):
    """A name or code we cannot map to exactly one node.

    Carries the closest names so that a source system's 400 response (or an admin's form) can say
    what was probably meant: a misrouted notice is worse than a refused one. An ambiguous one also
    carries the places it could mean (``candidates``), named with their ids in the message.
    """

    def __init__(
        self,
        query: str,
        suggestions: Iterable[str] = (),
        *,
        ambiguous: bool = False,
        kind: JurisdictionKind | None = None,
        candidates: Iterable[Jurisdiction] = (),
    ) -> None:
        self.query = query
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        self.candidates: tuple[Jurisdiction, ...] = tuple(candidates)
        self.ambiguous = ambiguous
        what = f"{'ambiguous' if ambiguous else 'unknown'} {kind.value if kind else 'jurisdiction'}"
        message = f"{what} {query!r}"
        if self.candidates:
            message += "; could mean: " + ", ".join(f"{c.say()} ({c.id})" for c in self.candidates)
        elif self.suggestions:
            message += f"; {'could mean' if ambiguous else 'closest'}: {', '.join(self.suggestions)}"
        super().__init__(message)
        self.message = message


# Words that say "this is the county/region" in a name but carry no identity, so ids stay short and stable.
_ID_DROPPED_SUFFIX = {
    JurisdictionKind.COUNTY: " County",
    JurisdictionKind.REGION: " Planning Region",
}
# What the Census calls county-equivalents: a bare "Orleans" or "Fairfax" answers to each of them.
_COUNTY_WORDS = (
    " city and borough",
    " census area",
    " municipality",
    " municipio",
    " district",
    " borough",
    " county",
    " parish",
    " city",
)
_FACILITY_SUFFIXES = {"correctional center": "cc", "correctional institution": "ci"}
STATE_WORDS = ("connecticut", "conn", "ct")
_STATE_PHRASES = frozenset(
    {
        "connecticut",
        "ct",
        "conn",
        "statewide",
        "state of connecticut",
        "state of ct",
        "all of connecticut",
        "all of ct",
        "throughout connecticut",
        "throughout ct",
        "connecticut statewide",
        "ct statewide",
        "statewide connecticut",
        "statewide ct",
        "the state of connecticut",
    }
)
_STATE_PHRASE_FORMS = (
    "{}",
    "state of {}",
    "the state of {}",
    "all of {}",
    "throughout {}",
    "{} statewide",
    "statewide {}",
)
_TOWN_PREFIXES = ("town of ", "city of ")
_TOWN_SUFFIXES = (" town", " city")


def slugify(text: str) -> str:
    """Ids must survive URLs, DynamoDB keys and log greps, so they are ASCII, lowercase and hyphenated."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def canonical_id(kind: JurisdictionKind, name: str, state_id: str = STATE_ID) -> str:
    """The one place the id scheme lives, shared by the data build and by admin-added facilities:
    ``<state>/<kind>/<name without " County" or " Planning Region">`` (``us-va/county/fairfax``
    and ``us-va/county/fairfax-city`` for Fairfax County and Fairfax city)."""
    if kind is JurisdictionKind.STATE:
        return state_id
    suffix = _ID_DROPPED_SUFFIX.get(kind)
    base = name.strip()
    if suffix and base.lower().endswith(suffix.lower()):
        base = base[: -len(suffix)]
    slug = slugify(base)
    if not slug:
        raise ValueError(f"a {kind.value} needs a name with letters or digits, got {name!r}")
    return f"{state_id}/{kind.value}/{slug}"


def normalize_name(text: str) -> str:
    """Inputs come from forms, spreadsheets and other agencies' systems, so case and punctuation vary."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def strip_state(key: str) -> str | None:
    """'New Haven, CT' names the town; the state is implied by the registry."""
    for word in STATE_WORDS:
        if key.endswith(" " + word) and len(key) > len(word) + 1:
            return key[: -len(word) - 1]
    return None


def strip_town_words(key: str) -> str | None:
    """'Town of X', 'City of X' and Census-style 'X town' always mean a town, never a county or region."""
    for prefix in _TOWN_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    for suffix in _TOWN_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return None


def aliases(node: Jurisdiction, key: str) -> Iterable[str]:
    """Shorter names people use; they lose to any canonical name and are dropped when two nodes share one."""
    kind = node.kind
    if kind is JurisdictionKind.STATE:
        if node.id == STATE_ID:
            return _STATE_PHRASES
        postal = node.id.removeprefix("us-")
        return [form.format(word) for word in (key, postal) for form in _STATE_PHRASE_FORMS]
    if kind is JurisdictionKind.COUNTY:
        word = next((w for w in _COUNTY_WORDS if key.endswith(w) and len(key) > len(w)), None)
        return (key.removesuffix(word),) if word else ()
    if kind is JurisdictionKind.REGION and key.endswith(" planning region"):
        base = key.removesuffix(" planning region")
        return (base, base + " region")
    if kind is JurisdictionKind.FACILITY:
        for suffix, abbreviation in _FACILITY_SUFFIXES.items():
            if key.endswith(" " + suffix):
                base = key.removesuffix(" " + suffix)
                return (base, f"{base} {abbreviation}")
    return ()


def parse_state_file(state: str, data: Mapping[str, object]) -> list[Jurisdiction]:
    if data.get("state") != state:
        raise ValueError(f"the file of {state!r} says it holds {data.get('state')!r}")
    entries = data.get("jurisdictions")
    if not isinstance(entries, list):
        raise ValueError(f"{state}: jurisdiction data needs a 'jurisdictions' list")
    return [parse_entry(entry) for entry in entries]


def parse_entry(entry: object) -> Jurisdiction:
    if not isinstance(entry, Mapping):
        raise ValueError(f"jurisdiction entry must be an object, got {entry!r}")
    node_id, kind, name, fips, parents = (entry.get(k) for k in ("id", "kind", "name", "fips", "parents"))
    aka = entry.get("aka", [])
    if not isinstance(node_id, str) or not isinstance(name, str) or not isinstance(kind, str):
        raise ValueError(f"jurisdiction entry needs string id, kind and name: {entry!r}")
    if fips is not None and not (isinstance(fips, str) and fips.isdigit()):
        raise ValueError(f"{node_id!r}: fips must be a string of digits or null")
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ValueError(f"{node_id!r}: parents must be a list of ids")
    if not isinstance(aka, list) or not all(isinstance(a, str) for a in aka):
        raise ValueError(f"{node_id!r}: aka must be a list of names")
    try:
        node_kind = JurisdictionKind(kind)
    except ValueError:
        raise ValueError(f"{node_id!r}: unknown kind {kind!r}") from None
    return Jurisdiction(node_id, node_kind, name, fips, tuple(str(p) for p in parents), tuple(aka))
