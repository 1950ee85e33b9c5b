"""Requirements for reading what people and source systems write for a Connecticut place: names in any
case, spacing or decoration, statewide phrases, FIPS codes, facility names, and the closest matches
offered for a name nobody uses."""

from __future__ import annotations

import pytest

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import JurisdictionKind, UnknownJurisdiction
from tests.unit.ct_places import FAIRFIELD_COUNTY, NEW_HAVEN, NEW_HAVEN_COUNTY, SOUTH_CENTRAL, STATE

# --- resolving what people and source systems write --------------------------------------------


def test_bare_new_haven_means_the_town_not_the_county(registry: JurisdictionRegistry) -> None:
    assert registry.resolve("New Haven").id == NEW_HAVEN
    assert registry.resolve("New Haven County").id == NEW_HAVEN_COUNTY


@pytest.mark.parametrize("name", ["Hartford", "Fairfield", "New London", "Litchfield", "Tolland", "Windham"])
def test_a_name_shared_by_a_town_and_a_county_means_the_town(
    registry: JurisdictionRegistry, name: str
) -> None:
    assert registry.resolve(name).kind is JurisdictionKind.TOWN
    assert registry.resolve(f"{name} County").kind is JurisdictionKind.COUNTY


def test_a_bare_county_name_that_is_no_town_means_the_county(registry: JurisdictionRegistry) -> None:
    assert registry.resolve("Middlesex").id == "us-ct/county/middlesex"


@pytest.mark.parametrize(
    "text",
    [
        "New Haven",
        "new haven",
        "NEW HAVEN",
        "  New   Haven  ",
        "New-Haven",
        "new_haven",
        "New Haven.",
        "Town of New Haven",
        "City of New Haven",
        "city of new haven",
        "New Haven, CT",
        "New Haven CT",
        "New Haven, Connecticut",
        "New Haven, Conn.",
        "Town of New Haven, CT",
        "New Haven town",
        "us-ct/town/new-haven",
        "US-CT/Town/New-Haven",
    ],
)
def test_names_resolve_regardless_of_case_spacing_punctuation_and_decoration(
    registry: JurisdictionRegistry, text: str
) -> None:
    assert registry.resolve(text).id == NEW_HAVEN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Windsor Locks", "us-ct/town/windsor-locks"),
        ("windsor-locks, ct", "us-ct/town/windsor-locks"),
        ("Fairfield County", FAIRFIELD_COUNTY),
        ("fairfield county, CT", FAIRFIELD_COUNTY),
        ("South Central Connecticut Planning Region", SOUTH_CENTRAL),
        ("South Central Connecticut", SOUTH_CENTRAL),
        ("south central connecticut region", SOUTH_CENTRAL),
        ("Capitol Region", "us-ct/region/capitol"),
        ("Western Connecticut", "us-ct/region/western-connecticut"),
    ],
)
def test_counties_and_regions_resolve_by_name(
    registry: JurisdictionRegistry, text: str, expected: str
) -> None:
    assert registry.resolve(text).id == expected


@pytest.mark.parametrize(
    "text",
    [
        "statewide",
        "Statewide",
        "Connecticut",
        "CT",
        "State of Connecticut",
        "all of Connecticut",
        "throughout Connecticut",
        "us-ct",
        "09",
    ],
)
def test_statewide_phrases_mean_the_state(registry: JurisdictionRegistry, text: str) -> None:
    assert registry.resolve(text).id == STATE


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("09", STATE),
        ("09001", FAIRFIELD_COUNTY),
        ("09009", NEW_HAVEN_COUNTY),
        ("09110", "us-ct/region/capitol"),
        ("09170", SOUTH_CENTRAL),
        ("52070", NEW_HAVEN),  # town (county-subdivision) code
        ("0900952070", NEW_HAVEN),  # GEOID under the legacy county
        ("0917052070", NEW_HAVEN),  # GEOID under the planning region
        (" 52070 ", NEW_HAVEN),
        ("0901509190", "us-ct/town/brooklyn"),
        ("0915009190", "us-ct/town/brooklyn"),
    ],
)
def test_fips_codes_resolve(registry: JurisdictionRegistry, code: str, expected: str) -> None:
    assert registry.resolve(code).id == expected


def test_fips_code_shared_by_brooklyn_and_the_western_region_is_refused_not_guessed(
    registry: JurisdictionRegistry,
) -> None:
    # Brooklyn's town code 09190 is also Western Connecticut's county-equivalent code: guessing would
    # misroute notices about Brooklyn Correctional Institution to the other end of the state.
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("09190")
    assert caught.value.ambiguous
    assert set(caught.value.suggestions) == {"Brooklyn", "Western Connecticut Planning Region"}


def test_unknown_fips_code_is_refused_without_name_suggestions(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("99999")
    assert caught.value.suggestions == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("New Haven Correctional Center", "us-ct/facility/new-haven-correctional-center"),
        ("Corrigan-Radgowski Correctional Center", "us-ct/facility/corrigan-radgowski-correctional-center"),
        ("Corrigan Radgowski", "us-ct/facility/corrigan-radgowski-correctional-center"),
        ("MacDougall-Walker", "us-ct/facility/macdougall-walker-correctional-institution"),
        ("MacDougall-Walker CI", "us-ct/facility/macdougall-walker-correctional-institution"),
        ("York", "us-ct/facility/york-correctional-institution"),
        ("Manson Youth Institution", "us-ct/facility/manson-youth-institution"),
    ],
)
def test_facility_names_resolve_with_or_without_their_suffix(
    registry: JurisdictionRegistry, text: str, expected: str
) -> None:
    assert registry.resolve(text).id == expected


@pytest.mark.parametrize("town", ["Bridgeport", "Hartford", "New Haven", "Cheshire", "Brooklyn"])
def test_a_facility_short_name_that_is_a_town_means_the_town(
    registry: JurisdictionRegistry, town: str
) -> None:
    assert registry.resolve(town).kind is JurisdictionKind.TOWN


def test_town_of_never_means_a_county(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction):
        registry.resolve("Town of Middlesex")


def test_unknown_name_lists_closest_matches(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("New Havn")
    error = caught.value
    assert isinstance(error, LookupError)
    assert error.query == "New Havn"
    assert error.suggestions[0] == "New Haven"
    assert 1 < len(error.suggestions) <= 5
    assert str(error).startswith("unknown jurisdiction 'New Havn'; closest: New Haven, ")


def test_decorated_unknown_name_is_suggested_on_its_bare_form(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("Town of Stamfrod, CT")
    assert caught.value.suggestions[0] == "Stamford"


@pytest.mark.parametrize("text", ["", "   ", "Springfield", "---"])
def test_names_nobody_uses_are_refused(registry: JurisdictionRegistry, text: str) -> None:
    with pytest.raises(UnknownJurisdiction):
        registry.resolve(text)


def test_get_takes_canonical_ids_only(registry: JurisdictionRegistry) -> None:
    assert registry.get(NEW_HAVEN).name == "New Haven"
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.get("us-ct/town/new-havn")
    assert "New Haven" in caught.value.suggestions
    with pytest.raises(UnknownJurisdiction):
        registry.get("New Haven")


def test_ancestors_and_children_of_an_unknown_id_are_refused(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction):
        registry.ancestors("us-ct/town/atlantis")
    with pytest.raises(UnknownJurisdiction):
        registry.children("us-ct/town/atlantis")
