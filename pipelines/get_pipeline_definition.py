"""`get-pipeline-definition`: write a pipeline's definition JSON to a file or stdout."""
from __future__ import annotations

import argparse
import json
import sys

from pipelines.cli_errors import UserError, aws_error_message, aws_setup_message, parse_struct
from pipelines.cli_logging import configure_cli_logging
from pipelines.discovery import build_pipeline, load_pipeline_module
from pipelines.session import session_mode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="get-pipeline-definition", description=__doc__)
    parser.add_argument("-n", "--module-name", required=True)
    parser.add_argument("-kwargs", "--kwargs", default=None,
                        help="get_pipeline keyword arguments, a JSON or Python-literal dict")
    parser.add_argument("-f", "--file-name", default=None, help="output file (default: stdout)")
    parser.add_argument("--offline", action="store_true",
                        help="build without AWS: no network calls, nothing uploaded")
    args = parser.parse_args(argv)
    configure_cli_logging()
    try:
        kwargs = parse_struct(args.kwargs, "--kwargs") or {}
        if not isinstance(kwargs, dict):
            raise UserError(f"--kwargs must be a dict, got {args.kwargs!r}")
        module = load_pipeline_module(args.module_name)
        with session_mode("offline" if args.offline else "aws"):
            definition = json.loads(build_pipeline(module, kwargs).definition())
    except UserError as exc:
        print(f"get-pipeline-definition: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # AWS set-up and service errors are one line; anything else a bug
        setup = aws_setup_message(exc, "--offline builds the definition without AWS")
        message = setup or aws_error_message(exc)
        if message is None:
            raise
        print(f"get-pipeline-definition: {'error' if setup else 'AWS error'}: {message}",
              file=sys.stderr)
        return 2 if setup else 1
    text = json.dumps(definition, indent=2, sort_keys=True) + "\n"
    if args.file_name:
        with open(args.file_name, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
