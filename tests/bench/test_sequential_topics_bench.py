"""The cleaning bench's corpus: whole BBC articles, not the pipeline's shortened records."""
from __future__ import annotations

from bench.sequential_topics_bench import bbc_articles, cleaning_texts
from pipelines.sequential_topics.sample_data import CATEGORIES, sample_frame


def test_whole_articles_round_robin_over_the_categories():
    articles = bbc_articles(10)
    assert articles["label"].tolist() == list(CATEGORIES) * 2
    assert articles["id"].is_unique
    records = sample_frame(10)
    assert articles["title"].tolist() == records["title"].tolist()  # the same articles
    whole = articles["text"].str.len()
    start = records["description"].str.len() + records["details"].str.len()
    assert (whole >= start - 100).all() and whole.sum() > 1.5 * start.sum()


def test_the_whole_corpus_and_its_texts():
    assert len(bbc_articles(None)) == 2225
    texts, columns = cleaning_texts("articles", 5)
    assert columns == ("title", "text") and all("\n" in text for text in texts)
