"""ShardedByS3Key: which input objects each instance of a multi-instance job receives.

SageMaker documents only that with n instances "each instance gets approximately 1/n of the
number of S3 objects", disjoint and together complete. Locally the objects under the prefix
are sorted by key and dealt round-robin: instance i (algo-(i+1)) gets objects i, i+n, i+2n...
Scripts must not depend on which objects land where, only on getting a disjoint share.
"""
from __future__ import annotations

SHARDED = "ShardedByS3Key"


def host_names(count: int) -> list[str]:
    return [f"algo-{i + 1}" for i in range(count)]


def shard(object_uris: list[str], count: int, index: int) -> list[str]:
    """Instance `index`'s share (0-based) of the objects among `count` instances."""
    if not 0 <= index < count:
        raise ValueError(f"instance index {index} out of range for {count} instances")
    return sorted(object_uris)[index::count]
