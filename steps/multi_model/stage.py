"""Processing job, one per accepted segment: stage its artifact under a new versioned name.

The training job's model.tar.gz (preprocessor + model) is copied to
`<staging prefix>/<segment id>/v<N>.tar.gz`, where N is the execution's start time as
YYYYMMDDHHMMSS: increasing, unique per execution, and never a name already served (publishing
to the live multi-model prefix happens only after approval, by `deploy-model`). The job also
writes staged.json, which the definition reads (PropertyFile) as the registered ModelDataUrl:

    {"segment_id": "new-york", "version": 20261123072001,
     "artifact_uri": "s3://.../staging/new-york/v20261123072001.tar.gz"}
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path

from steps.common.atomic import write_bytes_atomic
from steps.common.cli import StepArgumentParser, run_step
from steps.common.errors import InvalidData
from steps.common.files import write_json_atomic
from steps.multi_model import contract

logger = logging.getLogger(__name__)
MODEL_ARCHIVE = "model.tar.gz"
STAGED_MANIFEST = "staged.json"


def version_from_start(start: str) -> int:
    """'2026-11-23T07:20:01.123Z' -> 20261123072001."""
    try:
        moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidData(f"--execution-start {start!r} is not an ISO date-time; pass "
                          "ExecutionVariables.START_DATETIME") from None
    return int(moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S"))


def stage(model_dir: Path, segment: str, version: int, staging_uri: str,
          output_dir: Path, manifest_dir: Path) -> dict:
    archive = model_dir / MODEL_ARCHIVE
    if not archive.is_file():
        raise InvalidData(f"{model_dir} holds no {MODEL_ARCHIVE}: pass the training job's "
                          "ModelArtifacts.S3ModelArtifacts")
    key = contract.artifact_key(segment, version)
    write_bytes_atomic(output_dir / key, archive.read_bytes())
    staged = {"segment_id": segment, "version": version,
              "artifact_uri": f"{staging_uri.rstrip('/')}/{key}"}
    write_json_atomic(manifest_dir / STAGED_MANIFEST, staged)
    logger.info("staged %s as %s", segment, staged["artifact_uri"])
    return staged


def build_parser() -> argparse.ArgumentParser:
    parser = StepArgumentParser(prog="stage.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/input/model")
    parser.add_argument("--segment-id", required=True)
    parser.add_argument("--execution-start", required=True)
    parser.add_argument("--staging-uri", required=True,
                        help="the S3 prefix the staging output uploads to")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output/staging")
    parser.add_argument("--manifest-dir", default="/opt/ml/processing/output/manifest")
    return parser


def run(args: argparse.Namespace) -> None:
    if not contract.is_segment_id(args.segment_id):
        raise InvalidData(f"--segment-id {args.segment_id!r} is not a segment id like "
                          "'new-york'")
    stage(Path(args.model_dir), args.segment_id, version_from_start(args.execution_start),
          args.staging_uri, Path(args.output_dir), Path(args.manifest_dir))


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
