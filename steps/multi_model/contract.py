"""Keys shared by the multi-model pipeline definition and its step scripts.

One model per segment (a city, say). A segment's display name ("New York") becomes a safe id
("new-york") used in every path, artifact name, step name and IAM pattern; the metric regexes,
file names and evaluation JSON paths are defined once here, so `pipelines.multi_model` and the
scripts under `steps/multi_model/` cannot drift apart.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# --- segments -------------------------------------------------------------------------------
DEFAULT_SEGMENT_COLUMN = "city"
DEFAULT_TARGET_COLUMN = "price"
# 40 keeps "<group prefix of up to 22>-<id>" within SageMaker's 63-character names.
SEGMENT_ID_MAX = 40
_SEGMENT_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def segment_id(name: str) -> str:
    """A segment name as a safe id: 'New York' -> 'new-york', 'São Paulo' -> 'sao-paulo'.

    Accents are folded, runs of anything but [a-z0-9] become one '-'; raises ValueError when
    nothing is left or the id is longer than SEGMENT_ID_MAX.
    """
    folded = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    ident = _SEPARATORS.sub("-", folded.lower()).strip("-")
    if not ident:
        raise ValueError(f"segment name {name!r} has no letters or digits to build an id from")
    if len(ident) > SEGMENT_ID_MAX:
        raise ValueError(f"segment name {name!r} gives the id {ident!r} of {len(ident)} "
                         f"characters; at most {SEGMENT_ID_MAX} are allowed: shorten the name")
    return ident


def is_segment_id(text: str) -> bool:
    return bool(_SEGMENT_ID.fullmatch(text)) and len(text) <= SEGMENT_ID_MAX


def segment_ids(names: Iterable[str]) -> dict[str, str]:
    """{name: id} for distinct names, in order; ValueError if two names (or their step names)
    share an id, e.g. 'New York' and 'new_york'."""
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in names:
        if name in out:
            continue
        ident = segment_id(name)
        pascal = pascal_case(ident)
        if pascal in owner:
            raise ValueError(f"segment names {owner[pascal]!r} and {name!r} give the same id "
                             f"{ident!r} (or step name suffix {pascal!r}); rename one of them")
        owner[pascal] = name
        out[name] = ident
    return out


def pascal_case(ident: str) -> str:
    """'new-york' -> 'NewYork': the suffix of a segment's step names ('TrainNewYork')."""
    return "".join(part[:1].upper() + part[1:] for part in ident.split("-"))


def segment_step_name(action: str, ident: str) -> str:
    """'Train', 'new-york' -> 'TrainNewYork' (PascalCase, at most 64 characters)."""
    name = action + pascal_case(ident)
    if len(name) > 64:
        raise ValueError(f"step name {name!r} is longer than 64 characters; shorten the action")
    return name


MAX_CONTAINER_ARGUMENT = 256  # CreateProcessingJob's limit on one ContainerArguments entry


def segments_arguments(names: Iterable[str]) -> list[str]:
    """The preprocess script's --segments values: one container argument per name.

    One argument each, because the API limits every container argument to 256 characters (a
    comma-joined list of a dozen city names already exceeds it); names may not contain a
    comma, which the script also accepts as a separator."""
    names = list(names)
    bad = [n for n in names if "," in n or not n.strip()]
    if bad:
        raise ValueError(f"segment names {bad} are empty or contain a comma; --segments also "
                         f"splits its values at commas")
    long = [n for n in names if len(n) > MAX_CONTAINER_ARGUMENT]
    if long:
        raise ValueError(f"segment names {long} are longer than {MAX_CONTAINER_ARGUMENT} "
                         "characters, SageMaker's limit on a container argument")
    return names


# --- preprocess output (ONE processing output, one prefix per segment) ---------------------
SEGMENTS_OUTPUT = "segments"           # the processing output's name
SEGMENTS_MANIFEST = "segments.json"    # <output>/segments.json: every segment, its id and rows
TRAIN_FILE = "train.csv"               # <output>/<id>/train.csv (header; target first)
VALIDATION_FILE = "validation.csv"
TEST_FILE = "test.csv"
SPLIT_FILES = {"train": TRAIN_FILE, "validation": VALIDATION_FILE, "test": TEST_FILE}
PREPROCESSOR_FILE = "preprocessor.joblib"  # the fitted scikit-learn ColumnTransformer
SEGMENT_FILE = "segment.json"          # name, id, target, features (kinds, categories), rows


