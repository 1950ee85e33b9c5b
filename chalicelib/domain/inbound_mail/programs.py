"""The programs Vigil knows (``PROGRAMS``: add a ``Program`` to recognise another), and finding which
one a message names.

Separate because this list is the one place a new program is added; finding the program is a short
scan of the sentences for those names, preferring one named beside an activation word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.inbound_mail.results import Found, missing
from chalicelib.domain.inbound_mail.sentences import Sentence, View, found_in


@dataclass(frozen=True)
class Program:
    """A program's slug and the ways people write its name; extend ``PROGRAMS`` to add one."""

    slug: str
    patterns: tuple[re.Pattern[str], ...]


_DASH = "[-‐‑‒–]"
PROGRAMS: tuple[Program, ...] = (
    Program(
        "secure-communities",
        (
            re.compile(r"\bsecure[\s-]+communities\b", re.IGNORECASE),
            re.compile(rf"\bS{_DASH}?\s?Comm\b", re.IGNORECASE),
            re.compile(r"\bcomunidades\s+seguras\b", re.IGNORECASE),  # as Spanish notices name it
        ),
    ),
    Program(
        "287g",
        (re.compile(r"(?<![\w.])287\s*\(\s*g\s*\)", re.IGNORECASE), re.compile(r"\b287g\b", re.IGNORECASE)),
    ),
    Program(
        "priority-enforcement-program",
        (re.compile(r"\bpriority\s+enforcement\s+program\b", re.IGNORECASE), re.compile(r"\bPEP\b")),
    ),
)


def find_program(view: View, programs: Sequence[Program]) -> tuple[Found[str], list[str]]:
    hits: dict[str, list[tuple[Sentence, re.Match[str]]]] = {}
    for sentence in view.sentences:
        for program in programs:
            for pattern in program.patterns:
                if match := pattern.search(sentence.text):
                    hits.setdefault(program.slug, []).append((sentence, match))
                    break
    if not hits:
        return missing(), []
    ranked = sorted(hits.items(), key=lambda item: (not any(s.activation for s, _ in item[1]), -len(item[1])))
    slug, mentions = ranked[0]
    sentence, match = next(((s, m) for s, m in mentions if s.activation), mentions[0])
    found = found_in(slug, sentence, match.start(), match.end(), certain=len(hits) == 1)
    notes = [] if len(hits) == 1 else [f"several programs named: {', '.join(hits)}; took {slug}"]
    return found, notes
