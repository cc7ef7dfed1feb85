"""The pure mapping update: broad-topic rule, labels, merges, overrides, and its refusals."""
from __future__ import annotations

import pytest

from runtime.topic_mapping.mapping_update import MappingError, update_mapping
from steps.sequential_topics.mapping_schema import (
    MappingOverrides,
    TopicSummary,
    dump_document,
)
from tests.lambdas.mapping_callback.mapping_fixtures import keywords, layer1_summary, layer2_summary


def summary(topics: list[dict], layer: int = 1, outliers: int = 0) -> TopicSummary:
    return TopicSummary.model_validate({
        "layer": layer, "outliers": outliers, "topics": topics,
        "total_documents": sum(t["size"] for t in topics) + outliers})


def topic(number: int, size: int, dispersion: float = 0.3, words: tuple[str, ...] = (),
          parent: str | None = None) -> dict:
    words = words or (f"w{number}a", f"w{number}b", f"w{number}c", f"w{number}d")
    return {"topic": number, "size": size, "dispersion": dispersion, "parent": parent,
            "keywords": keywords(*words)}


def overrides(topics: dict | None = None, **rules) -> MappingOverrides:
    return MappingOverrides.model_validate({"topics": topics or {}, "rules": rules})


def actions(mapping) -> dict[str, tuple[str, str | None]]:
    return {t.id: (t.action, t.merge_into) for t in mapping.topics}


LAYER1 = TopicSummary.model_validate(layer1_summary())


class TestBroadTopicRule:
    @pytest.mark.parametrize(("size", "dispersion", "action"), [
        (15, 0.50, "split"),   # both thresholds met exactly (share 0.15 of 100)
        (14, 0.90, "keep"),    # loose but too small a share
        (60, 0.49, "keep"),    # large but tight: one real theme
        (60, 0.80, "split"),
    ])
    def test_split_needs_both_share_and_dispersion(self, size, dispersion, action):
        layer = summary([topic(0, size, dispersion), topic(1, 100 - size, 0.1)])
        absolute = overrides(broad_share=0.15, broad_dispersion=0.5)
        assert update_mapping(None, layer, absolute).topics[0].action == action

    def test_the_thresholds_come_from_the_overrides_rules(self):
        layer = summary([topic(0, 60, 0.45), topic(1, 40, 0.1)])
        assert update_mapping(None, layer, overrides(broad_share=0.7)).recluster == []
        tuned = update_mapping(None, layer, overrides(broad_share=0.5, broad_dispersion=0.4))
        assert tuned.recluster == ["1:0"]

    def test_default_thresholds_are_relative_to_the_layer(self):
        """20 topics, none near 15% of the documents, dispersions 0.40-0.59 (as on BBC News):
        broad = at least 1.5 x the mean share (7.5%) and at least the median dispersion."""
        sizes = [12, 10, 9, 8] + [4] * 16          # 100 documents
        dispersions = [0.45, 0.55, 0.50, 0.40] + [0.40 + 0.01 * i for i in range(16)]
        layer = summary([topic(i, n, d) for i, (n, d) in enumerate(zip(sizes, dispersions, strict=True))])
        # median dispersion 0.475: topics 1 (10%, 0.55) and 2 (9%, 0.50) are broad; topic 0
        # is large but tight, topic 3 large but tighter still.
        assert update_mapping(None, layer).recluster == ["1:1", "1:2"]

    def test_a_layer_given_nothing_to_recluster_carries_the_mapping_forward(self):
        first = update_mapping(None, summary([topic(0, 50, 0.3), topic(1, 50, 0.3)]))
        assert first.recluster == []
        empty = TopicSummary.model_validate({**layer2_summary(), "topics": [],
                                             "total_documents": 0})
        second = update_mapping(first, empty)
        assert (second.layer, second.topics, second.recluster) == (2, first.topics, [])

    def test_layer_1_proposal(self):
        mapping = update_mapping(None, LAYER1)
        assert actions(mapping) == {"1:0": ("split", None), "1:1": ("keep", None),
                                    "1:2": ("keep", None), "1:3": ("merge", "1:2"),
                                    "1:4": ("keep", None)}
        assert mapping.recluster == ["1:0"]

    def test_layer_2_keeps_layer_1_and_adds_children(self):
        first = update_mapping(None, LAYER1)
        second = update_mapping(first, TopicSummary.model_validate(layer2_summary()))
        assert second.layer == 2 and second.topics[:5] == first.topics
        assert [(t.id, t.parent, t.label) for t in second.topics[5:]] == [
            ("2:0", "1:0", "football, premiership, arsenal"),
            ("2:1", "1:0", "rugby, england, wales")]


class TestLabels:
    def test_labels_use_the_heaviest_distinct_keywords(self):
        layer = summary([{"topic": 0, "size": 10, "dispersion": 0.1, "keywords": [
            {"word": "minor", "weight": 0.1}, {"word": "Goal", "weight": 0.9},
            {"word": "goal", "weight": 0.8}, {"word": " match ", "weight": 0.7},
            {"word": "club", "weight": 0.6}]}])
        entry = update_mapping(None, layer).topics[0]
        assert entry.label == "Goal, match, club"
        assert entry.keywords == ["Goal", "match", "club", "minor"]

    def test_a_taken_label_grows_then_falls_back_to_the_id(self):
        words = ("tax", "budget", "economy")
        layer = summary([topic(0, 10, words=words + ("rates",)), topic(1, 30, words=words),
                         topic(2, 20, words=words + ("rates",))], )
        labels = {t.id: t.label for t in update_mapping(None, layer, overrides(
            merge_overlap=1.0)).topics}
        # the largest topic keeps the short label
        assert labels == {"1:1": "tax, budget, economy", "1:2": "tax, budget, economy, rates",
                          "1:0": "tax, budget, economy, rates (1:0)"}


