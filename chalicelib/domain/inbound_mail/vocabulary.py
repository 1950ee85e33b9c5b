"""Words that carry meaning in a notice (in English, and the activation in Spanish too): the
activation ("effective", "go live", "entrará en vigor", …), its scope
("applies to", "the following towns", …), a superseded plan ("originally scheduled for", …) and what
is already so ("currently operating in", "since 2010", …).

Kept together, apart from the sentences, the effective date and the places that use them, so the
vocabulary is read and extended in one place.
"""

from __future__ import annotations

import re

ACTIVATION = re.compile(
    r"\b(?:effective|activat\w*|go(?:es|ing)?\s+live|went\s+live|live\s+on|begin\w*|began|deploy\w*"
    r"|statewide\s+on|start\w*|commenc\w*|takes?\s+effect|go(?:es)?\s+into\s+effect|implement\w*"
    r"|roll(?:s|ed|ing)?[\s-]*out|launch\w*|switch\w*\s+on|turn\w*\s+on|expand\w*|extend\w*"
    # Spanish: "se activará", "entrará en vigor", "comenzará", "a partir del"
    r"|activar[áa]n?|activad[oa]s?|entrar[áa]n?\s+en\s+vigor|entra\s+en\s+vigor|comenzar[áa]n?|empezar[áa]n?"
    r"|a\s+partir\s+del?|implementar[áa]n?)\b",
    re.IGNORECASE,
)
SCOPE = re.compile(
    r"\b(?:appl(?:y|ies|ied)\s+to|affect(?:s|ed)?|cover(?:s|ed)?|includ(?:e|es|ed|ing)"
    r"|following\s+(?:towns|cities|jurisdictions|municipalities|counties|agencies|departments))\b",
    re.IGNORECASE,
)
SUPERSEDED = re.compile(
    r"\b(?:originally|previously|initially|formerly|no\s+longer|instead\s+of|rather\s+than|not\s+on"
    r"|(?:was|had\s+been)\s+(?:scheduled|planned|set)\s+(?:for|on)"
    r"|(?:postponed|delayed|moved|rescheduled|pushed\s+back|changed)\s+from)\b",
    re.IGNORECASE,
)
HISTORY = re.compile(
    r"\b(?:(?:currently|already|presently|previously|formerly)\s+(?:\w+\s+){0,2}?"
    r"(?:operat\w*|active|activated|in\s+(?:place|use|effect)|deployed|running|live|participating)"
    r"|(?:has|have|had)\s+been\s+(?:operat\w*|active|activated|in\s+(?:place|use|effect)|deployed"
    r"|running|live|participating)"
    r"|since\s+(?:(?:19|20)\d\d|January|February|March|April|May|June|July|August|September"
    r"|October|November|December))\b[^,;:.()—–]*",
    re.IGNORECASE,
)
