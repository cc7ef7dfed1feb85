"""Build the job image and push it to ECR: `python docker/build_and_push.py --tag v1 ...`.

Steps: create the ECR repository if it is missing, log Docker in to the registry, build from
the repository root for linux/amd64 (SageMaker's CPU instances), tag and push. `--dry-run`
prints the same steps as shell commands and runs nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = "docker/Dockerfile"
DEFAULT_REPOSITORY = "ensemble-model-build"


@dataclass(frozen=True)
class Step:
    """One command; `unless` skips it when that command succeeds; `stdin_from` pipes into it."""

    argv: tuple[str, ...]
    unless: tuple[str, ...] = ()
    stdin_from: tuple[str, ...] = ()

    def shell(self) -> str:
        line = shlex.join(self.argv)
        if self.stdin_from:
            line = f"{shlex.join(self.stdin_from)} | {line}"
        if self.unless:
            line = f"{shlex.join(self.unless)} >/dev/null 2>&1 || {line}"
        return line


def registry_host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def plan(account: str, region: str, repository: str, tag: str,
         platform: str = "linux/amd64") -> list[Step]:
    """The commands that build `repository:tag` and push it to the account's ECR."""
    local = f"{repository}:{tag}"
    remote = f"{registry_host(account, region)}/{local}"
    return [
        Step(("aws", "ecr", "create-repository", "--repository-name", repository,
              "--region", region, "--image-scanning-configuration", "scanOnPush=true"),
             unless=("aws", "ecr", "describe-repositories", "--repository-names", repository,
                     "--region", region)),
        Step(("docker", "login", "--username", "AWS", "--password-stdin",
              registry_host(account, region)),
             stdin_from=("aws", "ecr", "get-login-password", "--region", region)),
        Step(("docker", "build", "--platform", platform, "-f", DOCKERFILE, "-t", local, ".")),
        Step(("docker", "tag", local, remote)),
        Step(("docker", "push", remote)),
    ]


def run(steps: Sequence[Step], cwd: Path) -> None:
    """Run the steps in order; raise CalledProcessError on the first failure."""
    for step in steps:
        print(f"+ {step.shell()}", flush=True)
        if step.unless and subprocess.run(step.unless, cwd=cwd,
                                          capture_output=True).returncode == 0:
            continue
        stdin = None
        if step.stdin_from:
            stdin = subprocess.run(step.stdin_from, cwd=cwd, check=True,
                                   capture_output=True).stdout
        subprocess.run(step.argv, cwd=cwd, check=True, input=stdin)


def _checked(pattern: str, what: str, example: str):
    def parse(text: str) -> str:
        if not re.fullmatch(pattern, text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} (e.g. {example})")
        return text
    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--account", default=os.environ.get("AWS_ACCOUNT_ID"),
                        type=_checked(r"\d{12}", "a 12-digit AWS account id", "123456789012"),
                        help="AWS account id (default: $AWS_ACCOUNT_ID)")
    parser.add_argument("--region",
                        default=os.environ.get("AWS_REGION") or os.environ.get(
                            "AWS_DEFAULT_REGION"),
                        type=_checked(r"[a-z]{2}(-[a-z]+)+-\d", "an AWS region", "eu-west-1"),
                        help="AWS region (default: $AWS_REGION)")
    parser.add_argument("--repository", default=DEFAULT_REPOSITORY,
                        type=_checked(r"[a-z0-9]+(?:[._/-][a-z0-9]+)*", "an ECR repository name",
                                      DEFAULT_REPOSITORY),
                        help="ECR repository (default: %(default)s)")
    parser.add_argument("--tag", required=True,
                        type=_checked(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "a Docker tag",
                                      "v1.2.0 or a commit id"),
                        help="image tag; use a new one per build (ECR tags may be immutable)")
    parser.add_argument("--platform", default="linux/amd64")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("account", "region"):
        if getattr(args, name) is None:
            parser.error(f"--{name} is required (or set "
                         f"{'AWS_ACCOUNT_ID' if name == 'account' else 'AWS_REGION'})")
    steps = plan(args.account, args.region, args.repository, args.tag, args.platform)
    if args.dry_run:
        print("\n".join(step.shell() for step in steps))
        return 0
    missing = [tool for tool in ("aws", "docker") if shutil.which(tool) is None]
    if missing:
        print(f"build_and_push: error: {' and '.join(missing)} not found on PATH",
              file=sys.stderr)
        return 2
    try:
        run(steps, REPO)
    except subprocess.CalledProcessError as exc:
        print(f"build_and_push: error: `{shlex.join(exc.cmd)}` exited {exc.returncode}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
