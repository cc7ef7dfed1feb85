"""Rewrite the golden definitions after an intended change:

    python -m tests.pipelines.definition.regenerate_golden
"""
import json
from pathlib import Path

import tests.conftest  # noqa: F401  (offline environment)
from tests.pipelines.definition.helpers import build_definition, normalized

GOLDEN = Path(__file__).parent / "golden"


def main() -> None:
    import pipelines.stacked_ensemble.pipeline as stacked

    GOLDEN.mkdir(exist_ok=True)
    text = json.dumps(normalized(build_definition(stacked)), indent=2, sort_keys=True)
    (GOLDEN / "stacked_ensemble_regression.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
