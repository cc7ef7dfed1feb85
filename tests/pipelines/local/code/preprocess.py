"""Fixture processing job: split `x,y` CSV rows into train and validation files."""
import argparse
import pathlib


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="/opt/ml/processing/input")
    parser.add_argument("--train", default="/opt/ml/processing/train")
    parser.add_argument("--validation", default="/opt/ml/processing/validation")
    parser.add_argument("--run-id", default="")
    args = parser.parse_args()
    rows = []
    for path in sorted(pathlib.Path(args.input).rglob("*.csv")):
        rows += [line for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"no rows under {args.input}")
    pathlib.Path(args.train, "train.csv").write_text("\n".join(rows[::2]) + "\n")
    pathlib.Path(args.validation, "validation.csv").write_text("\n".join(rows[1::2]) + "\n")
    print(f"split {len(rows)} rows (run {args.run_id})")


if __name__ == "__main__":
    main()
