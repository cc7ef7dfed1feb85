"""The next mapping from the previous one, a layer's topic summary and a person's overrides.

A pure function (no I/O) so it is tested on its own and runs the same in the Lambda and locally.
The automatic proposal, for the topics of the summary's layer:

- Broad topics are split, i.e. re-clustered by the next layer: a topic is broad when it holds
  at least `rules.broad_share` of the documents this layer clustered AND its dispersion (mean
  cosine distance to its centroid) is at least `rules.broad_dispersion`. A large but tight
  topic is one real theme; a small loose one has too few documents to re-cluster. By default
  both thresholds are relative to the layer: 1.5 times the mean topic share, and the median
  topic dispersion, because absolute values depend on the topic count and the embedding (on
  BBC News with 20 topics no topic reaches 15% of the documents, and dispersions sit at 0.4-0.55).
- A layer that was given nothing to re-cluster (the previous mapping's `recluster` is empty)
  produces no topics; its mapping carries the previous one forward unchanged.
- Every topic is labelled with its first `rules.label_words` distinct keywords (by weight); a
  label another topic of the layer already has is extended with more keywords, then the id.
  Larger topics are labelled first, so they keep the short labels.
- Kept topics of the same parent whose top 10 keywords overlap by at least
  `rules.merge_overlap` (Jaccard) are merged, the smaller into the larger.

Overrides always win: a label override keeps the automatic label in `renamed_from`; an action
override replaces the proposal, and automatic merges into a topic an override took out of
'keep' are withdrawn.
"""
from __future__ import annotations

from pydantic import ValidationError

from steps.sequential_topics.mapping_schema import (
    MappingDocument,
    MappingOverrides,
    MappingRules,
    SummaryTopic,
    TopicEntry,
    TopicSummary,
    describe_validation_error,
    layer_of,
    topic_id,
)

ENTRY_KEYWORDS = 10
MERGE_KEYWORDS = 10


class MappingError(ValueError):
    """The inputs cannot give a valid next mapping; retrying will not help."""


def update_mapping(previous: MappingDocument | None, summary: TopicSummary,
                   overrides: MappingOverrides | None = None) -> MappingDocument:
    """Return the mapping for layers 1..summary.layer; raise MappingError if there is none."""
    overrides = overrides or MappingOverrides()
    layer = summary.layer
    _check_inputs(previous, summary)
    if not summary.topics and previous is not None and not previous.recluster:
        return MappingDocument(layer=layer, topics=previous.topics, recluster=[])
    if not summary.topics:
        raise MappingError(f"layer {layer} produced no topics, so there is nothing to map: check "
                           "the layer's input documents and its topic-count settings")
    topics = sorted(summary.topics, key=lambda t: t.topic)
    entries = _propose(topics, summary, overrides.rules)
    _apply_overrides(entries, overrides, layer)
    new = [entries[topic_id(layer, t.topic)] for t in topics]
    try:
        return MappingDocument(
            layer=layer, topics=[*(previous.topics if previous else []),
                                 *(TopicEntry(**e) for e in new)],
            recluster=[e["id"] for e in new if e["action"] == "split"])
    except ValidationError as exc:
        raise MappingError(f"the layer {layer} mapping would be invalid: "
                           f"{describe_validation_error(exc)}") from None


def _check_inputs(previous: MappingDocument | None, summary: TopicSummary) -> None:
    layer = summary.layer
    if layer == 1:
        if previous is not None:
            raise MappingError(f"layer 1 takes no previous mapping, got one for layer "
                               f"{previous.layer}")
        return
    if previous is None or previous.layer != layer - 1:
        got = "none" if previous is None else f"one for layer {previous.layer}"
        raise MappingError(f"layer {layer} needs the layer {layer - 1} mapping, got {got}")
    stray = sorted({t.parent for t in summary.topics} - set(previous.recluster))
    if stray:
        raise MappingError(f"layer {layer} topics have parents {stray} that the layer "
                           f"{layer - 1} mapping did not ask to re-cluster "
                           f"(recluster: {previous.recluster})")


def _broad_thresholds(topics: list[SummaryTopic], rules: MappingRules) -> tuple[float, float]:
    """(share, dispersion) a topic must reach to be split: the rules' values, or the layer's."""
    share = rules.broad_share or rules.broad_share_factor / len(topics)
    if rules.broad_dispersion is not None:
        return share, rules.broad_dispersion
    ordered = sorted(t.dispersion for t in topics)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return share, median


