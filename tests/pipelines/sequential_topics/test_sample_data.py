"""The BBC sample shaped like CRM opportunities."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from pipelines.sequential_topics import sample_data


def test_whole_corpus_with_category_labels():
    frame = sample_data.sample_frame()
    assert list(frame.columns) == ["id", "title", "description", "details", "label"]
    assert len(frame) == 2225
    assert frame["label"].value_counts().to_dict() == {
        "sports": 511, "business": 510, "politics": 417, "tech": 401, "entertainment": 386}
    assert frame["id"].is_unique
    assert (frame["title"].str.len() > 0).all()


def test_latin1_file_is_decoded():
    frame = sample_data.sample_frame()
    text = " ".join(frame[["title", "description", "details"]].fillna("").agg(" ".join, axis=1))
    assert "\ufffd" not in text


def test_some_records_carry_crm_residue():
    details = sample_data.sample_frame(300)["details"].fillna("")
    assert details.str.contains("Please see attached.").any()
    assert details.str.contains("https://crm.example.com/").any()
    assert details.str.contains("@example.com").any()
    assert details.str.contains("Kind regards,").any()


def test_subset_is_stratified_and_deterministic():
    frame = sample_data.sample_frame(50)
    assert frame["label"].value_counts().to_dict() == {c: 10 for c in sample_data.CATEGORIES}
    assert sample_data.sample_csv(50) == sample_data.sample_csv(50)
    again = pd.read_csv(io.BytesIO(sample_data.sample_csv(50)))
    assert again["id"].tolist() == frame["id"].tolist()


def test_n_docs_out_of_range():
    with pytest.raises(ValueError, match="n_docs must be between 1 and 2225"):
        sample_data.sample_frame(3000)