class TestMerges:
    def test_near_duplicates_merge_the_smaller_into_the_larger(self):
        mapping = update_mapping(None, LAYER1)
        assert actions(mapping)["1:3"] == ("merge", "1:2")

    def test_a_merge_target_is_never_merged_itself(self):
        a, b, c = (("x", "y", "z", "p"), ("x", "y", "z", "q"), ("x", "y", "z", "r"))
        layer = summary([topic(0, 30, words=a), topic(1, 20, words=b), topic(2, 10, words=c)])
        rules = overrides(merge_overlap=0.5, broad_share=0.15, broad_dispersion=0.5)
        assert actions(update_mapping(None, layer, rules)) == {
            "1:0": ("keep", None), "1:1": ("merge", "1:0"), "1:2": ("merge", "1:0")}

    def test_topics_of_different_parents_or_split_topics_do_not_merge(self):
        absolute = overrides(broad_share=0.15, broad_dispersion=0.5)
        first = update_mapping(None, summary([topic(0, 50, 0.9), topic(1, 50, 0.9)]), absolute)
        words = ("x", "y", "z", "p")
        second = update_mapping(first, summary([
            topic(0, 30, words=words, parent="1:0"), topic(1, 20, words=words, parent="1:1"),
            topic(2, 40, 0.9, words=words, parent="1:1")], layer=2), absolute)
        assert actions(second)["2:1"] == ("keep", None)
        assert actions(second)["2:2"] == ("split", None)


class TestOverrides:
    def test_a_label_override_records_the_automatic_label(self):
        entry = update_mapping(None, LAYER1, overrides({"1:1": {"label": "UK politics"}})).topics[1]
        assert (entry.label, entry.renamed_from) == ("UK politics", "election, labour, party")

    def test_an_action_override_replaces_the_proposal(self):
        mapping = update_mapping(None, LAYER1, overrides({
            "1:0": {"action": "keep"}, "1:1": {"action": "split"},
            "1:4": {"merge_into": "1:2"}}))
        assert actions(mapping) == {"1:0": ("keep", None), "1:1": ("split", None),
                                    "1:2": ("keep", None), "1:3": ("merge", "1:2"),
                                    "1:4": ("merge", "1:2")}
        assert mapping.recluster == ["1:1"]

    def test_merging_into_a_split_topic_is_refused(self):
        with pytest.raises(MappingError, match=r"^the layer 1 mapping would be invalid: .*topic "
                                               r"1:4 merges into 1:1, which must be a topic of "
                                               r"the same layer and parent with action 'keep'"):
            update_mapping(None, LAYER1, overrides({"1:1": {"action": "split"},
                                                    "1:4": {"merge_into": "1:1"}}))

    def test_an_automatic_merge_into_a_topic_made_non_keep_is_withdrawn(self):
        mapping = update_mapping(None, LAYER1, overrides({"1:2": {"action": "split"}}))
        assert actions(mapping)["1:3"] == ("keep", None)

    def test_an_overrides_target_stays_a_topic(self):
        mapping = update_mapping(None, LAYER1, overrides({"1:4": {"merge_into": "1:3"}}))
        assert actions(mapping)["1:3"] == ("keep", None)
        assert actions(mapping)["1:4"] == ("merge", "1:3")

    def test_overrides_for_other_layers_wait_for_their_layer(self):
        mapping = update_mapping(None, LAYER1, overrides({"2:0": {"label": "football"}}))
        assert [t.label for t in mapping.topics] == [
            t.label for t in update_mapping(None, LAYER1).topics]

    @pytest.mark.parametrize(("override", "message"), [
        ({"1:9": {"label": "x"}},
         "overrides name topics ['1:9'] that layer 1 does not have (it has 1:0, 1:1, 1:2, 1:3, "
         "1:4)"),
        ({"1:1": {"action": "merge"}},
         "the override for 1:1 sets action 'merge' without merge_into: name the topic it merges "
         "into"),
        ({"1:1": {"action": "keep", "merge_into": "1:2"}},
         "the override for 1:1 sets merge_into but action 'keep': drop one of them"),
    ])
    def test_bad_overrides_are_refused(self, override, message):
        with pytest.raises(MappingError) as caught:
            update_mapping(None, LAYER1, overrides(override))
        assert str(caught.value) == message


class TestRefusals:
    def test_an_empty_layer_is_a_permanent_error(self):
        with pytest.raises(MappingError, match="^layer 1 produced no topics, so there is nothing "
                                               "to map"):
            update_mapping(None, summary([], outliers=30))

    def test_layer_1_takes_no_previous_mapping(self):
        with pytest.raises(MappingError, match="^layer 1 takes no previous mapping, got one "
                                               "for layer 1$"):
            update_mapping(update_mapping(None, LAYER1), LAYER1)

    def test_layer_2_needs_the_layer_1_mapping(self):
        with pytest.raises(MappingError, match="^layer 2 needs the layer 1 mapping, got none$"):
            update_mapping(None, TopicSummary.model_validate(layer2_summary()))

    def test_layer_2_may_only_recluster_what_layer_1_asked_for(self):
        first = update_mapping(None, LAYER1)
        stray = summary([topic(0, 10, parent="1:1")], layer=2)
        with pytest.raises(MappingError, match=r"^layer 2 topics have parents \['1:1'\] that the "
                                               r"layer 1 mapping did not ask to re-cluster "
                                               r"\(recluster: \['1:0'\]\)$"):
            update_mapping(first, stray)


def test_the_update_is_deterministic():
    assert dump_document(update_mapping(None, LAYER1)) == dump_document(update_mapping(None,
                                                                                       LAYER1))
