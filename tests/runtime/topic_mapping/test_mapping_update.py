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


def summary(topics: list[dict], layer: int = 1, outliers: int = 0,
            split_search: dict | None = None) -> TopicSummary:
    return TopicSummary.model_validate({
        "layer": layer, "outliers": outliers, "topics": topics, "split_search": split_search,
        "total_documents": sum(t["size"] for t in topics) + outliers})


def topic(number: int, size: int, dispersion: float = 0.3, words: tuple[str, ...] = (),
          parent: str | None = None, splits: dict[int, float] | None = None) -> dict:
    words = words or (f"w{number}a", f"w{number}b", f"w{number}c", f"w{number}d")
    return {"topic": number, "size": size, "dispersion": dispersion, "parent": parent,
            "keywords": keywords(*words), "split_silhouettes": splits or {}}


def overrides(topics: dict | None = None, **rules) -> MappingOverrides:
    return MappingOverrides.model_validate({"topics": topics or {}, "rules": rules})


def actions(mapping) -> dict[str, tuple[str, str | None]]:
    return {t.id: (t.action, t.merge_into) for t in mapping.topics}


LAYER1 = TopicSummary.model_validate(layer1_summary())


class TestBreadthRule:
    """The default rule: broad topics (dispersion / the layer's median) whose best split
    beats keeping them whole are split into that split's sub-topic count."""

    def test_a_broad_topic_whose_split_separates_is_split_into_its_best_count(self):
        layer = summary([topic(0, 60, 0.6, splits={2: 0.04, 3: 0.11}), topic(1, 60, 0.4),
                         topic(2, 60, 0.2)])
        entry = update_mapping(None, layer).topics[0]
        assert (entry.action, entry.subtopics, entry.breadth, entry.split_silhouette) == (
            "split", 3, 1.5, 0.11)
        assert entry.reason == ("split: breadth 1.50 >= 1 (dispersion 0.600) and the k=3 split "
                                "has silhouette 0.110 >= 0.1")

    def test_a_tight_topic_is_kept_however_big(self):
        layer = summary([topic(0, 500, 0.2, splits={2: 0.5}), topic(1, 50, 0.4),
                         topic(2, 50, 0.6)])
        entry = update_mapping(None, layer).topics[0]
        assert (entry.action, entry.subtopics) == ("keep", None)
        assert entry.reason == "keep: breadth 0.50 < 1 (dispersion 0.200): a tight topic"

    def test_a_split_that_does_not_beat_keep_is_not_made(self):
        layer = summary([topic(0, 60, 0.6, splits={2: 0.099, 3: 0.01, 4: -0.02}),
                         topic(1, 60, 0.4)])
        mapping = update_mapping(None, layer)
        entry = mapping.topics[0]
        assert (entry.action, entry.subtopics, mapping.recluster) == ("keep", None, [])
        assert entry.reason == ("keep: breadth 1.20 >= 1 (dispersion 0.600), but no split beats "
                                "keeping it whole: the best (k=2) has silhouette 0.099 < 0.1")

    def test_a_broad_topic_too_small_to_search_is_kept_with_the_reason(self):
        layer = summary([topic(0, 30, 0.6), topic(1, 60, 0.4, splits={2: 0.3})],
                        split_search={"min_documents": 40, "max_subtopics": 6})
        entry = update_mapping(None, layer).topics[0]
        assert entry.action == "keep"
        assert entry.reason == ("keep: breadth 1.20 >= 1 (dispersion 0.600), but 30 documents, "
                                "fewer than the 40 a split needs")

    def test_the_thresholds_are_rules_of_the_mapping(self):
        layer = summary([topic(0, 60, 0.6, splits={2: 0.04}), topic(1, 60, 0.4, splits={2: 0.3}),
                         topic(2, 60, 0.44, splits={2: 0.3}), topic(3, 60, 0.46)])
        assert update_mapping(None, layer).recluster == []
        assert update_mapping(None, layer, overrides(min_split_silhouette=0.03)).recluster == [
            "1:0"]
        assert update_mapping(None, layer, overrides(min_breadth=0.5)).recluster == ["1:1", "1:2"]

    def test_every_entry_records_its_breadth_figures_and_reason(self):
        mapping = update_mapping(None, LAYER1)
        figures = {t.id: (t.dispersion, t.breadth, t.split_silhouette) for t in mapping.topics}
        assert figures == {"1:0": (0.62, 1.55, 0.21), "1:1": (0.30, 0.75, 0.02),
                           "1:2": (0.45, 1.125, None), "1:3": (0.35, 0.875, None),
                           "1:4": (0.40, 1.0, None)}
        reasons = {t.id: t.reason.split(":")[0] for t in mapping.topics}
        assert reasons == {"1:0": "split", "1:1": "keep", "1:2": "keep", "1:3": "merge",
                           "1:4": "keep"}
        assert mapping.topics[3].reason == (
            "merge: its top keywords overlap 1:2's by 0.67 >= 0.6 (Jaccard); not split: "
            "breadth 0.87 < 1 (dispersion 0.350): a tight topic")


