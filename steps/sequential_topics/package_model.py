"""Processing job: the registered model.tar.gz from the layer models and the final mapping.

Arguments (processing paths): --model (repeatable; a layer model directory or a folder with
its model.tar.gz; the last layer's model alone suffices, it holds the earlier layers),
--mapping (folder or file of the final mapping JSON), --preprocessing (preprocess's report
folder or its preprocessing.json), --representations (embed's LSA output folder) and
--output-dir, which receives model.tar.gz (layout in model_package).
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from steps.common.cli import StepArgumentParser, run_step
from steps.sequential_topics.model_package import assemble_model_dir, write_model_archive

logger = logging.getLogger(__name__)
ARCHIVE_NAME = "model.tar.gz"


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="package_model.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=None,
                        help="layer model (repeatable); default /opt/ml/processing/input/model")
    parser.add_argument("--mapping", default="/opt/ml/processing/input/mapping")
    parser.add_argument("--preprocessing", default="/opt/ml/processing/input/preprocessing")
    parser.add_argument("--representations", default="/opt/ml/processing/input/representations")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output")
    return parser


def run(args: Any) -> Path:
    models = [Path(m) for m in (args.model or ["/opt/ml/processing/input/model"])]
    representations = Path(args.representations)
    with tempfile.TemporaryDirectory(prefix="served-model-") as work:
        model_dir = assemble_model_dir(models, Path(args.mapping), Path(work) / "model",
                                       Path(args.preprocessing),
                                       representations if representations.exists() else None)
        archive = write_model_archive(model_dir, Path(args.output_dir) / ARCHIVE_NAME)
    logger.info("wrote %s", archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    return run_step(run, build_parser().parse_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
