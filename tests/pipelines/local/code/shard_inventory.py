"""Fixture processing job: report which input files this instance got, and its host config.

Each instance writes <output>/<current_host>.json. `--barrier DIR` makes every instance wait
until all of them have started, so it only succeeds when the instances run in parallel.
`--fail-host HOST` makes that instance fail and the others hang (until stopped).
"""
import argparse
import json
import pathlib
import sys
import time


def files(directory: str) -> list[str]:
    root = pathlib.Path(directory)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sharded", required=True)
    parser.add_argument("--replicated", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--barrier", required=True)
    parser.add_argument("--fail-host", default="")
    args = parser.parse_args()
    config = json.loads(pathlib.Path(args.config).read_text())
    barrier = pathlib.Path(args.barrier)
    barrier.mkdir(parents=True, exist_ok=True)
    (barrier / config["current_host"]).touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < len(config["hosts"]):
        if time.monotonic() > deadline:
            sys.exit("barrier timeout: the instances did not run in parallel")
        time.sleep(0.05)
    if config["current_host"] == args.fail_host:
        sys.exit(f"{args.fail_host} cannot read its shard")
    if args.fail_host:
        time.sleep(60)  # the others would finish much later: the runner stops them
    report = {"host": config["current_host"], "hosts": config["hosts"],
              "sharded": files(args.sharded), "replicated": files(args.replicated)}
    pathlib.Path(args.output, f"{config['current_host']}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
