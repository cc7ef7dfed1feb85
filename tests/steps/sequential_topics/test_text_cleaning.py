"""Every cleaning rule on its own, then the whole recipe through spaCy."""
from __future__ import annotations

import dataclasses
import math

import pytest

from steps.common.errors import InvalidData
from steps.sequential_topics import text_cleaning
from steps.sequential_topics.text_cleaning import CleaningSettings

COLUMNS = ("title", "description", "details")


@pytest.fixture(scope="module")
def settings() -> CleaningSettings:
    return CleaningSettings(text_columns=COLUMNS)


@pytest.fixture(scope="module")
def nlp(settings):
    return text_cleaning.load_nlp(settings.drop_entity_labels)


def clean(text: str, settings: CleaningSettings, nlp) -> str:
    return next(text_cleaning.clean_texts([text], settings, nlp))


class TestCombineFields:
    def test_joins_non_empty_fields_one_per_line(self):
        assert text_cleaning.combine_fields(["Title ", None, math.nan, "  ", "Body"]) == \
            "Title\nBody"

    def test_numbers_become_text(self):
        assert text_cleaning.combine_fields([5, "units"]) == "5\nunits"

    def test_nothing_gives_empty(self):
        assert text_cleaning.combine_fields([None, ""]) == ""


class TestBoilerplate:
    @pytest.mark.parametrize("text, expected", [
        ("Upgrade servers. Please see attached proposal for details.", "Upgrade servers."),
        ("Budget: N/A", "Budget:"),
        ("Owner TBD, region tbc", "Owner , region"),
        ("Description: cloud migration", "cloud migration"),
        ("Offer for <insert customer name> today", "Offer for today"),
        ("Deal with [customer name] closed", "Deal with closed"),
        ("Renewal due\nKind regards,\nJane Doe\nAccount Manager\nExample Ltd",
         "Renewal due"),
        ("Renewal due\nSent from my iPhone", "Renewal due"),
    ])
    def test_default_patterns(self, settings, text, expected):
        assert text_cleaning.remove_boilerplate(text, settings.compiled) == expected

    def test_keeps_ordinary_words(self, settings):
        text = "Thanks to strong sales the banana firm and Nadal won"
        assert text_cleaning.remove_boilerplate(text, settings.compiled) == text

    def test_urls_and_emails(self, settings):
        text = "See https://crm.example.com/a?b=1 or www.example.org, mail jo.b+x@corp.co.uk now"
        assert text_cleaning.remove_boilerplate(text, settings.compiled) == "See or , mail now"

    def test_configured_patterns_replace_defaults(self):
        custom = CleaningSettings(text_columns=COLUMNS, boilerplate=(r"acme confidential",))
        assert text_cleaning.remove_boilerplate("ACME Confidential: N/A", custom.compiled) == \
            ": N/A"

    def test_broken_pattern_is_named(self):
        with pytest.raises(InvalidData, match=r"boilerplate pattern '\(unclosed' is not a valid"):
            CleaningSettings(text_columns=COLUMNS, boilerplate=("(unclosed",))

    def test_no_text_columns(self):
        with pytest.raises(InvalidData, match="TextColumns is empty: set it to"):
            CleaningSettings(text_columns=())


def test_contractions_are_expanded():
    assert text_cleaning.expand_contractions("We don't think it's ready, they'll wait") == \
        "We do not think it is ready, they will wait"


class TestSpacyRules:
    def test_lower_case_lemmas_without_punctuation(self, settings, nlp):
        assert clean("The servers were RUNNING quickly!", settings, nlp) == \
            "the server be run quickly"

    def test_dropped_entity_labels(self, settings, nlp):
        cleaned = clean("John Smith bought 300 licences on 5 March 2024 for $5 million.",
                        settings, nlp)
        for gone in ("john", "smith", "300", "march", "2024", "5", "million", "$"):
            assert gone not in cleaned.split()
        assert "licence" in cleaned.split() and "buy" in cleaned.split()

    def test_entities_kept_when_not_configured(self, nlp):
        keep_people = CleaningSettings(text_columns=COLUMNS, drop_entity_labels=("DATE",))
        cleaned = clean("John Smith bought licences in March 2024.", keep_people, nlp)
        assert cleaned.startswith("john smith buy licence")
        assert "march" not in cleaned

    def test_possessives_and_currency_symbols(self, settings, nlp):
        assert clean("The firm's £ profits", settings, nlp) == "the firm profit"

    def test_urls_emails_and_contractions_in_the_recipe(self, settings, nlp):
        cleaned = clean("We can't access www.example.com/x, write to a.b@example.com\n"
                        "Please see attached.", settings, nlp)
        assert cleaned == "we can not access write to"

    def test_nothing_left(self, settings, nlp):
        assert clean("N/A\nPlease see attached.", settings, nlp) == ""

    def test_truncates_long_text(self, nlp):
        short = CleaningSettings(text_columns=COLUMNS, max_chars=11)
        assert clean("Cloud migration for the bank", short, nlp) == "cloud migra"


