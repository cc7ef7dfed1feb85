"""`multi-model-policy`: print the IAM policy that lets a caller invoke only some segments'
models on a multi-model endpoint (runtime/deployment/invoke_policy.py builds it).

    multi-model-policy --endpoint-arn arn:aws:sagemaker:us-east-1:111122223333:endpoint/house-prices \
        --segments "New York,Chicago"
"""
from __future__ import annotations

import argparse
import json
import sys

from runtime.deployment.invoke_policy import target_model_policy
from steps.common.arguments import comma_list


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multi-model-policy",
        description="Print an IAM policy that allows invoking only the given segments' models.")
    parser.add_argument("--endpoint-arn", required=True)
    parser.add_argument("--segments", required=True, type=comma_list,
                        help="comma-separated segment names or ids, e.g. 'New York,Chicago'")
    parser.add_argument("--no-deny-others", dest="deny_others", action="store_false",
                        help="leave out the Deny statement (rely on implicit deny only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        policy = target_model_policy(args.endpoint_arn, args.segments,
                                     deny_others=args.deny_others)
    except ValueError as error:
        parser.error(str(error))
    json.dump(policy, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
