"""The image exports the ONNX embedding models at build time into the cache its jobs read."""
from __future__ import annotations

import re
from pathlib import Path

from steps.sequential_topics import contract, onnx_embedding

DOCKERFILE = Path(__file__).resolve().parents[2] / "docker" / "Dockerfile"


def test_the_build_exports_into_the_cache_the_final_stage_copies_and_reads():
    text = DOCKERFILE.read_text()
    build, final = text[:text.rindex("\nFROM ")], text[text.rindex("\nFROM "):]
    cache = re.search(rf"^ENV {onnx_embedding.CACHE_ENV}=(\S+)$", build, re.M)
    assert cache, f"the build stage does not set {onnx_embedding.CACHE_ENV}"
    export = build[cache.end():]
    assert f"load_minilm(backend='{contract.ONNX_INT8}')" in export.replace("\\\n", "")
    assert f"COPY --from=build {cache[1]} {cache[1]}" in final
    assert re.search(rf"^\s+{onnx_embedding.CACHE_ENV}={re.escape(cache[1])} \\$", final, re.M)