def test_settings_round_trip(settings):
    again = CleaningSettings.from_json(settings.to_json())
    assert again == settings
    with pytest.raises(InvalidData, match="preprocessing settings are incomplete"):
        CleaningSettings.from_json({"text_columns": ["a"]})


class TestWorkers:
    """spaCy in several processes: the same documents in the same order, only faster."""

    @pytest.mark.integration
    def test_two_processes_clean_like_one(self, settings, nlp):
        from pipelines.sequential_topics.sample_data import sample_frame

        frame = sample_frame(40)
        texts = [text_cleaning.combine_fields(row)
                 for row in frame[list(COLUMNS)].itertuples(index=False, name=None)]
        one = list(text_cleaning.clean_texts(texts, settings, nlp, batch_size=8))
        two = list(text_cleaning.clean_texts(texts, settings, nlp, batch_size=8, workers=2))
        assert two == one
        assert len(set(one)) > 30  # real, distinct documents, not a run of empty strings

    @pytest.mark.parametrize(("requested", "documents", "cores", "expected"), [
        (0, 10_000, 8, 8),      # one per core
        (0, 10_000, 1, 1),
        (3, 10_000, 8, 3),      # as asked
        (0, 450, 8, 2),         # at least MIN_DOCUMENTS_PER_WORKER each
        (4, 50, 8, 1),          # a small corpus stays in one process
    ])
    def test_worker_count(self, monkeypatch, requested, documents, cores, expected):
        monkeypatch.setattr(text_cleaning.os, "sched_getaffinity", lambda _: set(range(cores)))
        assert text_cleaning.cleaning_workers(requested, documents) == expected

    def test_negative_workers_refused(self):
        with pytest.raises(InvalidData, match="--workers must be 0"):
            text_cleaning.cleaning_workers(-1, 1000)


def _sample_texts(count: int) -> list[str]:
    from pipelines.sequential_topics.sample_data import sample_frame

    frame = sample_frame(count)
    return [text_cleaning.combine_fields(row)
            for row in frame[list(COLUMNS)].itertuples(index=False, name=None)]


def _first_word_pieces(text: str, count: int) -> list[int]:
    return text_cleaning.embedding_tokenizer().encode(text, add_special_tokens=False).ids[:count]


READS = 40  # word pieces a small model would read, so that short fixtures are long documents


@pytest.fixture(scope="module")
def prefix(settings) -> CleaningSettings:
    return dataclasses.replace(settings, embedding_word_pieces=READS, prefix_chars=150)


@pytest.fixture(scope="module")
def long_texts() -> list[str]:
    # three sample records per document: 700-2,800 characters each
    texts = _sample_texts(24)
    return ["\n".join(texts[i:i + 3]) for i in range(0, len(texts), 3)]


