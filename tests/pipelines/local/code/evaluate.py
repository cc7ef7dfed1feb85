"""Fixture evaluation job: read model.tar.gz, write evaluation.json for a PropertyFile."""
import argparse
import json
import pathlib
import tarfile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="/opt/ml/processing/model")
    parser.add_argument("--output", default="/opt/ml/processing/evaluation")
    parser.add_argument("--rmse-offset", type=float, default=0.0)
    args = parser.parse_args()
    with tarfile.open(pathlib.Path(args.model, "model.tar.gz")) as archive:
        model = json.load(archive.extractfile("model.json"))
    report = {"regression_metrics": {"rmse": {"value": model["rmse"] + args.rmse_offset}},
              "slopes": [model["slope"]]}
    pathlib.Path(args.output, "evaluation.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
