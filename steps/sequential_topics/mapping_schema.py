"""The documents that pass between topic layers: layer summary, topic mapping, overrides.

One module, imported by the layer training script (writes `topic_summary.json`), the callback
Lambda (reads it, writes the mapping), `mapping-review` and the inference handler (read the
mapping). It depends on the standard library and pydantic only. `mapping_schema.json` next to
this file is generated from these models:

    python -m steps.sequential_topics.mapping_schema            # rewrite the JSON schema
    python -m steps.sequential_topics.mapping_schema --check    # exit 1 if it is stale

Topic ids are strings `"<layer>:<topic>"` (`"1:4"` is topic 4 of layer 1), unique across layers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCHEMA_VERSION = 1
TOPIC_SUMMARY_FILE = "topic_summary.json"
JSON_SCHEMA_FILE = Path(__file__).with_name("mapping_schema.json")

# The CallbackStep's arguments and outputs (all strings): the pipeline definition and the
# Lambda both import these names.
CALLBACK_ARGUMENTS = ("step_name", "layer", "model_artifact", "previous_mapping", "overrides",
                      "output_prefix", "review_mode")
OUTPUT_MAPPING_URI = "mapping_uri"
OUTPUT_TOPICS = "topics"
OUTPUT_RECLUSTER_COUNT = "recluster_count"
CALLBACK_OUTPUTS = (OUTPUT_MAPPING_URI, OUTPUT_TOPICS, OUTPUT_RECLUSTER_COUNT)

TopicId = Annotated[str, Field(pattern=r"^[1-9][0-9]*:[0-9]+$",
                               description="'<layer>:<topic>', e.g. '1:4'")]
Action = Literal["keep", "split", "merge"]


class SchemaError(ValueError):
    """A document does not match its schema; the message is one line naming the field."""


def topic_id(layer: int, topic: int) -> str:
    return f"{layer}:{topic}"


def layer_of(tid: str) -> int:
    return int(tid.split(":", 1)[0])


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- topic_summary.json: written by each layer's training job --------------------------------

class Keyword(_Document):
    word: str = Field(min_length=1)
    weight: float = Field(ge=0, description="c-TF-IDF weight; higher is more characteristic")


class SummaryTopic(_Document):
    topic: int = Field(ge=0, description="the layer model's topic number")
    size: int = Field(ge=1, description="documents assigned to the topic")
    keywords: list[Keyword] = Field(min_length=1, description="most characteristic first")
    representative_docs: list[str] = Field(default_factory=list)
    dispersion: float = Field(
        ge=0, description="mean cosine distance of the topic's document embeddings to their "
                          "centroid: 0 for identical documents, higher for broader topics")
    parent: TopicId | None = Field(
        default=None, description="for layer >= 2: the previous layer's topic re-clustered")
    split_silhouettes: dict[Annotated[int, Field(ge=2)], Annotated[float, Field(ge=-1, le=1)]] = \
        Field(default_factory=dict,
              description="sub-topic count k -> cosine silhouette, in the document embeddings, "
                          "of the k sub-topics the next layer's sub-model would make of this "
                          "topic (subtopic_search); empty when it was not searched")


class SplitSearch(_Document):
    """Which topics the layer's job searched for sub-topics (subtopic_search)."""

    min_documents: int = Field(ge=2, description="topics with fewer documents were not searched")
    max_subtopics: int = Field(ge=2, description="the largest sub-topic count tried")


class TopicSummary(_Document):
    """What one layer's model found; the training job writes it to SM_OUTPUT_DATA_DIR."""

    schema_version: Literal[1] = SCHEMA_VERSION
    layer: int = Field(ge=1)
    total_documents: int = Field(ge=0, description="documents this layer clustered")
    outliers: int = Field(default=0, ge=0, description="documents assigned to no topic")
    topics: list[SummaryTopic]
    split_search: SplitSearch | None = Field(
        default=None, description="None when the layer searched no split (the last layer)")

    @model_validator(mode="after")
    def _consistent(self) -> TopicSummary:
        numbers = [t.topic for t in self.topics]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"topic numbers repeat: {sorted(numbers)}")
        counted = sum(t.size for t in self.topics) + self.outliers
        if counted != self.total_documents:
            raise ValueError(f"topic sizes plus outliers add up to {counted}, but "
                             f"total_documents is {self.total_documents}")
        for t in self.topics:
            if self.layer == 1 and t.parent is not None:
                raise ValueError(f"layer 1 topic {t.topic} has a parent; only layers >= 2 do")
            if self.layer > 1 and (t.parent is None or layer_of(t.parent) != self.layer - 1):
                raise ValueError(f"layer {self.layer} topic {t.topic} needs a parent topic of "
                                 f"layer {self.layer - 1}, got {t.parent!r}")
        return self


