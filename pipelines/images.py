"""Where the project image lives: every job and endpoint runs it (see docker/)."""
from __future__ import annotations

import re

IMAGE_REPOSITORY = "ensemble-model-build"
IMAGE_TAG = "latest"


def account_from_arn(arn: str | None, fallback: str) -> str:
    """The account id inside an ARN such as a role or project ARN."""
    match = re.match(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):", arn or "")
    return match.group(1) if match else fallback


def default_image_uri(region: str, account: str) -> str:
    """The ECR URI that docker/build_and_push publishes to."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{IMAGE_REPOSITORY}:{IMAGE_TAG}"
