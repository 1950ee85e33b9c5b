"""Connecticut's jurisdictions as a graph, and the rules for naming them.

Notices and subscriptions name places the way people and source systems do: a town name, a legacy
county, a planning region, a FIPS code or "statewide". Routing needs one canonical node and all of
its ancestors, because a subscription to a node covers everything under it. Connecticut makes this
harder than it looks: its eight legacy counties (still used by programs such as Secure Communities)
and the nine planning regions that replaced them as Census county-equivalents in 2022 cut across each
other, so a town has two parents, and several towns share their names with a county.

Standard library only and no I/O: the data comes in through ``JurisdictionRegistry.from_json``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

STATE_ID = "us-ct"


class JurisdictionKind(StrEnum):
    STATE = "state"
    COUNTY = "county"
    REGION = "region"
    TOWN = "town"
    FACILITY = "facility"


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """One node of the graph; ``parents`` holds only the direct parents, ancestry is the registry's job."""

    id: str
    kind: JurisdictionKind
    name: str
    fips: str | None
    parents: tuple[str, ...]

    def as_alternative(self) -> dict[str, str]:
        """This place as one the words did not choose, with what to say to choose it instead."""
        return {"id": self.id, "name": self.name, "kind": str(self.kind), "say": self.name}

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "fips": self.fips,
            "parents": list(self.parents),
        }


class UnknownJurisdiction(LookupError):
    """A name or code we cannot map to exactly one node.

    Carries the closest names so that a source system's 400 response (or an admin's form) can say
    what was probably meant: a misrouted notice is worse than a refused one.
    """

    def __init__(
        self,
        query: str,
        suggestions: Iterable[str] = (),
        *,
        ambiguous: bool = False,
        kind: JurisdictionKind | None = None,
    ) -> None:
        self.query = query
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        self.ambiguous = ambiguous
        what = f"{'ambiguous' if ambiguous else 'unknown'} {kind.value if kind else 'jurisdiction'}"
        message = f"{what} {query!r}"
        if self.suggestions:
            message += f"; {'could mean' if ambiguous else 'closest'}: {', '.join(self.suggestions)}"
        super().__init__(message)
        self.message = message


# Words that say "this is the county/region" in a name but carry no identity, so ids stay short and stable.
_ID_DROPPED_SUFFIX = {
    JurisdictionKind.COUNTY: " County",
    JurisdictionKind.REGION: " Planning Region",
}
_FACILITY_SUFFIXES = {"correctional center": "cc", "correctional institution": "ci"}
_STATE_WORDS = ("connecticut", "conn", "ct")
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
_TOWN_PREFIXES = ("town of ", "city of ")
_TOWN_SUFFIXES = (" town", " city")
_MAX_SUGGESTIONS = 5


def slugify(text: str) -> str:
    """Ids must survive URLs, DynamoDB keys and log greps, so they are ASCII, lowercase and hyphenated."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def canonical_id(kind: JurisdictionKind, name: str) -> str:
    """The one place the id scheme lives, shared by the data build and by admin-added facilities."""
    if kind is JurisdictionKind.STATE:
        return STATE_ID
    suffix = _ID_DROPPED_SUFFIX.get(kind)
    base = name.strip()
    if suffix and base.lower().endswith(suffix.lower()):
        base = base[: -len(suffix)]
    slug = slugify(base)
    if not slug:
        raise ValueError(f"a {kind.value} needs a name with letters or digits, got {name!r}")
    return f"{STATE_ID}/{kind.value}/{slug}"


def normalize_name(text: str) -> str:
    """Inputs come from forms, spreadsheets and other agencies' systems, so case and punctuation vary."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def _strip_state(key: str) -> str | None:
    """'New Haven, CT' names the town; the state is implied by the registry."""
    for word in _STATE_WORDS:
        if key.endswith(" " + word) and len(key) > len(word) + 1:
            return key[: -len(word) - 1]
    return None


def _strip_town_words(key: str) -> str | None:
    """'Town of X', 'City of X' and Census-style 'X town' always mean a town, never a county or region."""
    for prefix in _TOWN_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    for suffix in _TOWN_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return None


# Canonical names beat derived aliases, so a bare "Hartford" is the town and not Hartford County.
_CANONICAL, _ALIAS = 0, 1