# --- the mapping: written by the callback Lambda or mapping-review ---------------------------

class TopicEntry(_Document):
    id: TopicId
    label: str = Field(min_length=1, max_length=200)
    keywords: list[str]
    size: int = Field(ge=1)
    parent: TopicId | None = None
    action: Action = Field(description="keep: final topic; split: the next layer re-clusters "
                                       "it; merge: its documents belong to merge_into")
    merge_into: TopicId | None = None
    renamed_from: str | None = Field(default=None,
                                     description="the automatic label a person replaced")
    dispersion: float | None = Field(default=None, ge=0, description="from the layer summary")
    breadth: float | None = Field(
        default=None, ge=0, description="dispersion / the median dispersion of the layer's "
                                        "topics: above 1, broader than the layer's typical topic")
    split_silhouette: float | None = Field(
        default=None, ge=-1, le=1, description="the best split's silhouette (None: not searched)")
    subtopics: int | None = Field(
        default=None, ge=2, description="action split: the sub-topics the next layer makes of "
                                        "it (None: the next layer's automatic count); ignored "
                                        "for other actions")
    reason: str | None = Field(default=None, max_length=1000,
                               description="why the action was chosen, with the figures")


class MappingDocument(_Document):
    """Every topic of layers 1..layer with its label and action, and what to re-cluster next."""

    schema_version: Literal[1] = SCHEMA_VERSION
    layer: int = Field(ge=1, description="the last layer this mapping covers")
    topics: list[TopicEntry]
    recluster: list[TopicId] = Field(
        description="the topics of `layer` with action split, for the next layer")
    reviewed: bool = Field(default=False, description="accepted by a person in mapping-review")

    @model_validator(mode="after")
    def _consistent(self) -> MappingDocument:
        by_id = {t.id: t for t in self.topics}
        if len(by_id) != len(self.topics):
            raise ValueError("topic ids repeat")
        for t in self.topics:
            _check_entry(t, by_id, self.layer)
        splits = [t.id for t in self.topics if layer_of(t.id) == self.layer and t.action == "split"]
        if sorted(self.recluster) != sorted(splits):
            raise ValueError(f"recluster lists {sorted(self.recluster)} but the layer "
                             f"{self.layer} topics with action 'split' are {sorted(splits)}: "
                             "make them match")
        return self


def _check_entry(t: TopicEntry, by_id: dict[str, TopicEntry], last_layer: int) -> None:
    layer = layer_of(t.id)
    if layer > last_layer:
        raise ValueError(f"topic {t.id} belongs to layer {layer}, after the mapping's layer "
                         f"{last_layer}")
    if layer == 1 and t.parent is not None:
        raise ValueError(f"topic {t.id} is in layer 1 and cannot have a parent")
    if layer > 1:
        parent = by_id.get(t.parent or "")
        if parent is None or layer_of(parent.id) != layer - 1 or parent.action != "split":
            raise ValueError(f"topic {t.id} needs a parent of layer {layer - 1} with action "
                             f"'split', got {t.parent!r}")
    if t.action != "merge":
        if t.merge_into is not None:
            raise ValueError(f"topic {t.id} has merge_into but its action is {t.action!r}: set "
                             "action to 'merge' or remove merge_into")
        return
    target = by_id.get(t.merge_into or "")
    if target is None or target.id == t.id:
        raise ValueError(f"topic {t.id} has action 'merge' but merge_into {t.merge_into!r} is "
                         "not another topic of the mapping")
    if layer_of(target.id) != layer or target.parent != t.parent or target.action != "keep":
        raise ValueError(f"topic {t.id} merges into {target.id}, which must be a topic of the "
                         "same layer and parent with action 'keep'")


# --- overrides: a person's corrections, always applied over the automatic proposal -----------

