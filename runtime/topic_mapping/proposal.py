"""The review-mode proposal: what the Lambda leaves for a person instead of answering the step.

It carries the callback token and where the accepted mapping must go, so `mapping-review
accept` can finish the step from any machine that can reach the object store.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from steps.sequential_topics.mapping_schema import SCHEMA_VERSION, MappingDocument


class Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    token: str
    execution_arn: str
    step_name: str
    layer: int = Field(ge=1)
    mapping_uri: str = Field(description="where the accepted mapping is written")
    inputs: dict[str, str] = Field(description="the objects the proposal was computed from")
    mapping: MappingDocument


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    reason: str = Field(min_length=1)
