"""Constants, events and layer summaries shared by the mapping callback tests."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "events"
BUCKET = "topics-bucket"
REGION = "us-east-1"
EXECUTION_ARN = ("arn:aws:sagemaker:us-east-1:111122223333:pipeline/sequential-topics/"
                 "execution/abc123def456")
OUTPUT_PREFIX = f"s3://{BUCKET}/sequential-topics/executions/abc123def456"
ARTIFACT_1 = f"s3://{BUCKET}/sequential-topics/jobs/layer-1-abc123def456/output/model.tar.gz"
ARTIFACT_2 = f"s3://{BUCKET}/sequential-topics/jobs/layer-2-abc123def456/output/model.tar.gz"
OVERRIDES = f"s3://{BUCKET}/sequential-topics/overrides.json"
MAPPING_1 = f"{OUTPUT_PREFIX}/MapLayer1/layer-1/mapping.json"
MAPPING_2 = f"{OUTPUT_PREFIX}/MapLayer2/layer-2/mapping.json"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def keywords(*words: str) -> list[dict]:
    return [{"word": w, "weight": round(1 - 0.1 * i, 2)} for i, w in enumerate(words)]


def layer1_summary() -> dict:
    """200 documents: one broad topic that splits in two, one tight large one, two
    near-duplicates, one small; topics of 40 documents or more were searched for splits."""
    return {"schema_version": 1, "layer": 1, "total_documents": 200, "outliers": 10,
            "split_search": {"min_documents": 40, "max_subtopics": 6}, "topics": [
        {"topic": 0, "size": 80, "dispersion": 0.62, "representative_docs": ["Arsenal won."],
         "keywords": keywords("football", "club", "league", "goal", "season", "player"),
         "split_silhouettes": {"2": 0.21, "3": 0.12, "4": 0.08}},
        {"topic": 1, "size": 50, "dispersion": 0.30, "representative_docs": ["Labour won."],
         "keywords": keywords("election", "labour", "party", "vote", "minister"),
         "split_silhouettes": {"2": 0.02}},
        {"topic": 2, "size": 25, "dispersion": 0.45, "representative_docs": [],
         "keywords": keywords("film", "award", "actor", "oscar", "director")},
        {"topic": 3, "size": 20, "dispersion": 0.35, "representative_docs": [],
         "keywords": keywords("film", "award", "actor", "oscar", "festival")},
        {"topic": 4, "size": 15, "dispersion": 0.40, "representative_docs": [],
         "keywords": keywords("phone", "mobile", "software", "users", "broadband")},
    ]}


def layer2_summary() -> dict:
    """The 80 documents of topic 1:0 re-clustered into two tight topics."""
    return {"schema_version": 1, "layer": 2, "total_documents": 80, "outliers": 0, "topics": [
        {"topic": 0, "size": 45, "dispersion": 0.35, "parent": "1:0",
         "keywords": keywords("football", "premiership", "arsenal", "chelsea", "goal")},
        {"topic": 1, "size": 35, "dispersion": 0.30, "parent": "1:0",
         "keywords": keywords("rugby", "england", "wales", "six nations", "try")},
    ]}


def output_archive(summary: dict | None, extra: dict[str, bytes] | None = None) -> bytes:
    """An output.tar.gz as SageMaker packs SM_OUTPUT_DATA_DIR (members under ./)."""
    buffer = io.BytesIO()
    files = dict(extra or {})
    if summary is not None:
        files["topic_summary.json"] = json.dumps(summary).encode()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def summary_uri(model_artifact: str) -> str:
    return model_artifact.replace("/model.tar.gz", "/output.tar.gz")


def throttle(s3_client, key: str) -> None:
    """Make GetObject on one key answer 503 SlowDown, as S3 does under load; others reach moto."""
    def slow_down(params, **_):
        if params.get("url_path", "").endswith("/" + key) or key in params.get("url", ""):
            response = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request "
                                  "rate."}, "ResponseMetadata": {"HTTPStatusCode": 503}}
            return _Http503(), response
        return None

    s3_client.meta.events.register("before-call.s3.GetObject", slow_down)


class _Http503:
    status_code = 503
    headers: dict = {}
    content = b""