class MappingRules(_Document):
    """The automatic proposal's rule and thresholds (see runtime.topic_mapping.mapping_update)."""

    split_rule: Literal["breadth", "size"] = Field(
        default="breadth",
        description="breadth: split a topic at least min_breadth broad whose best sub-topic "
                    "split reaches min_split_silhouette, into that split's count; size: the "
                    "earlier rule, split a topic with at least broad_share of the documents "
                    "and at least broad_dispersion, into the next layer's automatic count")
    min_breadth: float = Field(default=1.0, gt=0,
                               description="breadth rule: dispersion / the layer's median")
    min_split_silhouette: float = Field(
        default=0.1, ge=-1, le=1,
        description="breadth rule: a split whose silhouette stays below this does not beat "
                    "keeping the topic whole (0.1: bench/topic_layers_bench.py)")
    broad_share: float | None = Field(
        default=None, gt=0, le=1,
        description="size rule: a topic holding at least this share of the layer's documents "
                    "... (default: broad_share_factor times the layer's mean topic share)")
    broad_share_factor: float = Field(
        default=1.5, gt=0, description="size rule: used when broad_share is not set")
    broad_dispersion: float | None = Field(
        default=None, ge=0,
        description="size rule: ... and at least this dispersion is split (default: the "
                    "layer's median topic dispersion)")
    merge_overlap: float = Field(default=0.6, gt=0, le=1,
                                 description="keep topics of one parent whose top keywords "
                                             "overlap this much (Jaccard) are merged")
    label_words: int = Field(default=3, ge=1, le=10, description="keywords in a label")


class TopicOverride(_Document):
    label: str | None = Field(default=None, min_length=1, max_length=200)
    action: Action | None = None
    merge_into: TopicId | None = Field(default=None, description="implies action 'merge'")
    subtopics: int | None = Field(default=None, ge=2, le=50,
                                  description="implies action 'split', into this many")


class MappingOverrides(_Document):
    """The MappingOverridesUrl file: rules and per-topic corrections, keyed by topic id."""

    schema_version: Literal[1] = SCHEMA_VERSION
    rules: MappingRules = MappingRules()
    topics: dict[TopicId, TopicOverride] = Field(default_factory=dict)


# --- loading, dumping and the generated JSON schema ------------------------------------------

Doc = TypeVar("Doc", bound=BaseModel)


def load_document(model: type[Doc], data: bytes | str, source: str) -> Doc:
    """Parse and validate JSON; raise SchemaError with a one-line reason naming `source`."""
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise SchemaError(f"{source} is not a valid {model.__name__}: "
                          f"{describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """pydantic's errors as one line: `field.path: message; ...`."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "document"
        message = error["msg"]
        if error["type"] == "value_error":  # our validators: their message, without a prefix
            message = str(error.get("ctx", {}).get("error", message))
        elif error["type"] == "json_invalid":
            message = f"not JSON ({error.get('ctx', {}).get('error', 'parse error')})"
        parts.append(f"{_cut(where, 80)}: {_cut(message, 200)}")  # both may quote the input
    extra = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{extra} more)" if extra > 0 else "")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dump_document(document: BaseModel) -> bytes:
    """Deterministic JSON bytes: the same document always gives the same object content."""
    return (document.model_dump_json(indent=2) + "\n").encode("utf-8")


def json_schema() -> dict:
    """One JSON schema whose `$defs` hold TopicSummary, MappingDocument and MappingOverrides."""
    from pydantic.json_schema import models_json_schema

    _, schema = models_json_schema(
        [(TopicSummary, "validation"), (MappingDocument, "validation"),
         (MappingOverrides, "validation")],
        title="Sequential topic pipeline: layer summary, mapping and overrides")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_json_schema() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate mapping_schema.json from the models.")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the file differs from the models")
    args = parser.parse_args(argv)
    text = render_json_schema()
    current = JSON_SCHEMA_FILE.read_text(encoding="utf-8") if JSON_SCHEMA_FILE.exists() else ""
    if args.check:
        if current != text:
            print(f"{JSON_SCHEMA_FILE} is stale: run python -m "
                  "steps.sequential_topics.mapping_schema", file=sys.stderr)
            return 1
        return 0
    tmp = JSON_SCHEMA_FILE.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(JSON_SCHEMA_FILE)
    print(f"wrote {JSON_SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
