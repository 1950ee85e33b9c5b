"""Which state a place is in, and the state's name: for choosing the detainer law to classify under.

A place id starts with its state's id (``us-ct/town/hartford`` is in ``us-ct``), so the state is read
from the id itself, never looked up in the jurisdiction graph. The names cover the 50 states, the
District of Columbia and Puerto Rico. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["STATE_NAMES", "state_name", "state_of"]

STATE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "us-al": "Alabama",
        "us-ak": "Alaska",
        "us-az": "Arizona",
        "us-ar": "Arkansas",
        "us-ca": "California",
        "us-co": "Colorado",
        "us-ct": "Connecticut",
        "us-de": "Delaware",
        "us-dc": "the District of Columbia",
        "us-fl": "Florida",
        "us-ga": "Georgia",
        "us-hi": "Hawaii",
        "us-id": "Idaho",
        "us-il": "Illinois",
        "us-in": "Indiana",
        "us-ia": "Iowa",
        "us-ks": "Kansas",
        "us-ky": "Kentucky",
        "us-la": "Louisiana",
        "us-me": "Maine",
        "us-md": "Maryland",
        "us-ma": "Massachusetts",
        "us-mi": "Michigan",
        "us-mn": "Minnesota",
        "us-ms": "Mississippi",
        "us-mo": "Missouri",
        "us-mt": "Montana",
        "us-ne": "Nebraska",
        "us-nv": "Nevada",
        "us-nh": "New Hampshire",
        "us-nj": "New Jersey",
        "us-nm": "New Mexico",
        "us-ny": "New York",
        "us-nc": "North Carolina",
        "us-nd": "North Dakota",
        "us-oh": "Ohio",
        "us-ok": "Oklahoma",
        "us-or": "Oregon",
        "us-pa": "Pennsylvania",
        "us-pr": "Puerto Rico",
        "us-ri": "Rhode Island",
        "us-sc": "South Carolina",
        "us-sd": "South Dakota",
        "us-tn": "Tennessee",
        "us-tx": "Texas",
        "us-ut": "Utah",
        "us-vt": "Vermont",
        "us-va": "Virginia",
        "us-wa": "Washington",
        "us-wv": "West Virginia",
        "us-wi": "Wisconsin",
        "us-wy": "Wyoming",
    }
)


def state_of(place_id: str) -> str:
    """The state id a place id starts with: ``us-tx/county/harris`` → ``us-tx``."""
    return place_id.strip().casefold().partition("/")[0]


def state_name(state_id: str) -> str:
    """The state's name ("Texas"); an id outside the table is returned as it is, so it is still named."""
    return STATE_NAMES.get(state_id, state_id)
