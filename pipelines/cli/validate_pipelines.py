"""`validate-pipelines`: build every pipeline (or the named ones) offline and check its
definition (pipelines/definition_checks.py); exit 1 when any has a problem, 2 for a bad name."""
from __future__ import annotations

import json
import sys

from pipelines.cli.logs import configure_cli_logging
from pipelines.definition_checks import check_definition
from pipelines.discovery import available_pipeline_modules, load_pipeline_module
from pipelines.session import session_mode
from runtime.errors import UserError


def main(argv: list[str] | None = None) -> int:
    """`validate-pipelines`: build every pipeline offline and check its definition."""

    configure_cli_logging()
    modules = (sys.argv[1:] if argv is None else argv) or available_pipeline_modules()
    failed = 0
    for name in modules:
        try:
            module = load_pipeline_module(name)
        except UserError as exc:
            print(f"validate-pipelines: error: {exc}", file=sys.stderr)
            return 2
        with session_mode("offline"):
            definition = json.loads(module.get_pipeline().definition())
        problems = check_definition(definition)
        failed += bool(problems)
        print(f"{name}: {len(definition['Steps'])} steps, "
              + ("OK" if not problems else f"{len(problems)} problem(s)"))
        for problem in problems:
            print(f"  {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
