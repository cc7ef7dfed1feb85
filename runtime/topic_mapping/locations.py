"""Where a callback step's documents live: deterministic keys under the execution's prefix.

The keys depend only on (output_prefix, step_name, layer), so a duplicate delivery of the same
message converges on the same objects, and two executions never share one.
"""
from __future__ import annotations

MAPPING_FILE = "mapping.json"
PROPOSAL_FILE = "proposal.json"
REJECTION_FILE = "rejection.json"
MODEL_ARTIFACT_NAME = "model.tar.gz"
OUTPUT_ARCHIVE_NAME = "output.tar.gz"


def step_prefix(output_prefix: str, step_name: str, layer: int) -> str:
    return f"{output_prefix.rstrip('/')}/{step_name}/layer-{layer}"


def mapping_uri(output_prefix: str, step_name: str, layer: int) -> str:
    return f"{step_prefix(output_prefix, step_name, layer)}/{MAPPING_FILE}"


def proposal_uri(output_prefix: str, step_name: str, layer: int) -> str:
    return f"{step_prefix(output_prefix, step_name, layer)}/{PROPOSAL_FILE}"


def rejection_uri(proposal: str) -> str:
    """The rejection record beside a proposal."""
    return f"{proposal.rsplit('/', 1)[0]}/{REJECTION_FILE}"


def summary_archive_uri(model_artifact: str) -> str:
    """SageMaker uploads SM_OUTPUT_DATA_DIR as output.tar.gz beside the job's model.tar.gz."""
    if not model_artifact.endswith("/" + MODEL_ARTIFACT_NAME):
        raise ValueError(f"expected a .../{MODEL_ARTIFACT_NAME} URI, got {model_artifact!r}")
    return model_artifact[: -len(MODEL_ARTIFACT_NAME)] + OUTPUT_ARCHIVE_NAME
