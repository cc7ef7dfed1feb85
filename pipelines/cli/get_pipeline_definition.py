"""`get-pipeline-definition`: write a pipeline's definition JSON, or with --graph its step graph
as a Mermaid flowchart (GitHub and Studio notebooks draw it), to a file or stdout."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.cli.arguments import dict_argument
from pipelines.cli.logs import configure_cli_logging
from pipelines.cli.outcome import exit_code_for
from pipelines.discovery import build_pipeline, load_pipeline_module
from pipelines.local.capture import offline_definition
from pipelines.local.mermaid import definition_graph, mermaid_flowchart
from pipelines.session import session_mode
from steps.common.atomic import write_text_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="get-pipeline-definition", description=__doc__)
    parser.add_argument("-n", "--module-name", required=True)
    parser.add_argument("-kwargs", "--kwargs", default=None,
                        help="get_pipeline keyword arguments, a JSON or Python-literal dict")
    parser.add_argument("-f", "--file-name", default=None, help="output file (default: stdout)")
    parser.add_argument("--offline", action="store_true",
                        help="build without AWS: no network calls, nothing uploaded (a "
                             "module's own S3 uploads go to a throwaway local store)")
    parser.add_argument("--graph", action="store_true",
                        help="write the step graph as a Mermaid flowchart instead of the JSON")
    args = parser.parse_args(argv)
    configure_cli_logging()
    try:
        kwargs = dict_argument(args.kwargs, "--kwargs")
        module = load_pipeline_module(args.module_name)
        if args.offline:
            definition = json.loads(offline_definition(module, kwargs))
        else:
            with session_mode("aws"):
                definition = json.loads(build_pipeline(module, kwargs).definition())
        text = (mermaid_flowchart(definition_graph(definition)) if args.graph
                else json.dumps(definition, indent=2, sort_keys=True) + "\n")
    except Exception as exc:  # ours and AWS's are one line; anything else is a bug
        return exit_code_for("get-pipeline-definition", exc,
                             "--offline builds the definition without AWS")
    if args.file_name:
        write_text_atomic(Path(args.file_name), text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