class JurisdictionRegistry:
    """All known jurisdictions, with every lookup table precomputed because resolution runs per event."""

    def __init__(self, jurisdictions: Iterable[Jurisdiction]) -> None:
        nodes = tuple(jurisdictions)
        by_id: dict[str, Jurisdiction] = {}
        for node in nodes:
            if node.id in by_id:
                raise ValueError(f"duplicate jurisdiction id {node.id!r}")
            by_id[node.id] = node
        for node in nodes:
            for parent in node.parents:
                if parent not in by_id:
                    raise ValueError(f"{node.id!r} names unknown parent {parent!r}")
        self._all = nodes
        self._by_id = by_id
        self._by_kind = {kind: tuple(n for n in nodes if n.kind is kind) for kind in JurisdictionKind}
        children: dict[str, list[Jurisdiction]] = {node.id: [] for node in nodes}
        for node in nodes:
            for parent in node.parents:
                children[parent].append(node)
        self._children = {key: tuple(value) for key, value in children.items()}
        self._ancestors = {node.id: self._walk_up(node) for node in nodes}
        self._names = self._index_names(nodes)
        # Short names a node answers to that another node's own name took ("Tolland": the town,
        # not Tolland County): said beside the answer, so a person can name the other.
        self._shadowed: dict[str, tuple[str, ...]] = {}
        for node in nodes:
            for alias in _aliases(node.kind, normalize_name(node.name)):
                winners = self._names.get(alias, ())
                if winners and node.id not in winners:
                    self._shadowed[alias] = (*self._shadowed.get(alias, ()), node.id)
        self._towns = {normalize_name(n.name): n.id for n in self._by_kind[JurisdictionKind.TOWN]}
        self._fips = self._index_fips(nodes)
        self._suggestion_keys = self._index_suggestions()

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> JurisdictionRegistry:
        """Parse the shipped data file strictly: a malformed file must fail at cold start, not mid-routing."""
        entries = data.get("jurisdictions")
        if not isinstance(entries, list):
            raise ValueError("jurisdiction data needs a 'jurisdictions' list")
        return cls(_parse_entry(entry) for entry in entries)

    def as_json(self) -> list[dict[str, object]]:
        return [node.as_json() for node in self._all]

    def get(self, id: str) -> Jurisdiction:
        try:
            return self._by_id[id]
        except KeyError:
            raise UnknownJurisdiction(id, self._suggest(id.rsplit("/", 1)[-1])) from None

    def resolve(self, text: str) -> Jurisdiction:
        """Map whatever a person or source system wrote to one node, or refuse with suggestions."""
        stripped = text.strip()
        if stripped.lower() in self._by_id:
            return self._by_id[stripped.lower()]
        if stripped.isdigit():
            return self._one(stripped, self._fips.get(stripped), suggest=False)
        key = normalize_name(stripped)
        candidates = [key]
        without_state = _strip_state(key)
        if without_state:
            candidates.append(without_state)
        for candidate in candidates:
            ids = self._names.get(candidate)
            if ids:
                return self._one(text, ids)
        bare = candidates[-1]
        for candidate in candidates:
            town_name = _strip_town_words(candidate)
            if town_name:
                bare = town_name
                if town_name in self._towns:
                    return self._by_id[self._towns[town_name]]
        raise UnknownJurisdiction(text, self._suggest(bare))

    def also_named(self, text: str, chosen: Jurisdiction) -> tuple[Jurisdiction, ...]:
        """Other places that ``text`` could have meant but did not: a county that shares its name
        with the town chosen ("Tolland", "Windham"). Empty when the words were unambiguous."""
        key = normalize_name(text.strip())
        others = self._shadowed.get(key, ())
        return tuple(self._by_id[i] for i in others if i != chosen.id)

    def ancestors(self, id: str) -> tuple[Jurisdiction, ...]:
        """The node first, then each ancestor once, nearest first: what a notice for ``id`` reaches."""
        try:
            return self._ancestors[id]
        except KeyError:
            raise UnknownJurisdiction(id, self._suggest(id.rsplit("/", 1)[-1])) from None

    def all(self) -> tuple[Jurisdiction, ...]:
        return self._all

    def of_kind(self, kind: JurisdictionKind) -> tuple[Jurisdiction, ...]:
        return self._by_kind[kind]

    def children(self, id: str) -> tuple[Jurisdiction, ...]:
        try:
            return self._children[id]
        except KeyError:
            raise UnknownJurisdiction(id, self._suggest(id.rsplit("/", 1)[-1])) from None

    def with_facilities(self, extra: Iterable[tuple[str, str]]) -> JurisdictionRegistry:
        """Facilities open, close and get renamed; admins add them as (facility name, town name) at run time.

        An admin entry with the id of an existing facility replaces it, since admin data is newer than
        the seed list. The registry itself is never changed, so lookups in flight see one consistent graph.
        """
        added: dict[str, Jurisdiction] = {}
        for facility_name, town_name in extra:
            name = " ".join(facility_name.split())
            town = self._town(town_name)
            facility_id = canonical_id(JurisdictionKind.FACILITY, name)
            added[facility_id] = Jurisdiction(facility_id, JurisdictionKind.FACILITY, name, None, (town.id,))
        kept = [node for node in self._all if node.id not in added]
        return JurisdictionRegistry([*kept, *added.values()])

    def _town(self, text: str) -> Jurisdiction:
        try:
            node = self.resolve(text)
        except UnknownJurisdiction:
            node = None
        if node is None or node.kind is not JurisdictionKind.TOWN:
            suggestions = self._suggest(text, JurisdictionKind.TOWN)
            raise UnknownJurisdiction(text, suggestions, kind=JurisdictionKind.TOWN)
        return node

    def _one(self, query: str, ids: tuple[str, ...] | None, *, suggest: bool = True) -> Jurisdiction:
        if ids and len(ids) == 1:
            return self._by_id[ids[0]]
        if ids:
            raise UnknownJurisdiction(query, (self._by_id[i].name for i in ids), ambiguous=True)
        raise UnknownJurisdiction(query, self._suggest(normalize_name(query)) if suggest else ())

    def _walk_up(self, node: Jurisdiction) -> tuple[Jurisdiction, ...]:
        # Breadth-first so that nearer ancestors come first and the order depends only on the data.
        seen = {node.id}
        order = [node]
        index = 0
        while index < len(order):
            for parent in order[index].parents:
                if parent not in seen:
                    seen.add(parent)
                    order.append(self._by_id[parent])
            index += 1
        return tuple(order)

    def _index_names(self, nodes: tuple[Jurisdiction, ...]) -> dict[str, tuple[str, ...]]:
        tiers: dict[str, tuple[int, list[str]]] = {}

        def add(key: str, node_id: str, tier: int) -> None:
            if not key:
                return
            best = tiers.get(key)
            if best is None or tier < best[0]:
                tiers[key] = (tier, [node_id])
            elif tier == best[0] and node_id not in best[1]:
                if tier == _CANONICAL:
                    other = self._by_id[best[1][0]].name
                    raise ValueError(f"{node_id!r} has the same name as {other!r}; names must differ")
                best[1].append(node_id)

        for node in nodes:
            key = normalize_name(node.name)
            add(key, node.id, _CANONICAL)
            for alias in _aliases(node.kind, key):
                add(alias, node.id, _ALIAS)
        return {key: tuple(ids) for key, (_, ids) in tiers.items()}

    def _index_fips(self, nodes: tuple[Jurisdiction, ...]) -> dict[str, tuple[str, ...]]:
        """Town codes are unique only within the state, so the 10-digit GEOIDs under both parents count."""
        codes: dict[str, list[str]] = {}
        for node in nodes:
            if not node.fips:
                continue
            forms = [node.fips]
            if node.kind is JurisdictionKind.TOWN:
                forms += [
                    parent.fips + node.fips
                    for parent in map(self._by_id.__getitem__, node.parents)
                    if parent.fips and len(parent.fips) == 5
                ]
            for code in forms:
                ids = codes.setdefault(code, [])
                if node.id not in ids:
                    ids.append(node.id)
        return {code: tuple(ids) for code, ids in codes.items()}

    def _index_suggestions(self) -> dict[str, tuple[str, ...]]:
        return {key: ids for key, ids in self._names.items() if len(ids) == 1}

    def _suggest(self, query: str, kind: JurisdictionKind | None = None) -> tuple[str, ...]:
        key = normalize_name(query)
        if not key:
            return ()
        keys = [
            k for k, ids in self._suggestion_keys.items() if kind is None or self._by_id[ids[0]].kind is kind
        ]
        names: list[str] = []
        for match in difflib.get_close_matches(key, keys, n=_MAX_SUGGESTIONS * 3, cutoff=0.6):
            name = self._by_id[self._suggestion_keys[match][0]].name
            if name not in names:
                names.append(name)
        return tuple(names[:_MAX_SUGGESTIONS])


