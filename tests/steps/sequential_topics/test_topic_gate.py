"""The label-free baseline (shuffled topics) and the quality gate's verdict."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from steps.common.errors import InvalidData
from steps.sequential_topics import contract, corpus_io, layer_store, topic_metrics, topic_model
from steps.sequential_topics.shuffled_baseline import ctfidf_keywords, shuffled_baseline
from steps.sequential_topics.topic_gate import GateFigures, GateThresholds, verdict
from tests.steps.sequential_topics.conftest import simple_clean

GOOD = GateFigures(topics=15, documents=300, coherence=0.2, shuffled_coherence=0.02,
                   diversity=0.8, largest_topic_share=0.12, empty_layers=0)


def failed(result: dict) -> list[str]:
    return [c["name"] for c in result["checks"] if not c["passed"]]


class TestVerdict:
    def test_good_figures_pass_every_label_free_check(self):
        result = verdict(GOOD, GateThresholds())
        assert result["passed"] is True and result["failed"] == 0
        assert [c["name"] for c in result["checks"]] == [
            "coherence", "coherence_over_shuffled", "diversity", "largest_topic_share",
            "empty_layers", "layers_not_worse"]
        assert result["checks"][-1]["text"] == "no layer re-clustered a topic"
        assert result["checks"][0]["text"] == "no absolute coherence bar (QualityThreshold -1)"
        assert result["message"].startswith("passed all 6 checks. Figures: layer-1 coherence "
                                            "0.200 (shuffled topics 0.020)")

    @pytest.mark.parametrize("change, name, reason", [
        ({"coherence": -0.05, "shuffled_coherence": -0.2}, "coherence",
         "layer-1 coherence -0.050 < QualityThreshold 0"),  # with QualityThreshold 0 (below)
        ({"shuffled_coherence": 0.18}, "coherence_over_shuffled",
         "layer-1 coherence over shuffled topics 0.020 < MinCoherenceOverShuffled"),
        ({"diversity": 0.2}, "diversity", "layer-1 diversity 0.200 < MinTopicDiversity"),
        ({"largest_topic_share": 0.8}, "largest_topic_share",
         "the largest layer-1 topic holds 80% of the documents, above MaxTopicShare"),
        ({"empty_layers": 1}, "empty_layers", "1 empty layer(s)"),
        ({"layer_coherence_changes": {"layer2": 0.02, "layer3": -0.2}}, "layers_not_worse",
         "layer3's topics' coherence minus the topics they split -0.200 < "
         "MinLayerCoherenceChange -0.15"),
    ])
    def test_each_check_fails_alone_and_says_why(self, change, name, reason):
        result = verdict(dataclasses.replace(GOOD, **change), GateThresholds(quality_threshold=0))
        assert failed(result) == [name]
        assert result["failed"] == 1
        assert result["message"].startswith(f"failed 1 of 6 checks: {reason}")
        assert "Figures: layer-1 coherence" in result["message"]

    def test_the_absolute_bar_is_off_by_default(self):
        """Short documents have low NPMI whatever the topics: by default only the comparison
        with shuffled topics judges coherence."""
        short_documents = dataclasses.replace(GOOD, coherence=-0.015, shuffled_coherence=-0.31)
        assert verdict(short_documents, GateThresholds())["passed"] is True
        assert failed(verdict(short_documents, GateThresholds(quality_threshold=0))) == [
            "coherence"]

    def test_labels_add_the_agreement_check(self):
        labelled = dataclasses.replace(GOOD, nmi=0.6, shuffled_nmi=0.05)
        assert verdict(labelled, GateThresholds())["failed"] == 0
        chance = dataclasses.replace(GOOD, nmi=0.1, shuffled_nmi=0.05)
        result = verdict(chance, GateThresholds())
        assert failed(result) == ["nmi_over_shuffled"]
        assert "NMI 0.100 (shuffled 0.050)" in result["message"]

    def test_unmeasured_figures_fail(self):
        nothing = GateFigures(topics=0, documents=300, coherence=None, shuffled_coherence=0.0,
                              diversity=None, largest_topic_share=None, empty_layers=1)
        result = verdict(nothing, GateThresholds())
        assert failed(result) == ["coherence_over_shuffled", "diversity", "largest_topic_share",
                                  "empty_layers"]
        assert failed(verdict(nothing, GateThresholds(quality_threshold=0)))[0] == "coherence"
        assert "was not measured (no layer-1 topic)" in result["message"]

    def test_layers_that_kept_the_topics_coherent_pass(self):
        kept = dataclasses.replace(GOOD, layer_coherence_changes={"layer2": 0.03,
                                                                  "layer3": -0.04})
        result = verdict(kept, GateThresholds())
        assert result["failed"] == 0
        assert result["checks"][-1]["text"] == ("layer3's topics' coherence minus the topics "
                                                "they split -0.040 >= MinLayerCoherenceChange "
                                                "-0.15")
        assert "coherence change layer2 +0.030, layer3 -0.040" in result["message"]
        assert failed(verdict(kept, GateThresholds(min_layer_coherence_change=0.0))) == [
            "layers_not_worse"]

    def test_thresholds_come_from_the_parameters(self):
        strict = GateThresholds(quality_threshold=0.3, max_topic_share=0.1)
        assert failed(verdict(GOOD, strict)) == ["coherence", "largest_topic_share"]
        assert verdict(GOOD, strict)["thresholds"]["QualityThreshold"] == 0.3

    def test_out_of_range_threshold_names_the_parameter(self):
        with pytest.raises(InvalidData, match="MaxTopicShare must be between 0.0 and 1.0, "
                                              "got 1.5"):
            GateThresholds(max_topic_share=1.5)


@pytest.fixture(scope="module")
def layer_one(trained, corpus_dir):
    corpus = corpus_io.read_corpus(corpus_dir)
    assignments = layer_store.read_assignments(trained.model_dirs[1]).set_index(
        contract.ID_COLUMN).loc[corpus[contract.ID_COLUMN]]
    return (corpus[contract.DOCUMENT_COLUMN].tolist(),
            assignments[contract.layer_column(1)].to_numpy(),
            corpus[contract.LABEL_COLUMN].to_numpy(),
            layer_store.read_summary(trained.model_dirs[1], 1))


class TestShuffledBaseline:
    @pytest.mark.integration  # layer_one: layers trained by the real scripts
    def test_keywords_follow_the_models_own_recipe(self, layer_one):
        documents, topics, _, summary = layer_one
        ours = ctfidf_keywords(documents, [int(t.split(":")[1]) for t in topics])
        theirs = [[k.word for k in t.keywords] for t in sorted(summary.topics,
                                                               key=lambda t: t.topic)]
        assert [set(words) for words in ours] == [set(words) for words in theirs]  # ties
        assert [words[0] for words in ours] == [words[0] for words in theirs]

    @pytest.mark.integration
    def test_shuffled_topics_are_less_coherent_and_agree_by_chance(self, layer_one):
        documents, topics, labels, summary = layer_one
        real = topic_metrics.npmi_coherence([[k.word for k in t.keywords]
                                             for t in summary.topics], documents)[0]
        baseline = shuffled_baseline(documents, topics, labels, repeats=3, seed=1)
        assert baseline["repeats"] == 3
        assert baseline["coherence"] < real - 0.05
        assert 0 <= baseline["nmi"] < 0.1
        assert baseline == shuffled_baseline(documents, topics, labels, repeats=3, seed=1)
        assert "nmi" not in shuffled_baseline(documents, topics, None, repeats=1)

    def test_word_salad_topics_are_no_better_than_shuffled(self):
        rng = np.random.default_rng(3)
        vocabulary = [f"w{n}" for n in range(400)]
        documents = [" ".join(rng.choice(vocabulary, 40)) for _ in range(240)]
        topics = np.arange(240) % 8  # any grouping of salad is a random grouping
        real = topic_metrics.npmi_coherence(ctfidf_keywords(documents, topics), documents)[0]
        baseline = shuffled_baseline(documents, topics, repeats=3)
        assert abs(real - baseline["coherence"]) < 0.05

    def test_keywords_of_plain_text(self):
        documents = [simple_clean(t) for t in ("Goal! The striker scored a goal", "Goal keeper",
                                               "Shares rose; shares fell", "Market shares")]
        words = ctfidf_keywords(documents, ["sport", "sport", "money", "money"], top_n=2)
        assert words == [["shares", "fell"], ["goal", "keeper"]]


def _templated_emails(n_docs: int = 360) -> tuple[list[str], list[str], np.ndarray]:
    """(documents, topics, embeddings): six subjects, each spread over three topics, every
    document opening and closing with the same greeting and signature."""
    rng = np.random.default_rng(0)
    subjects = [[f"s{t}w{n}" for n in range(12)] for t in range(6)]
    directions = rng.normal(size=(6, 8))
    documents, topics, embeddings = [], [], []
    for number in range(n_docs):
        subject = number % 6
        words = " ".join(rng.choice(subjects[subject], 4))
        documents.append(f"hello team {words} kind regards jane doe acme ltd")
        topics.append(f"{subject}-{(number // 6) % 3}")
        embeddings.append(directions[subject] + rng.normal(scale=0.05, size=8))
    return documents, topics, np.asarray(embeddings, dtype=np.float32)


SIGNATURE = ["acme", "doe", "hello", "jane", "kind", "regards", "team"]  # "ltd": a stop word


class TestBoilerplate:
    def test_shuffled_topics_do_not_win_on_a_signature_every_document_carries(self):
        """Shuffled topics' keywords were the signature's words, which co-occur in every
        document: the ideal topics scored below them and the gate refused them."""
        documents, topics, _ = _templated_emails()
        assert topic_model.boilerplate_words(documents) == tuple(SIGNATURE)
        words = ctfidf_keywords(documents, topics,
                                boilerplate=topic_model.boilerplate_words(documents))
        assert not set(SIGNATURE) & {w for topic in words for w in topic}
        real = topic_metrics.npmi_coherence(words, documents)[0]
        baseline = shuffled_baseline(documents, topics, repeats=3)
        assert baseline["boilerplate_words"] == SIGNATURE
        assert real - baseline["coherence"] > GateThresholds().min_coherence_over_shuffled

    def test_the_models_keywords_leave_the_boilerplate_out(self):
        documents, _, embeddings = _templated_emails()
        settings = topic_model.ModelSettings(reducer="pca", n_clusters=18, seed=1,
                                             boilerplate=topic_model.boilerplate_words(documents))
        model = topic_model.fit_model(documents, embeddings, settings)
        keywords = {w for t in set(model.topics_) for w, _ in model.get_topic(t)}
        assert keywords and not set(SIGNATURE) & keywords
        assert settings.to_json()["boilerplate"] == SIGNATURE
        assert "boilerplate" not in topic_model.ModelSettings().to_json()  # as before

    def test_a_small_or_varied_corpus_has_none(self):
        documents, _, _ = _templated_emails()
        assert topic_model.boilerplate_words(documents[:19]) == ()
        assert topic_model.boilerplate_words([d.split("team ")[1].split(" kind")[0]
                                              for d in documents]) == ()