class TestEmbeddingPrefix:
    """Cleaning only what the embedding reads: the same word pieces reach MiniLM."""

    def test_the_embedded_word_pieces_equal_whole_cleaning(self, settings, prefix, nlp,
                                                           long_texts):
        whole = list(text_cleaning.clean_documents(long_texts, settings, nlp))
        cut = list(text_cleaning.clean_documents(long_texts, prefix, nlp))
        assert all(c.cut for c in cut) and not any(w.cut for w in whole)
        for full, short in zip(whole, cut, strict=True):
            assert len(short.document) < len(full.document)
            pieces = _first_word_pieces(short.document, READS
                                        + text_cleaning.CUT_MARGIN_WORD_PIECES)
            assert len(pieces) == READS + text_cleaning.CUT_MARGIN_WORD_PIECES
            assert pieces[:READS] == _first_word_pieces(full.document, READS)

    def test_a_prefix_that_cleans_to_too_little_is_doubled(self, settings, prefix, nlp,
                                                           long_texts):
        # 600 characters of addresses clean to nothing: 150 and 300 characters are not enough
        text = " ".join(f"mail{n}@example.com" for n in range(30)) + "\n" + long_texts[0]
        assert len(text_cleaning.text_prefix(text, 600)) < len(text)
        whole = clean(text, settings, nlp)
        [cut] = text_cleaning.clean_documents([text], prefix, nlp)
        assert cut.cut and cut.document
        assert _first_word_pieces(cut.document, READS) == \
            _first_word_pieces(whole, READS)

    def test_a_document_shorter_than_the_prefix_is_cleaned_as_before(self, settings, nlp):
        texts = _sample_texts(30)
        generous = dataclasses.replace(settings, embedding_word_pieces=254, prefix_chars=3000)
        assert max(map(len, texts)) <= generous.prefix_chars
        assert list(text_cleaning.clean_documents(texts, generous, nlp)) == [
            text_cleaning.Cleaned(document, False)
            for document in text_cleaning.clean_texts(texts, settings, nlp)]

    @pytest.mark.integration
    def test_workers_cut_like_one_process(self, prefix, nlp, long_texts):
        one = list(text_cleaning.clean_documents(long_texts, prefix, nlp, batch_size=2))
        two = list(text_cleaning.clean_documents(long_texts, prefix, nlp, batch_size=2,
                                                 workers=2))
        assert two == one

    @pytest.mark.parametrize(("chars", "expected"), [
        (100, "Cloud migration for the bank"),   # shorter than the prefix: all of it
        (15, "Cloud migration"),                  # the cut falls on a space
        (12, "Cloud"),                            # the split word is left out
        (3, "Clo"),                               # no space: the characters
    ])
    def test_text_prefix(self, chars, expected):
        assert text_cleaning.text_prefix("Cloud migration for the bank", chars) == expected

    def test_the_embedding_reads_its_max_seq_length_less_the_special_tokens(self):
        # all-MiniLM-L6-v2's sentence_bert_config.json: max_seq_length 256; [CLS] and [SEP]
        assert text_cleaning.embedding_reads() == 254

    def test_bad_settings_are_refused(self, settings):
        with pytest.raises(InvalidData, match="embedding_word_pieces must be 0"):
            dataclasses.replace(settings, embedding_word_pieces=-1)
        with pytest.raises(InvalidData, match="prefix_chars at least 1, got 254 and 0"):
            dataclasses.replace(settings, embedding_word_pieces=254, prefix_chars=0)


class TestSavedSettings:
    def test_the_prefix_round_trips(self, settings):
        prefix = dataclasses.replace(settings, embedding_word_pieces=254, prefix_chars=1500)
        saved = prefix.to_json()
        assert (saved["embedding_word_pieces"], saved["prefix_chars"]) == (254, 1500)
        assert CleaningSettings.from_json(saved) == prefix

    def test_settings_saved_before_the_prefix_clean_the_whole_text(self, settings):
        old = {key: value for key, value in settings.to_json().items()
               if key not in ("embedding_word_pieces", "prefix_chars")}
        assert CleaningSettings.from_json(old).embedding_word_pieces == 0
        assert CleaningSettings.from_json(old) == settings

    def test_the_served_model_cleans_with_the_saved_prefix(self, settings, nlp):
        from steps.sequential_topics import served_model

        text = "\n".join(_sample_texts(6))
        saved = dataclasses.replace(settings, embedding_word_pieces=40, prefix_chars=150)
        model = served_model.TopicModel(
            settings=CleaningSettings.from_json(saved.to_json()), layers=[], mapping=None,
            labels={}, actions={}, merged_into={}, nlp=nlp, minilm=None, lsa=None)
        [served] = served_model.clean(model, [text])
        [expected] = text_cleaning.clean_documents([text], saved, nlp)
        assert expected.cut and served == expected.document
        assert len(served) < len(clean(text, settings, nlp))