def _aliases(kind: JurisdictionKind, key: str) -> Iterable[str]:
    """Shorter names people use; they lose to any canonical name and are dropped when two nodes share one."""
    if kind is JurisdictionKind.STATE:
        return _STATE_PHRASES
    if kind is JurisdictionKind.COUNTY and key.endswith(" county"):
        return (key.removesuffix(" county"),)
    if kind is JurisdictionKind.REGION and key.endswith(" planning region"):
        base = key.removesuffix(" planning region")
        return (base, base + " region")
    if kind is JurisdictionKind.FACILITY:
        for suffix, abbreviation in _FACILITY_SUFFIXES.items():
            if key.endswith(" " + suffix):
                base = key.removesuffix(" " + suffix)
                return (base, f"{base} {abbreviation}")
    return ()


def _parse_entry(entry: object) -> Jurisdiction:
    if not isinstance(entry, Mapping):
        raise ValueError(f"jurisdiction entry must be an object, got {entry!r}")
    node_id, kind, name, fips, parents = (entry.get(k) for k in ("id", "kind", "name", "fips", "parents"))
    if not isinstance(node_id, str) or not isinstance(name, str) or not isinstance(kind, str):
        raise ValueError(f"jurisdiction entry needs string id, kind and name: {entry!r}")
    if fips is not None and not (isinstance(fips, str) and fips.isdigit()):
        raise ValueError(f"{node_id!r}: fips must be a string of digits or null")
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ValueError(f"{node_id!r}: parents must be a list of ids")
    try:
        node_kind = JurisdictionKind(kind)
    except ValueError:
        raise ValueError(f"{node_id!r}: unknown kind {kind!r}") from None
    return Jurisdiction(node_id, node_kind, name, fips, tuple(str(p) for p in parents))
