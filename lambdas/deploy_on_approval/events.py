"""The EventBridge event the rule delivers: "SageMaker Model Package State Change"."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"


class InvalidEvent(ValueError):
    """Not a model package state change, or one without the fields a deploy needs."""


@dataclass(frozen=True)
class PackageStateChange:
    package_arn: str
    group: str
    status: str

    @classmethod
    def parse(cls, event: Any) -> PackageStateChange:
        if not isinstance(event, dict) or event.get("source") != SOURCE \
                or event.get("detail-type") != DETAIL_TYPE:
            raise InvalidEvent(f"expected a {SOURCE} {DETAIL_TYPE!r} event, got source "
                               f"{_get(event, 'source')!r}, detail-type "
                               f"{_get(event, 'detail-type')!r}")
        detail = event.get("detail")
        missing = [k for k in ("ModelPackageArn", "ModelPackageGroupName", "ModelApprovalStatus")
                   if not isinstance(detail, dict) or not isinstance(detail.get(k), str)]
        if missing:
            raise InvalidEvent(f"the event's detail lacks {', '.join(missing)}")
        return cls(detail["ModelPackageArn"], detail["ModelPackageGroupName"],
                   detail["ModelApprovalStatus"])


def _get(event: Any, key: str) -> Any:
    return event.get(key) if isinstance(event, dict) else type(event).__name__
