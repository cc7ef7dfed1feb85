"""The topic model's quality gate: layer figures and thresholds in, a verdict with reasons out.

It works on any corpus, without labels, and uses labels only when the corpus has them. Each
threshold is the pipeline parameter of the same name (and an evaluate.py argument):
- layer-1 coherence (mean NPMI of its topics' keywords) >= QualityThreshold: an opt-in
  absolute bar; its default -1 (NPMI's minimum) is none, as 0 is none for the tabular gates;
- layer-1 coherence minus that of shuffled topics of the same sizes (shuffled_baseline)
  >= MinCoherenceOverShuffled: topics must say more than random groups of documents;
- layer-1 diversity (unique share of the topics' keywords) >= MinTopicDiversity;
- the largest layer-1 topic's share of the documents <= MaxTopicShare (no giant topic);
- no empty layer (a layer asked to re-cluster that found no topic);
- with labels only: layer-1 NMI minus the shuffled topics' NMI >= MinNmiOverShuffled;
- layers 2 and 3 did not make the topics worse: for each layer that re-clustered topics, the
  mean coherence of its topics minus that of the topics it split (layer_hierarchy)
  >= MinLayerCoherenceChange; passes when no layer re-clustered anything.
The verdict's message is one line, quoted by the pipeline's Fail step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from steps.common.errors import InvalidData
from steps.common.gate import Check, gate_section

NO_ABSOLUTE_BAR = -1.0  # QualityThreshold's "none": NPMI is never below -1


def _threshold(parameter: str, default: float, low: float, high: float) -> Any:
    return field(default=default, metadata={"parameter": parameter, "range": (low, high)})


@dataclass(frozen=True)
class GateThresholds:
    """The gate's thresholds, one pipeline parameter each (`parameter` in a field's metadata).

    Defaults from bench/topic_quality_gate_bench.py (layer-1 settings across the tuning
    ranges; 300 and 2,225 records): BBC's coherence over shuffled topics was 0.29-0.46, word
    salad's -0.02 to 0.05, so 0.1 passes the first and fails the second clearly; BBC's
    diversity was 0.83-0.89 (salad 0.22-0.80), its largest topic held at most 17% of the
    documents, its NMI over shuffled 0.53-0.65. MinLayerCoherenceChange: a layer's change
    (its topics against those it split) was -0.14 to +0.10 over 20 layers of
    bench/topic_layers_bench.py (HPO and Wikipedia, 1,500 documents, both split rules, 3
    seeds), -0.03 on the 300-record BBC sample; -0.15 passes them all and fails a layer that
    clearly made its topics worse. The change agrees only loosely with the labels (a layer
    that lowered NMI by 0.03 had +0.03), so 0 would reject layers on noise.
    QualityThreshold is off by default: absolute NPMI depends on document length more than on
    the topics (600 Python docstrings, short documents, made topics 0.295 above shuffled ones
    at coherence -0.015; BBC's 300-record sample reached 0.081), so a fixed bar would judge the
    corpus, not the model; the comparison with shuffled topics is the label-free bar.
    """

    quality_threshold: float = _threshold("QualityThreshold", NO_ABSOLUTE_BAR, -1.0, 1.0)
    min_coherence_over_shuffled: float = _threshold("MinCoherenceOverShuffled", 0.1, -2.0, 2.0)
    min_topic_diversity: float = _threshold("MinTopicDiversity", 0.5, 0.0, 1.0)
    max_topic_share: float = _threshold("MaxTopicShare", 0.5, 0.0, 1.0)
    min_nmi_over_shuffled: float = _threshold("MinNmiOverShuffled", 0.1, -1.0, 1.0)
    min_layer_coherence_change: float = _threshold("MinLayerCoherenceChange", -0.15, -2.0,
                                                   2.0)

    def __post_init__(self) -> None:
        for item in fields(self):
            value, (low, high) = getattr(self, item.name), item.metadata["range"]
            if not low <= value <= high:
                raise InvalidData(f"{item.metadata['parameter']} must be between {low} and "
                                  f"{high}, got {value}")

    @classmethod
    def parameters(cls) -> dict[str, str]:
        """Field name -> pipeline parameter name."""
        return {item.name: item.metadata["parameter"] for item in fields(cls)}

    def to_json(self) -> dict[str, float]:
        """The thresholds by parameter name, as the report shows them."""
        return {parameter: getattr(self, name) for name, parameter in self.parameters().items()}


@dataclass(frozen=True)
class GateFigures:
    """What the gate reads; None where a figure could not be measured (no layer-1 topic)."""

    topics: int
    documents: int
    coherence: float | None
    shuffled_coherence: float | None
    diversity: float | None
    largest_topic_share: float | None
    empty_layers: int
    nmi: float | None = None           # with labels only
    shuffled_nmi: float | None = None  # with labels only
    # "layer<L>" -> coherence_change, for each layer >= 2 that made topics
    layer_coherence_changes: dict[str, float] = field(default_factory=dict)


def _at_least(name: str, what: str, value: float | None, threshold: float,
              parameter: str) -> Check:
    if value is None:
        return Check(name, False, f"{what} was not measured (no layer-1 topic)")
    passed = value >= threshold
    return Check(name, passed, f"{what} {value:.3f} {'>=' if passed else '<'} {parameter} "
                               f"{threshold:g}")


def _difference(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else first - second


def checks(figures: GateFigures, thresholds: GateThresholds) -> list[Check]:
    result = [
        Check("coherence", True, f"no absolute coherence bar (QualityThreshold "
                                 f"{NO_ABSOLUTE_BAR:g})")
        if thresholds.quality_threshold == NO_ABSOLUTE_BAR else
        _at_least("coherence", "layer-1 coherence", figures.coherence,
                  thresholds.quality_threshold, "QualityThreshold"),
        _at_least("coherence_over_shuffled", "layer-1 coherence over shuffled topics",
                  _difference(figures.coherence, figures.shuffled_coherence),
                  thresholds.min_coherence_over_shuffled, "MinCoherenceOverShuffled"),
        _at_least("diversity", "layer-1 diversity", figures.diversity,
                  thresholds.min_topic_diversity, "MinTopicDiversity")]
    share = figures.largest_topic_share
    if share is None:
        result.append(Check("largest_topic_share", False, "the largest layer-1 topic's share "
                            "was not measured (no layer-1 topic)"))
    else:
        passed = share <= thresholds.max_topic_share
        result.append(Check("largest_topic_share", passed,
                            f"the largest layer-1 topic holds {share:.0%} of the documents, "
                            f"{'within' if passed else 'above'} MaxTopicShare "
                            f"{thresholds.max_topic_share:g}"))
    result.append(Check("empty_layers", figures.empty_layers == 0,
                        f"{figures.empty_layers} empty layer(s)"))
    if figures.nmi is not None:
        result.append(_at_least("nmi_over_shuffled", "layer-1 NMI with the labels over "
                                "shuffled topics", _difference(figures.nmi, figures.shuffled_nmi),
                                thresholds.min_nmi_over_shuffled, "MinNmiOverShuffled"))
    result.append(_layers_not_worse(figures.layer_coherence_changes,
                                    thresholds.min_layer_coherence_change))
    return result


def _layers_not_worse(changes: dict[str, float], threshold: float) -> Check:
    if not changes:
        return Check("layers_not_worse", True, "no layer re-clustered a topic")
    worst = min(changes, key=changes.__getitem__)
    passed = changes[worst] >= threshold
    return Check("layers_not_worse", passed,
                 f"{worst}'s topics' coherence minus the topics they split "
                 f"{changes[worst]:+.3f} {'>=' if passed else '<'} MinLayerCoherenceChange "
                 f"{threshold:g}")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def describe(figures: GateFigures) -> str:
    """The figures in one phrase, for the message."""
    parts = [f"layer-1 coherence {_number(figures.coherence)} (shuffled topics "
             f"{_number(figures.shuffled_coherence)})",
             f"diversity {_number(figures.diversity)}",
             f"{figures.topics} topics over {figures.documents} documents, the largest "
             + ("n/a" if figures.largest_topic_share is None
                else f"{figures.largest_topic_share:.0%}"),
             f"empty layers {figures.empty_layers}"]
    if figures.nmi is not None:
        parts.append(f"NMI {_number(figures.nmi)} (shuffled {_number(figures.shuffled_nmi)})")
    if figures.layer_coherence_changes:
        parts.append("coherence change " + ", ".join(
            f"{name} {change:+.3f}" for name, change in figures.layer_coherence_changes.items()))
    return "; ".join(parts)


def verdict(figures: GateFigures, thresholds: GateThresholds) -> dict[str, Any]:
    """The report's gate section: passed, failed (the number of failed checks), checks,
    thresholds (by parameter name), figures and message (one line)."""
    done = checks(figures, thresholds)
    failed = [c for c in done if not c.passed]
    if failed:
        message = (f"failed {len(failed)} of {len(done)} checks: "
                   + "; ".join(c.text for c in failed) + f". Figures: {describe(figures)}")
    else:
        message = f"passed all {len(done)} checks. Figures: {describe(figures)}"
    return gate_section(done, message, thresholds=thresholds.to_json(), figures=asdict(figures))
