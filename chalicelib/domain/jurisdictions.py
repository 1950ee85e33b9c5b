"""The United States' jurisdictions as a graph, and resolving what people call them to one node.

Notices and subscriptions name places the way people and source systems do: a town name, a county
with its state ("Harris County, Texas"), a planning region, a FIPS code, a state or "statewide".
Routing needs one canonical node and all of its ancestors, because a subscription to a node covers
everything under it. Every state, the District of Columbia and the territories are nodes, each
county or county-equivalent (parish, borough, census area, independent city) hangs under its state.

Connecticut is the home state, the one Vigil started with, and has more: its eight legacy counties
(still used by programs such as Secure Communities) and the nine planning regions that replaced them
as Census county-equivalents in 2022 cut across each other, so a town has two parents, and several
towns share their names with a county; its correctional facilities hang under their towns. Words
without a state keep their Connecticut meaning ("Hartford", "statewide", "New Haven County"); other
places are named with their state, or by a name no other place has. What a place is, its id scheme
and how a name is read are ``domain/places.py``'s.

Standard library only and no I/O: the data comes in through ``JurisdictionRegistry.from_json``,
each state's counties through a loader called the first time a lookup needs them, so that a process
that only ever sees Connecticut never parses the rest of the country.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable, Mapping

from chalicelib.domain.places import (
    STATE_ID,
    STATE_WORDS,
    Jurisdiction,
    JurisdictionKind,
    UnknownJurisdiction,
    aliases,
    normalize_name,
    parse_entry,
    parse_state_file,
    state_of,
    strip_state,
    strip_town_words,
)

_MAX_SUGGESTIONS = 5

# Canonical names beat derived aliases, so a bare "Hartford" is the town and not Hartford County.
_CANONICAL, _ALIAS = 0, 1

# A state's name index: normalized name → (tier, ids answering to it at that tier, ids that answer to
# it at a worse tier: "Tolland" is the town's name and Tolland County's alias).
type _Names = dict[str, tuple[int, list[str], list[str]]]


class JurisdictionRegistry:
    """All known jurisdictions, with every lookup table precomputed because resolution runs per event.

    ``jurisdictions`` are indexed at once; ``lazy`` maps a state's id (its node among
    ``jurisdictions``) to a loader of the places under it, indexed the first time a lookup needs
    them. The graph is the same either way: loading only fills the tables. ``shared`` says, for the
    words answered without loading (the home state's names and the states'), which places of the
    lazily loaded states answer to them too, so ``also_named`` can say so without loading the rest.
    """

    def __init__(
        self,
        jurisdictions: Iterable[Jurisdiction],
        *,
        lazy: Mapping[str, Callable[[], Iterable[Jurisdiction]]] | None = None,
        shared: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._base = tuple(jurisdictions)
        self._lazy = dict(lazy or {})
        self._pending = set(self._lazy)
        self._shared = {key: tuple(ids) for key, ids in (shared or {}).items()}
        self._lock = threading.Lock()
        self._all: list[Jurisdiction] = []
        self._by_id: dict[str, Jurisdiction] = {}
        self._children: dict[str, list[Jurisdiction]] = {}
        self._ancestors: dict[str, tuple[Jurisdiction, ...]] = {}
        self._names: dict[str, _Names] = {}
        self._fips: dict[str, list[str]] = {}
        self._seq: dict[str, int] = {}
        self._add(self._base)
        for state in self._lazy:
            if self._by_id.get(state, None) is None or self._by_id[state].kind is not JurisdictionKind.STATE:
                raise ValueError(f"places are to be loaded under {state!r}, which is not a state")
        states = [n for n in self._base if n.kind is JurisdictionKind.STATE]
        self._state_by_fips = {n.fips: n.id for n in states if n.fips}
        self._state_keys: dict[str, list[str]] = {}
        for node in states:
            for key in (normalize_name(node.name), *aliases(node, normalize_name(node.name))):
                ids = self._state_keys.setdefault(key, [])
                if node.id not in ids:
                    ids.append(node.id)
        # "<rest> <state>" → the rest within that state, longest state words first ("west virginia").
        qualifiers = [
            (word, node.id)
            for node in states
            for word in (
                set(STATE_WORDS)
                if node.id == STATE_ID
                else {normalize_name(n) for n in (node.name, *node.aka)} | {node.id.removeprefix("us-")}
            )
        ]
        self._qualifiers = sorted(qualifiers, key=lambda q: (-len(q[0]), q))

    def __deepcopy__(self, memo: dict[int, object]) -> JurisdictionRegistry:
        return self  # the graph never changes: a copy would only load the same states again

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, object],
        *,
        load_state: Callable[[str], Mapping[str, object]] | None = None,
    ) -> JurisdictionRegistry:
        """Parse the shipped data file strictly: a malformed file must fail at cold start, not mid-routing.

        The file's ``states`` (state id → how many places its own file holds) are read through
        ``load_state`` when first needed, each checked as strictly and against that count.
        """
        entries = data.get("jurisdictions")
        if not isinstance(entries, list):
            raise ValueError("jurisdiction data needs a 'jurisdictions' list")
        states = data.get("states", {})
        if not isinstance(states, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in states.items()
        ):
            raise ValueError("jurisdiction data's 'states' must map state ids to counts of places")
        shared = data.get("shared_names", {})
        if not isinstance(shared, Mapping) or not all(
            isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in shared.values()
        ):
            raise ValueError("jurisdiction data's 'shared_names' must map names to lists of ids")
        if states and load_state is None:
            raise ValueError("jurisdiction data names per-state files but no way to load them")

        def loader(state: str, count: int) -> Callable[[], list[Jurisdiction]]:
            def load() -> list[Jurisdiction]:
                assert load_state is not None
                nodes = parse_state_file(state, load_state(state))
                if len(nodes) != count:
                    raise ValueError(f"{state}: expected {count} places, the file has {len(nodes)}")
                return nodes

            return load

        return cls(
            (parse_entry(entry) for entry in entries),
            lazy={state: loader(state, count) for state, count in states.items()},
            shared=shared,
        )

    def as_json(self) -> list[dict[str, object]]:
        return [node.as_json() for node in self.all()]

    # --- lookups ---------------------------------------------------------------------------------

    def get(self, id: str) -> Jurisdiction:
        self._load(state_of(id))
        try:
            return self._by_id[id]
        except KeyError:
            raise UnknownJurisdiction(id, self._suggest_for_id(id)) from None

    def resolve(self, text: str) -> Jurisdiction:
        """Map whatever a person or source system wrote to one node, or refuse with suggestions.

        In order: an id; a FIPS code; a name in the home state (Connecticut, as before there were
        others); a state; a name followed by its state ("Harris County, TX"); a name anywhere in the
        country that one place alone has. Several places at once are refused, naming each.
        """
        stripped = text.strip()
        lowered = stripped.lower()
        self._load(state_of(lowered))
        if lowered in self._by_id:
            return self._by_id[lowered]
        if stripped.isdigit():
            return self._by_code(stripped)
        key = normalize_name(stripped)
        if not key:
            raise UnknownJurisdiction(text)
        home = self._in_home_state(text, key)
        if home is not None:
            return home
        if key in self._state_keys:
            return self._one(text, self._state_keys[key])
        qualified: tuple[str, str] | None = None  # (state, the words before it)
        for word, state in self._qualifiers:
            if key.endswith(" " + word) and len(key) > len(word) + 1:
                rest = key[: -len(word) - 1]
                qualified = qualified or (state, rest)
                found = self._in_state(state, rest)
                if found:
                    return self._one(text, found)
        if qualified is not None:
            state, rest = qualified
            _, bare = self._bare_home(rest) if state == STATE_ID else (None, rest)
            raise UnknownJurisdiction(text, self._suggest(bare, state=state))
        self._load_all()
        tiers = [entry for names in self._tables() if (entry := names.get(key))]
        if tiers:
            best = min(entry[0] for entry in tiers)
            return self._one(text, [i for tier, ids, _ in tiers if tier == best for i in ids])
        _, bare = self._bare_home(key)
        raise UnknownJurisdiction(text, self._suggest(bare))

    def also_named(self, text: str, chosen: Jurisdiction) -> tuple[Jurisdiction, ...]:
        """Other places that ``text`` could have meant but did not: a county that shares its name
        with the town chosen ("Tolland", "Windham"), a place of another state that a Connecticut name
        or a state's name took ("Windham" is also Windham County, VT). Empty when the words were
        unambiguous."""
        key = normalize_name(text.strip())
        for state in {state_of(i) for i in self._shared.get(key, ())}:
            self._load(state)
        others = [
            i
            for names in self._tables()
            if (entry := names.get(key))
            for i in (*entry[1], *entry[2])
            if i != chosen.id
        ]
        nodes = [self._by_id[i] for i in dict.fromkeys(others)]
        return tuple(
            sorted(
                nodes,
                key=lambda n: (n.state_id != chosen.state_id, n.kind is not JurisdictionKind.STATE, n.id),
            )
        )

    def ancestors(self, id: str) -> tuple[Jurisdiction, ...]:
        """The node first, then each ancestor once, nearest first: what a notice for ``id`` reaches."""
        self._load(state_of(id))
        try:
            return self._ancestors[id]
        except KeyError:
            raise UnknownJurisdiction(id, self._suggest_for_id(id)) from None

    def all(self) -> tuple[Jurisdiction, ...]:
        """Every place of the country (loading every state's)."""
        self._load_all()
        return self._ordered(self._all)

    def of_kind(self, kind: JurisdictionKind) -> tuple[Jurisdiction, ...]:
        return tuple(n for n in self.all() if n.kind is kind)

    def states(self) -> tuple[Jurisdiction, ...]:
        """The states, the District of Columbia and the territories, without loading their places."""
        return tuple(n for n in self._base if n.kind is JurisdictionKind.STATE)

    def within(self, state_id: str) -> tuple[Jurisdiction, ...]:
        """A state and every place in it (loading that state's only)."""
        state = self.get(state_id)
        if state.kind is not JurisdictionKind.STATE:
            raise UnknownJurisdiction(state_id, (), kind=JurisdictionKind.STATE)
        prefix = state.id + "/"
        return self._ordered([n for n in self._all if n.id == state.id or n.id.startswith(prefix)])

    def children(self, id: str) -> tuple[Jurisdiction, ...]:
        self._load(state_of(id))
        try:
            return tuple(self._children[id])
        except KeyError:
            raise UnknownJurisdiction(id, self._suggest_for_id(id)) from None

    def shared_names(self) -> dict[str, list[str]]:
        """For each word answered without loading a state (the home state's names, the states'),
        the places of the lazily loaded states that answer to it too: what the data file carries as
        ``shared_names``. Computed with everything loaded, so the build can write it."""
        self._load_all()
        lazy_states = {n.id for n in self.states()} - {STATE_ID}
        eager_keys = set(self._names.get(STATE_ID, {})) | set(self._state_keys)
        out: dict[str, list[str]] = {}
        for state, names in sorted(self._names.items()):
            if state not in lazy_states:
                continue
            for key, (_, best, worse) in names.items():
                elsewhere = [
                    i for i in (*best, *worse) if i != state
                ]  # the state node itself is never loaded lazily
                if key in eager_keys and elsewhere:
                    out.setdefault(key, []).extend(elsewhere)
        return {key: sorted(ids) for key, ids in sorted(out.items())}

    def with_facilities(self, facilities: Iterable[Jurisdiction]) -> JurisdictionRegistry:
        """This graph and the admins' facilities (``domain/facilities.py``), as a new registry.

        A state's facilities join its places when it loads (Connecticut's at once); its places are
        this registry's, parsed once per process. This registry is never changed, so lookups in
        flight see one consistent graph; an id it already has is refused as a duplicate.
        """
        by_state: dict[str, list[Jurisdiction]] = {}
        for node in facilities:
            if node.kind is not JurisdictionKind.FACILITY:
                raise ValueError(f"{node.id!r} is a {node.kind}, not a facility")
            by_state.setdefault(node.state_id, []).append(node)

        def loader(state: str) -> Callable[[], list[Jurisdiction]]:
            return lambda: [*(n for n in self.within(state) if n.id != state), *by_state.get(state, ())]

        eager = [n for state, nodes in by_state.items() if state not in self._lazy for n in nodes]
        return JurisdictionRegistry(
            [*self._base, *eager], lazy={state: loader(state) for state in self._lazy}, shared=self._shared
        )

    def answering(self, state_id: str, words: str) -> tuple[Jurisdiction, ...]:
        """Every place of the state the words name, by its name or an alias: what a new name may not be."""
        self._load(state_id)
        entry = self._names.get(state_id, {}).get(normalize_name(words))
        return tuple(self._by_id[i] for i in dict.fromkeys((*entry[1], *entry[2]))) if entry else ()

    # --- resolving -------------------------------------------------------------------------------

    def _by_code(self, code: str) -> Jurisdiction:
        """A FIPS code: a state's (2 digits), a county's (5: the state's 2 first), a Connecticut
        town's (5, unique only within the state) or a town's GEOID under either parent (10)."""
        if len(code) == 5 and code[:2] in self._state_by_fips:
            self._load(self._state_by_fips[code[:2]])
        return self._one(code, self._fips.get(code), suggest=False)

    def _in_home_state(self, text: str, key: str) -> Jurisdiction | None:
        """Connecticut's names, decorated as before ("Town of New Haven, CT"): None if none matches."""
        names = self._names.get(STATE_ID, {})
        candidates = [key]
        without_state = strip_state(key)
        if without_state:
            candidates.append(without_state)
        for candidate in candidates:
            entry = names.get(candidate)
            if entry:
                return self._one(text, entry[1])
        town, _ = self._bare_home(key)
        return self._by_id[town] if town else None

    def _bare_home(self, key: str) -> tuple[str | None, str]:
        """The home state's town named with "Town of"/"city" words, and the bare name to suggest from."""
        candidates = [key]
        without_state = strip_state(key)
        if without_state:
            candidates.append(without_state)
        bare = candidates[-1]
        names = self._names.get(STATE_ID, {})
        for candidate in candidates:
            town_name = strip_town_words(candidate)
            if town_name:
                bare = town_name
                entry = names.get(town_name)
                towns = [i for i in entry[1] if self._by_id[i].kind is JurisdictionKind.TOWN] if entry else []
                if entry and entry[0] == _CANONICAL and towns:
                    return towns[0], bare
        return None, bare

    def _in_state(self, state: str, key: str) -> list[str]:
        """The places of ``state`` named ``key``: "<name>, <state>" means the state itself only when
        nothing in it has that name ("New York, NY" is New York County; "Guam, GU" the county)."""
        self._load(state)
        entry = self._names.get(state, {}).get(key)
        if not entry:
            return []
        _tier, best, worse = entry
        inside = [i for i in worse if i != state]
        return inside if best == [state] and inside else best

    def _one(self, query: str, ids: Iterable[str] | None, *, suggest: bool = True) -> Jurisdiction:
        found = list(dict.fromkeys(ids or ()))
        if len(found) == 1:
            return self._by_id[found[0]]
        if found:
            nodes = sorted((self._by_id[i] for i in found), key=lambda n: (n.state_id != STATE_ID, n.id))
            raise UnknownJurisdiction(query, (n.say() for n in nodes), ambiguous=True, candidates=nodes)
        raise UnknownJurisdiction(query, self._suggest(normalize_name(query)) if suggest else ())

    def _suggest_for_id(self, id: str) -> tuple[str, ...]:
        state = state_of(id)
        known = state if state in self._names else None
        return self._suggest(id.rsplit("/", 1)[-1], state=known)

    def _suggest(
        self, query: str, kind: JurisdictionKind | None = None, *, state: str | None = None
    ) -> tuple[str, ...]:
        """Names close to ``query``: within one state, or (loading every state) in the country."""
        key = normalize_name(query)
        if not key:
            return ()
        if state is None:
            self._load_all()
        keys: dict[str, list[str]] = {}
        for place_state, names in list(self._names.items()):
            if state is not None and place_state != state:
                continue
            for name, (_, ids, _) in names.items():
                if len(ids) == 1 and (kind is None or self._by_id[ids[0]].kind is kind):
                    keys.setdefault(name, []).append(ids[0])
        found: list[str] = []
        for match in difflib.get_close_matches(key, list(keys), n=_MAX_SUGGESTIONS * 3, cutoff=0.6):
            nodes = sorted(
                (self._by_id[i] for i in keys[match]), key=lambda n: (n.state_id != STATE_ID, n.id)
            )
            for node in nodes:
                if node.say() not in found:
                    found.append(node.say())
        return tuple(found[:_MAX_SUGGESTIONS])

    # --- loading and indexing --------------------------------------------------------------------

    def _load(self, state: str) -> None:
        if state not in self._pending:
            return
        with self._lock:
            if state not in self._pending:
                return
            nodes = list(self._lazy[state]())
            for node in nodes:
                if node.state_id != state or node.kind is JurisdictionKind.STATE:
                    raise ValueError(f"{node.id!r} was loaded as a place of {state!r}")
            self._add(nodes)
            self._pending.discard(state)

    def _tables(self) -> list[_Names]:
        """Every loaded state's name table, as a list: another thread may be adding a state's."""
        return list(self._names.values())

    def _load_all(self) -> None:
        for state in sorted(self._pending):
            self._load(state)

    def _ordered(self, nodes: Iterable[Jurisdiction]) -> tuple[Jurisdiction, ...]:
        """The base nodes in their order, then the loaded states' in the order of their states:
        the same whatever was loaded first."""
        rank = {node.id: n for n, node in enumerate(self._base)}
        states = {state: n for n, state in enumerate(sorted(self._lazy))}
        return tuple(
            sorted(
                nodes,
                key=lambda node: (
                    (0, rank[node.id], 0)
                    if node.id in rank
                    else (1, states[node.state_id], self._seq[node.id])
                ),
            )
        )

    def _add(self, nodes: Iterable[Jurisdiction]) -> None:
        """Index ``nodes``, whose parents are known or among them: all or nothing."""
        batch = tuple(nodes)
        new: dict[str, Jurisdiction] = {}
        for node in batch:
            if node.id in self._by_id or node.id in new:
                raise ValueError(f"duplicate jurisdiction id {node.id!r}")
            new[node.id] = node
        by_id = _Either(self._by_id, new)
        for node in batch:
            for parent in node.parents:
                if parent not in by_id:
                    raise ValueError(f"{node.id!r} names unknown parent {parent!r}")
        touched = {node.state_id: dict(self._names.get(node.state_id, {})) for node in batch}
        for node in batch:
            self._index_names(touched[node.state_id], node, by_id)
        # Everything checked: now the tables change.
        for node in batch:
            self._seq[node.id] = len(self._seq)
        self._by_id.update(new)
        self._names.update(touched)
        self._all.extend(batch)
        for node in batch:
            self._children.setdefault(node.id, [])
        for node in batch:
            for parent in node.parents:
                self._children.setdefault(parent, []).append(node)
        for node in batch:
            self._ancestors[node.id] = self._walk_up(node)
        for node in batch:
            self._index_fips(node)

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

    @staticmethod
    def _index_names(names: _Names, node: Jurisdiction, by_id: _Either) -> None:
        def add(key: str, tier: int) -> None:
            if not key:
                return
            best = names.get(key)
            if best is None:
                names[key] = (tier, [node.id], [])
            elif node.id in best[1] or node.id in best[2]:
                return
            elif tier < best[0]:
                names[key] = (tier, [node.id], [*best[2], *best[1]])
            elif tier > best[0]:
                names[key] = (best[0], best[1], [*best[2], node.id])
            elif tier == _CANONICAL:
                other = by_id[best[1][0]].name
                raise ValueError(f"{node.id!r} has the same name as {other!r}; names must differ")
            else:
                names[key] = (tier, [*best[1], node.id], best[2])

        key = normalize_name(node.name)
        state = by_id.get(node.state_id)
        # A county-equivalent named as its state ("District of Columbia", "Guam"): the name is the state's.
        same_as_state = (
            node.kind is not JurisdictionKind.STATE
            and state is not None
            and (normalize_name(state.name) == key)
        )
        add(key, _ALIAS if same_as_state else _CANONICAL)
        for alias in aliases(node, key):
            add(alias, _ALIAS)
        for other in node.aka:
            other_key = normalize_name(other)
            add(other_key, _ALIAS)
            for alias in aliases(node, other_key):
                add(alias, _ALIAS)

    def _index_fips(self, node: Jurisdiction) -> None:
        """Town codes are unique only within the state, so the 10-digit GEOIDs under both parents count."""
        if not node.fips:
            return
        forms = [node.fips]
        if node.kind is JurisdictionKind.TOWN:
            forms += [
                parent.fips + node.fips
                for parent in map(self._by_id.__getitem__, node.parents)
                if parent.fips and len(parent.fips) == 5
            ]
        for code in forms:
            ids = self._fips.setdefault(code, [])
            if node.id not in ids:
                ids.append(node.id)


class _Either:
    """The known nodes and a batch being added, read as one mapping while the batch is checked."""

    def __init__(self, known: Mapping[str, Jurisdiction], new: Mapping[str, Jurisdiction]) -> None:
        self._known, self._new = known, new

    def __contains__(self, id: str) -> bool:
        return id in self._known or id in self._new

    def __getitem__(self, id: str) -> Jurisdiction:
        return self._new[id] if id in self._new else self._known[id]

    def get(self, id: str) -> Jurisdiction | None:
        return self._new.get(id) or self._known.get(id)
