"""`validate-pipelines`: check pipeline definitions before they are upserted
(pipelines/definition_checks.py: references, and every job step against the SageMaker API's
request shape). Each target is a module with `get_pipeline` (ours or a template-style one,
built offline as `get-pipeline-definition --offline` builds it) or a definition JSON file;
none checks every pipeline of ours. Exit 1 when any has a problem, 2 for a bad target."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipelines.cli.arguments import dict_argument
from pipelines.cli.logs import configure_cli_logging
from pipelines.cli.outcome import exit_code_for
from pipelines.definition_checks import check_definition
from pipelines.discovery import available_pipeline_modules, load_pipeline_module
from pipelines.local.capture import offline_definition
from runtime.errors import UserError


def load_definition(target: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The definition a target names: a JSON file's content, or a module's offline build."""
    if target.endswith(".json") or Path(target).is_file():
        try:
            definition = json.loads(Path(target).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{target}: not a readable definition JSON file ({exc}); pass a "
                            "file written by get-pipeline-definition, or a module name") from exc
        if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
            raise UserError(f"{target}: not a pipeline definition (no \"Steps\" list); pass a "
                            "file written by get-pipeline-definition, or a module name")
        return definition
    return json.loads(offline_definition(load_pipeline_module(target), kwargs))


def main(argv: list[str] | None = None) -> int:
    """`validate-pipelines [TARGET ...] [--kwargs ...]`: check each definition."""
    parser = argparse.ArgumentParser(prog="validate-pipelines", description=__doc__)
    parser.add_argument("targets", nargs="*", metavar="MODULE_OR_FILE",
                        help="pipeline modules or definition JSON files (default: ours)")
    parser.add_argument("--kwargs", default=None,
                        help="get_pipeline keyword arguments for the modules, a JSON or "
                             "Python-literal dict")
    args = parser.parse_args(argv)
    configure_cli_logging()
    failed = 0
    try:
        kwargs = dict_argument(args.kwargs, "--kwargs")
        for target in args.targets or available_pipeline_modules():
            definition = load_definition(target, kwargs)
            problems = check_definition(definition)
            failed += bool(problems)
            print(f"{target}: {len(definition['Steps'])} steps, "
                  + ("OK" if not problems else f"{len(problems)} problem(s)"))
            for problem in problems:
                print(f"  {problem}")
    except Exception as exc:  # ours and AWS's are one line; anything else is a bug
        return exit_code_for("validate-pipelines", exc, "modules are built offline")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
