"""Each layer cut into sentences, its subject first, each marked with what it is about: the
activation, a program's name, the scope.

Separate because all three finders read these sentences (the effective date and the places trust
only those about the activation), and each value's ``source`` quotes one (``source_of``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.inbound_mail.forwards import Layer
from chalicelib.domain.inbound_mail.results import Found
from chalicelib.domain.inbound_mail.text import one_line, snippet
from chalicelib.domain.inbound_mail.vocabulary import ACTIVATION, SCOPE

_SENTENCE_END = re.compile(r"(?<=[.!?])(?<![ap]\.m\.)(?<!\b[A-Z]\.)\s+(?=[\"“‘'(\[]?[A-Z])")


@dataclass(frozen=True)
class Sentence:
    text: str
    label: str  # where it is, for ``Found.source``
    subject: bool
    activation: bool
    program: bool
    scope: bool

    @property
    def about_the_rollout(self) -> bool:
        return self.subject or self.activation or self.program or self.scope


@dataclass(frozen=True)
class View:
    layer: Layer
    sentences: tuple[Sentence, ...]

    @classmethod
    def of(cls, layer: Layer, program_names: Sequence[re.Pattern[str]], *, container: bool) -> View:
        """``program_names``: every pattern of every program, to mark the sentences that name one."""
        of_what = {
            "outer": "",
            "attached": " of the attached message",
            "forwarded": " of the forwarded message",
            "quoted": " of the quoted message",
        }
        where = of_what[layer.kind]
        body_label = f"forwarder's note{where}" if container else f"body{where}"
        pieces: list[tuple[str, str, bool]] = []
        if layer.subject.value:
            pieces.append((one_line(layer.subject.value), f"subject{where}", True))
        for paragraph in re.split(r"\n[ \t]*\n", layer.body):
            joined = " ".join(paragraph.split())
            pieces += [(s, body_label, False) for s in _SENTENCE_END.split(joined) if s.strip()]
        sentences = tuple(
            Sentence(
                text=text,
                label=label,
                subject=is_subject,
                activation=ACTIVATION.search(text) is not None,
                program=any(p.search(text) for p in program_names),
                scope=SCOPE.search(text) is not None,
            )
            for text, label, is_subject in pieces
        )
        return cls(layer, sentences)


def source_of(sentence: Sentence, start: int, end: int) -> str:
    return f"{sentence.label}: '{snippet(sentence.text, start, end)}'"


def found_in[T](value: T, sentence: Sentence, start: int, end: int, *, certain: bool) -> Found[T]:
    """A value read from ``sentence[start:end]``: where, with the words around it, and the whole sentence."""
    return Found(value, source_of(sentence, start, end), certain, (sentence.text,))