class TestSizeRule:
    """The earlier rule, kept as `split_rule: size`: share of the documents and dispersion."""

    @pytest.mark.parametrize(("size", "dispersion", "action"), [
        (15, 0.50, "split"),   # both thresholds met exactly (share 0.15 of 100)
        (14, 0.90, "keep"),    # loose but too small a share
        (60, 0.49, "keep"),    # large but tight: one real theme
        (60, 0.80, "split"),
    ])
    def test_split_needs_both_share_and_dispersion(self, size, dispersion, action):
        layer = summary([topic(0, size, dispersion), topic(1, 100 - size, 0.1)])
        absolute = overrides(split_rule="size", broad_share=0.15, broad_dispersion=0.5)
        entry = update_mapping(None, layer, absolute).topics[0]
        assert (entry.action, entry.subtopics) == (action, None)
        assert entry.reason.startswith(f"{action}: size rule: share {size / 100:.3f}")

    def test_the_thresholds_come_from_the_overrides_rules(self):
        layer = summary([topic(0, 60, 0.45), topic(1, 40, 0.1)])
        assert update_mapping(None, layer, overrides(split_rule="size", broad_share=0.7)
                              ).recluster == []
        tuned = update_mapping(None, layer, overrides(split_rule="size", broad_share=0.5,
                                                      broad_dispersion=0.4))
        assert tuned.recluster == ["1:0"]

    def test_default_thresholds_are_relative_to_the_layer(self):
        """20 topics, none near 15% of the documents, dispersions 0.40-0.59 (as on BBC News):
        broad = at least 1.5 x the mean share (7.5%) and at least the median dispersion."""
        sizes = [12, 10, 9, 8] + [4] * 16          # 100 documents
        dispersions = [0.45, 0.55, 0.50, 0.40] + [0.40 + 0.01 * i for i in range(16)]
        layer = summary([topic(i, n, d) for i, (n, d) in enumerate(zip(sizes, dispersions, strict=True))])
        # median dispersion 0.475: topics 1 (10%, 0.55) and 2 (9%, 0.50) are broad; topic 0
        # is large but tight, topic 3 large but tighter still.
        assert update_mapping(None, layer, overrides(split_rule="size")).recluster == [
            "1:1", "1:2"]


class TestLayers:
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
        rules = overrides(merge_overlap=0.5, split_rule="size", broad_share=0.15,
                          broad_dispersion=0.5)
        assert actions(update_mapping(None, layer, rules)) == {
            "1:0": ("keep", None), "1:1": ("merge", "1:0"), "1:2": ("merge", "1:0")}

    def test_topics_of_different_parents_or_split_topics_do_not_merge(self):
        absolute = overrides(split_rule="size", broad_share=0.15, broad_dispersion=0.5)
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

    def test_an_override_wins_over_the_rule_and_says_so(self):
        mapping = update_mapping(None, LAYER1, overrides({"1:0": {"action": "keep"},
                                                          "1:1": {"action": "split"}}))
        kept, split = mapping.topics[0], mapping.topics[1]
        assert (kept.action, kept.subtopics, split.action, split.subtopics) == (
            "keep", None, "split", 2)  # 1:1's best searched split, though it did not separate
        assert kept.reason.startswith("keep: set by the overrides (the rule proposed split: "
                                      "breadth 1.55 >= 1")
        assert split.reason.startswith("split: set by the overrides (the rule proposed keep: ")

    def test_subtopics_imply_a_split_into_that_many(self):
        mapping = update_mapping(None, LAYER1, overrides({"1:0": {"subtopics": 5},
                                                          "1:4": {"subtopics": 2}}))
        assert {t.id: (t.action, t.subtopics) for t in mapping.topics if t.action == "split"} \
            == {"1:0": ("split", 5), "1:4": ("split", 2)}
        assert mapping.recluster == ["1:0", "1:4"]

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
        ({"1:0": {"action": "keep", "subtopics": 3}},
         "the override for 1:0 sets subtopics but action 'keep': drop one of them"),
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