def _propose(topics: list[SummaryTopic], summary: TopicSummary,
             rules: MappingRules) -> dict[str, dict]:
    layer = summary.layer
    words = {t.topic: _distinct_words(t) for t in topics}
    labels = _labels(topics, words, layer, rules.label_words)
    share, dispersion = _broad_thresholds(topics, rules)
    entries = {}
    for t in topics:
        broad = t.size / summary.total_documents >= share and t.dispersion >= dispersion
        tid = topic_id(layer, t.topic)
        entries[tid] = {"id": tid, "label": labels[t.topic], "keywords": words[t.topic][
            :ENTRY_KEYWORDS], "size": t.size, "parent": t.parent,
            "action": "split" if broad else "keep", "merge_into": None, "renamed_from": None}
    kept = [t for t in topics if entries[topic_id(layer, t.topic)]["action"] == "keep"]
    for small, big in _merges(kept, words, rules.merge_overlap).items():
        entries[topic_id(layer, small)].update(action="merge", merge_into=topic_id(layer, big))
    return entries


def _distinct_words(topic: SummaryTopic) -> list[str]:
    """Keywords by descending weight, trimmed, case-insensitively de-duplicated."""
    ranked = sorted(enumerate(topic.keywords), key=lambda pair: (-pair[1].weight, pair[0]))
    seen: set[str] = set()
    words = []
    for _, keyword in ranked:
        word = keyword.word.strip()
        if word and word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return words


def _labels(topics: list[SummaryTopic], words: dict[int, list[str]], layer: int,
            label_words: int) -> dict[int, str]:
    used: set[str] = set()
    labels = {}
    for t in sorted(topics, key=lambda t: (-t.size, t.topic)):
        count = label_words
        label = ", ".join(words[t.topic][:count])
        while label.lower() in used and count < len(words[t.topic]):
            count += 1
            label = ", ".join(words[t.topic][:count])
        if label.lower() in used:
            label = f"{label} ({topic_id(layer, t.topic)})"
        used.add(label.lower())
        labels[t.topic] = label
    return labels


def _merges(kept: list[SummaryTopic], words: dict[int, list[str]],
            overlap: float) -> dict[int, int]:
    """{smaller topic: larger topic it merges into}; a merge target is never merged itself."""
    top = {t.topic: {w.lower() for w in words[t.topic][:MERGE_KEYWORDS]} for t in kept}
    by_size = sorted(kept, key=lambda t: (-t.size, t.topic))
    merged: dict[int, int] = {}
    for i, big in enumerate(by_size):
        if big.topic in merged:
            continue
        for small in by_size[i + 1:]:
            if small.topic in merged or small.parent != big.parent:
                continue
            a, b = top[big.topic], top[small.topic]
            if len(a & b) / len(a | b) >= overlap:
                merged[small.topic] = big.topic
    return merged


def _apply_overrides(entries: dict[str, dict], overrides: MappingOverrides, layer: int) -> None:
    mine = {tid: o for tid, o in overrides.topics.items() if layer_of(tid) == layer}
    unknown = sorted(set(mine) - set(entries))
    if unknown:
        raise MappingError(f"overrides name topics {unknown} that layer {layer} does not have "
                           f"(it has {', '.join(entries)})")
    auto_merged = {tid for tid, e in entries.items() if e["action"] == "merge"}
    for tid, override in sorted(mine.items()):
        entry = entries[tid]
        if override.label is not None and override.label != entry["label"]:
            entry.update(renamed_from=entry["label"], label=override.label)
        action = override.action or ("merge" if override.merge_into else None)
        if action is None:
            continue
        if action == "merge" and override.merge_into is None:
            raise MappingError(f"the override for {tid} sets action 'merge' without merge_into: "
                               "name the topic it merges into")
        if action != "merge" and override.merge_into is not None:
            raise MappingError(f"the override for {tid} sets merge_into but action {action!r}: "
                               "drop one of them")
        entry.update(action=action, merge_into=override.merge_into)
        auto_merged.discard(tid)
        target = entries.get(override.merge_into or "")
        if target is not None and target["id"] in auto_merged:
            target.update(action="keep", merge_into=None)  # an override's target stays a topic
            auto_merged.discard(target["id"])
    for tid in auto_merged:
        if entries[entries[tid]["merge_into"]]["action"] != "keep":
            entries[tid].update(action="keep", merge_into=None)