def segment_prefix(ident: str) -> str:
    """'new-york/': a segment's folder under the segments output. Join it to the output's
    S3 URI WITH the trailing slash: 's3://.../segments/new-york' also matches 'new-york-city'."""
    return f"{ident}/"


# --- training channel and model directory --------------------------------------------------
SEGMENT_CHANNEL = "segment"            # SM_CHANNEL_SEGMENT: the segment's folder above
MODEL_FILE = "xgboost-model.json"      # XGBoost booster, best iteration only
MODEL_METADATA = "metadata.json"       # segment, target, features, metrics, hyperparameters...
HANDLER_FILE = "serving.json"          # {"handler": INFERENCE_HANDLER}; steps.serve reads it
INFERENCE_HANDLER = "steps.multi_model.inference"
METRICS_FILE = "metrics.json"          # in SM_OUTPUT_DATA_DIR (output.tar.gz)

# --- metric lines -------------------------------------------------------------------------
# Training prints "<split>-<metric>:<value>;" for split train|validation and metric
# rmse|mae|r2, plus "best-iteration:<n>;", e.g. "validation-rmse:41234.500000;".
METRIC_LINE = "{name}:{value:.6f};"
METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = {"rmse": True, "mae": True, "r2": False}
OBJECTIVE_METRIC = "validation:rmse"
BEST_ITERATION = "best-iteration"


def metric_line_name(split: str, metric: str) -> str:
    return f"{split}-{metric}"


def metric_definitions() -> list[dict[str, str]]:
    """SageMaker MetricDefinitions for every line training prints ('validation:rmse', ...)."""
    out = [{"Name": f"{split}:{metric}",
            "Regex": re.escape(metric_line_name(split, metric)) + r":(.*?);"}
           for split in ("validation", "train") for metric in METRICS]
    out.append({"Name": "best_iteration", "Regex": re.escape(BEST_ITERATION) + r":(.*?);"})
    return out


# --- evaluation report (one per segment; PropertyFile) --------------------------------------
EVALUATION_OUTPUT = "evaluation"
EVALUATION_REPORT = "evaluation.json"
METRICS_SECTION = "regression_metrics"
QUALITY_METRIC = "rmse"


def evaluation_property_file(ident: str) -> str:
    """The PropertyFile name of a segment's report: 'EvaluationReportNewYork'."""
    return "EvaluationReport" + pascal_case(ident)


def metric_json_path(metric: str = QUALITY_METRIC) -> str:
    """JSON path in a segment's evaluation.json: 'regression_metrics.rmse.value'."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    return f"{METRICS_SECTION}.{metric}.value"


# --- artifacts and model package groups -----------------------------------------------------
ARTIFACT_SUFFIX = ".tar.gz"
_ARTIFACT = re.compile(r"(?P<segment>[a-z0-9]+(?:-[a-z0-9]+)*)/v(?P<version>[1-9][0-9]*)\.tar\.gz")


def artifact_key(ident: str, version: int) -> str:
    """'new-york', 3 -> 'new-york/v3.tar.gz': the staged name and the TargetModel to invoke.
    Never overwrite a served name: publish the next version instead."""
    if not is_segment_id(ident):
        raise ValueError(f"{ident!r} is not a segment id; build one with segment_id(name)")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"artifact version must be an integer >= 1, got {version!r}")
    return f"{ident}/v{version}{ARTIFACT_SUFFIX}"


def parse_artifact_key(key: str) -> tuple[str, int]:
    """'new-york/v3.tar.gz' -> ('new-york', 3); ValueError for any other shape."""
    match = _ARTIFACT.fullmatch(key)
    if not match or len(match["segment"]) > SEGMENT_ID_MAX:
        raise ValueError(f"{key!r} is not an artifact name like 'new-york/v3.tar.gz'")
    return match["segment"], int(match["version"])


def target_model_pattern(ident: str) -> str:
    """IAM StringLike pattern for every version of a segment: 'new-york/v*.tar.gz'."""
    if not is_segment_id(ident):
        raise ValueError(f"{ident!r} is not a segment id; build one with segment_id(name)")
    return f"{ident}/v*{ARTIFACT_SUFFIX}"


def model_package_group_name(base: str, ident: str) -> str:
    """'HousePrices', 'new-york' -> 'HousePrices-new-york' (SageMaker: at most 63 characters,
    letters, digits and single hyphens)."""
    name = f"{base}-{ident}"
    if len(name) > 63 or not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", name):
        raise ValueError(f"model package group name {name!r} is invalid: at most 63 letters, "
                         f"digits and hyphens; shorten the base name {base!r}")
    return name
