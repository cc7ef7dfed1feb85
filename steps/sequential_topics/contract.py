"""Keys shared by the sequential topic pipeline definition and its step scripts.

File names, column names, metric lines and evaluation JSON paths are defined once here;
`pipelines.sequential_topics.pipeline` and the scripts under `steps/sequential_topics/` import
this module (it depends on the standard library only), so the two sides cannot drift apart.
"""
from __future__ import annotations

import re

from steps.common import gate

# --- the cleaned corpus (merge_corpus.py, or preprocess.py on one host -> parts/part-00000.csv ...) ---
ID_COLUMN = "id"              # every cleaned part has: id, document[, label]
DOCUMENT_COLUMN = "document"  # the cleaned, lemmatised, lower-cased text
LABEL_COLUMN = "label"        # optional ground truth, carried through for evaluation only
PART_PATTERN = "part-{index:05d}.csv"
DATA_REPORT = "data_report.json"          # preprocess: counts of dropped rows and why
PREPROCESSING_CONFIG = "preprocessing.json"  # preprocess: the cleaning settings inference reuses
DEFAULT_TEXT_COLUMNS = ("title", "description", "details")  # the bundled sample's columns
DEFAULT_ID_COLUMN = "id"        # the input's record id ('' numbers the rows 1, 2, ...)
DEFAULT_LABEL_COLUMN = "label"  # the input's ground truth ('' when there is none)
# Layer 1 asks for up to 25 topics (tuning range): below ~4 documents per topic its keywords
# and coherence mean nothing, so preprocessing refuses a smaller cleaned corpus.
MIN_DOCUMENTS = 100

# --- representations (embed.py) -------------------------------------------------------------
MINILM = "minilm"
LSA = "lsa"
CONCAT = "concat"
REPRESENTATIONS = (MINILM, LSA, CONCAT)
EMBEDDING_SUFFIX = ".npz"                 # embeddings/part-00000.npz: ids + one array each
LSA_MODEL_FILE = "lsa.joblib"             # TF-IDF -> TruncatedSVD -> L2 normaliser
REPRESENTATIONS_FILE = "representations.json"  # dimensions and settings of all three
# How MiniLM runs (the EmbeddingBackend parameter): float32 torch, torch with dynamic int8
# Linear layers (representations.quantize_int8), or ONNX Runtime on the model exported from the
# same weights, float32 or dynamic int8 (onnx_embedding); the served model uses the one embed.py
# used.
TORCH = "torch"
TORCH_INT8 = "torch-int8"
ONNX = "onnx"
ONNX_INT8 = "onnx-int8"
EMBEDDING_BACKENDS = (TORCH, TORCH_INT8, ONNX, ONNX_INT8)
# onnx-int8 met issue 17's bar for the default on BBC: mean cosine to float32 0.994 (>= 0.99),
# layer-1 NMI 0.673 +- 0.011 against 0.680 +- 0.016 (drop <= 0.01), 4.4x documents/s per core.
DEFAULT_EMBEDDING_BACKEND = ONNX_INT8
# What embedded a model that recorded no backend: float32 torch, the only one before backends.
UNRECORDED_EMBEDDING_BACKEND = TORCH
# A layer's model is fitted on at most this many documents (the FitSampleSize parameter,
# train_layer.py's fit_sample_size); the rest are assigned (sample_fit.py).
DEFAULT_FIT_SAMPLE = 20_000

# --- metric lines (train_layer.py) ----------------------------------------------------------
# One line per metric, "<name>:<value>;" e.g. "validation-topic-loss:0.412345;".
METRIC_LINE = "{name}:{value:.6f};"
OBJECTIVE_LINE = "validation-topic-loss"      # the tuning objective: Minimize
METRIC_LINES = {
    # line name                   -> metric name (MetricDefinitions "Name")
    OBJECTIVE_LINE: "validation:topic-loss",
    "validation-coherence": "validation:coherence",    # mean NPMI of held-out folds, [-1, 1]
    "validation-diversity": "validation:diversity",    # unique top words share, [0, 1]
    "validation-separation": "validation:separation",  # silhouette of held-out folds, [-1, 1]
    "validation-stability": "validation:stability",    # ARI fold model vs full model, [-1, 1]
    "train-topic-count": "train:topic-count",          # topics of the layer's final model(s)
}
OBJECTIVE_METRIC = METRIC_LINES[OBJECTIVE_LINE]
OBJECTIVE_TYPE = "Minimize"


def metric_regex(line_name: str) -> str:
    """The regex that reads one metric line's value (group 1)."""
    return re.escape(line_name) + r":(.*?);"


def metric_definitions() -> list[dict[str, str]]:
    """SageMaker MetricDefinitions for every line train_layer.py prints."""
    return [{"Name": name, "Regex": metric_regex(line)} for line, name in METRIC_LINES.items()]


# --- layer model directory (train_layer.py -> SM_MODEL_DIR) ---------------------------------
LAYER_DIR = "layer-{layer}"          # each layer's models live in their own folder
LAYER_FILE = "layer.json"            # the layer's sub-models, representation, settings, metrics
ASSIGNMENTS_FILE = "assignments.csv"  # id, layer1[, layer2[, layer3]]: topic ids or empty
TRAINING_METRICS_FILE = "metrics.json"  # in SM_OUTPUT_DATA_DIR beside topic_summary.json
MAX_LAYERS = 3

# --- served model directory (package_model.py / assemble_model_dir) --------------------------
MODEL_FILE = "model.json"            # layers, preprocessing settings, representation settings
MAPPING_FILE = "mapping.json"        # the final mapping (labels, actions)
REPRESENTATIONS_DIR = "representations"  # lsa.joblib + representations.json
HANDLER_MODULE = "steps.sequential_topics.inference"

# --- evaluation report (evaluate.py -> PropertyFile) ----------------------------------------
EVALUATION_REPORT = "evaluation.json"
EVALUATION_PROPERTY_FILE = "EvaluationReport"
EVALUATION_OUTPUT = "evaluation"
COHERENCE_JSON_PATH = "topic_metrics.layer1_coherence.value"  # mean NPMI of layer-1 topics
EMPTY_LAYERS_JSON_PATH = "topic_metrics.empty_layers.value"   # 0 when every layer has topics
ALL_LAYERS_NON_EMPTY_JSON_PATH = "topic_metrics.all_layers_non_empty.value"  # true / false
# the same paths as the tabular pipelines' gate (steps/common/tabular_gate.py)
# The gate's verdict, where every pipeline's condition and Fail step read it (steps/common/gate.py).
GATE_FAILED_JSON_PATH = gate.GATE_FAILED_JSON_PATH
GATE_MESSAGE_JSON_PATH = gate.GATE_MESSAGE_JSON_PATH


def layer_column(layer: int) -> str:
    """The assignments column of one layer: 'layer1'."""
    return f"layer{layer}"
