"""Sequential topic pipeline: three BERTopic layers linked by callback mapping updates.

    PreprocessText -> MergeCorpus -> EmbedDocuments -> TuneLayerOne -> UpdateMappingOne
      -> TrainLayerTwo -> UpdateMappingTwo -> TrainLayerThree -> EvaluateTopics -> CheckQuality
      -> PackageTopicModel -> RegisterTopicModel | QualityTooLow

Free-text columns are cleaned and lemmatised once (each of ProcessingInstanceCount instances
its share of the rows, merged and de-duplicated corpus-wide by MergeCorpus), embedded once
(MiniLM, LSA and their concatenation, sharded over ProcessingInstanceCount instances), and
clustered by three layers: layer 1 is the best model of a Bayesian tuning job (UMAP, BIRCH and
the representation, scored by a cross-validated topic loss); between layers a callback step
puts a message on the MappingQueueUrl queue, where the mapping Lambda (lambdas/) writes the
next mapping and answers with its URI, which the next layer reads as an input channel. The
evaluated model (all layers plus the final mapping) is registered when it passes the quality
gate (steps/sequential_topics/quality_gate.py), else QualityTooLow quotes the gate's figures.

The input's shape is per dataset, so it is set by parameters (Studio knobs): TextColumns
(comma-separated, combined into one document), IdColumn and LabelColumn ('' for none: rows are
numbered, no label agreement is measured). Their defaults fit the bundled sample and come from
the `text_columns`, `id_column` and `label_column` kwargs, so a project whose exports always
have one shape can set its defaults once in CodeBuild. The gate's thresholds are parameters
too: QualityThreshold (absolute layer-1 coherence), MinCoherenceOverShuffled,
MinTopicDiversity, MaxTopicShare, MinNmiOverShuffled (with labels only) and
MinLayerCoherenceChange (layers 2 and 3 did not make the topics they split less coherent).
EmbeddingBackend picks how MiniLM runs: `onnx-int8` (the default; ONNX Runtime, dynamic int8:
4.4x the documents/s per core of float32 torch, mean cosine 0.994 to it on BBC), `onnx` (ONNX
Runtime, float32: 2.1x, cosine 1.0), `torch-int8` (dynamic int8 Linear layers: 2.2x, cosine
0.991) or `torch` (float32); the served model embeds with the backend the embeddings were made
with.
"""
from __future__ import annotations

from sagemaker.core.parameter import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagemaker.core.workflow.conditions import ConditionEquals
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.callback_step import (
    CallbackOutput,
    CallbackOutputTypeEnum,
    CallbackStep,
)
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep

from pipelines import parameters as params
from pipelines.builder import PipelineBuilder, input_path, output_path
from pipelines.project_tags import get_pipeline_custom_tags  # noqa: F401  (template hook)
from pipelines.sequential_topics.sample_data import sample_csv
from steps.common.hosts import DEFAULT_RESOURCE_CONFIG
from steps.sequential_topics import contract
from steps.sequential_topics.mapping_schema import (
    CALLBACK_OUTPUTS,
    OUTPUT_MAPPING_URI,
)
from steps.sequential_topics.topic_gate import GateThresholds

PIPELINE_DESCRIPTION = ("Sequential topic ensemble: three BERTopic layers (UMAP + BIRCH + c-TF-IDF) "
                        "on shared embeddings, the broad topics of each layer re-clustered by the "
                        "next, linked by callback mapping updates; evaluated and registered.")
SAMPLE_FILE = "bbc-news.csv"


def tuning_ranges() -> dict:
    """Layer 1's search space: the reducer, the clustering and the document representation."""
    return {
        "representation": CategoricalParameter(list(contract.REPRESENTATIONS)),
        "umap_n_neighbors": IntegerParameter(10, 40),
        "umap_n_components": IntegerParameter(5, 12),
        "birch_threshold": ContinuousParameter(0.3, 1.0),
        "n_clusters": IntegerParameter(15, 25),
    }


def sample_data(uri: str, **_kwargs) -> bytes:
    """The local runner's sample-data hook: the BBC News corpus shaped as CRM opportunities."""
    return sample_csv()


def _text_columns_default(text_columns: list[str] | tuple[str, ...] | str) -> str:
    names = text_columns.split(",") if isinstance(text_columns, str) else list(text_columns)
    names = [n.strip() if isinstance(n, str) else n for n in names]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"text_columns {text_columns!r} must name one or more columns (a list "
                         "or a comma-separated string)")
    return ",".join(names)


def _column_default(kwarg: str, name: str) -> str:
    if not isinstance(name, str) or "," in name:
        raise ValueError(f"{kwarg} {name!r} must be one column name, or '' for none")
    return name.strip()


def column_parameters(text_columns: list[str] | tuple[str, ...] | str, id_column: str,
                      label_column: str) -> list[ParameterString]:
    """TextColumns, IdColumn and LabelColumn, with the kwargs' values as their defaults."""
    return [ParameterString("TextColumns", default_value=_text_columns_default(text_columns)),
            ParameterString("IdColumn", default_value=_column_default("id_column", id_column)),
            ParameterString("LabelColumn",
                            default_value=_column_default("label_column", label_column))]


def gate_parameters() -> dict[str, ParameterFloat]:
    """One parameter per gate threshold (field name -> parameter), defaults from the gate."""
    defaults = GateThresholds()
    return {name: ParameterFloat(parameter, default_value=getattr(defaults, name))
            for name, parameter in GateThresholds.parameters().items()}


def get_pipeline(
    region: str | None = None,
    sagemaker_project_arn: str | None = None,
    role: str | None = None,
    default_bucket: str | None = None,
    model_package_group_name: str = "SequentialTopicsPackageGroup",
    pipeline_name: str = "SequentialTopicsPipeline",
    base_job_prefix: str = "sequential-topics",
    mapping_queue_url: str | None = None,
    text_columns: list[str] | str = contract.DEFAULT_TEXT_COLUMNS,
    id_column: str = contract.DEFAULT_ID_COLUMN,
    label_column: str = contract.DEFAULT_LABEL_COLUMN,
    num_parts: int = 4,
    max_tuning_jobs: int = 4,
    max_parallel_tuning_jobs: int = 2,
    image_uri: str | None = None,
):
    """Build the topic pipeline (template-compatible signature).

    `mapping_queue_url` is the callback queue (the `MappingQueueUrl` output of
    lambdas/template.yaml); it becomes the MappingQueueUrl parameter's default. `text_columns`,
    `id_column` and `label_column` become the defaults of TextColumns, IdColumn and LabelColumn.
    """
    text_param, id_param, label_param = column_parameters(text_columns, id_column, label_column)
    builder = PipelineBuilder.create(
        region=region, default_bucket=default_bucket, role=role, pipeline_name=pipeline_name,
        base_job_prefix=base_job_prefix, image_uri=image_uri,
        code_packages=("sequential_topics",))

    # ---- parameters (Studio UI knobs) ---------------------------------------------------
    input_data = params.input_data_url(builder.sample_data_uri(SAMPLE_FILE))
    processing_instance = params.processing_instance_type()
    processing_count = params.processing_instance_count()
    training_instance = params.training_instance_type()
    max_jobs = params.max_tuning_jobs(max_tuning_jobs)
    max_parallel = params.max_parallel_tuning_jobs(max_parallel_tuning_jobs)
    queue_url = ParameterString("MappingQueueUrl", default_value=mapping_queue_url or (
        f"https://sqs.{builder.context.region}.amazonaws.com/{builder.account}/"
        "topic-mapping-callbacks"))
    overrides = ParameterString("MappingOverridesUrl", default_value="")
    review_mode = ParameterString("MappingReviewMode", default_value="false",
                                  enum_values=["false", "true"])
    approval_status = params.model_approval_status()
    embedding_backend = ParameterString("EmbeddingBackend",
                                        default_value=contract.DEFAULT_EMBEDDING_BACKEND,
                                        enum_values=list(contract.EMBEDDING_BACKENDS))
    fit_sample = ParameterInteger("FitSampleSize", default_value=contract.DEFAULT_FIT_SAMPLE)
    thresholds = gate_parameters()

    # ---- 1-2. clean once (each instance its share of the rows, merged), embed once ---------
    # The multi-instance steps name the resource config although it is their default: the
    # local runner maps the container paths it sees, so each local host reads its own.
    preprocess = builder.processing_step(
        "PreprocessText", "sequential_topics/preprocess.py",
        inputs={"raw": input_data}, outputs=["shards"],
        arguments=["--input", input_path("raw"), "--shard-dir", output_path("shards"),
                   "--resource-config", DEFAULT_RESOURCE_CONFIG, "--text-columns", text_param,
                   "--id-column", id_param, "--label-column", label_param],
        instance_type=processing_instance, instance_count=processing_count)
    merge = builder.processing_step(
        "MergeCorpus", "sequential_topics/merge_corpus.py",
        inputs={"shards": _output(preprocess, "shards")}, outputs=["corpus", "report"],
        arguments=["--shards", input_path("shards"), "--parts-dir", output_path("corpus"),
                   "--report-dir", output_path("report"), "--num-parts", str(num_parts)],
        instance_type=processing_instance)
    corpus = _output(merge, "corpus")
    embed = builder.processing_step(
        "EmbedDocuments", "sequential_topics/embed.py",
        inputs={"shard": corpus, "corpus": corpus}, sharded_inputs=["shard"],
        outputs=["embeddings", "lsa"],
        arguments=["--input", input_path("shard"), "--full-corpus", input_path("corpus"),
                   "--output-dir", output_path("embeddings"), "--lsa-dir", output_path("lsa"),
                   "--resource-config", DEFAULT_RESOURCE_CONFIG,
                   "--embedding-backend", embedding_backend],
        instance_type=processing_instance, instance_count=processing_count)
    data = {"corpus": corpus, "embeddings": _output(embed, "embeddings")}

    # ---- 3. layer 1: the best model of a tuning job ------------------------------------
    tune = builder.tuning_step(
        "TuneLayerOne", "sequential_topics/train_layer.py",
        static_hyperparameters={"layer": 1, "reducer": "umap", "cv_folds": 3, "seed": 42,
                                "fit_sample_size": fit_sample.to_string()},
        instance_type=training_instance, channels=data,
        objective_metric=contract.OBJECTIVE_METRIC, objective_type=contract.OBJECTIVE_TYPE,
        ranges=tuning_ranges(), metric_definitions=contract.metric_definitions(),
        max_jobs=max_jobs, max_parallel_jobs=max_parallel)
    layer_one = builder.top_model_uri(tune)

    # ---- 4-6. mapping updates between layers -------------------------------------------
    def update_mapping(step_name: str, layer: int, model_artifact, previous_mapping):
        return CallbackStep(
            name=step_name, sqs_queue_url=queue_url,
            inputs={"step_name": step_name, "layer": str(layer),
                    "model_artifact": model_artifact, "previous_mapping": previous_mapping,
                    "overrides": overrides, "review_mode": review_mode,
                    "output_prefix": Join(on="/", values=[
                        f"s3://{builder.bucket}/{pipeline_name}",
                        ExecutionVariables.PIPELINE_EXECUTION_ID, "mappings"])},
            outputs=[CallbackOutput(output_name=name, output_type=CallbackOutputTypeEnum.String)
                     for name in CALLBACK_OUTPUTS])

    def train_layer(step_name: str, layer: int, mapping_step, previous_model):
        return builder.training_step(
            step_name, "sequential_topics/train_layer.py",
            hyperparameters={"layer": layer, "reducer": "umap", "seed": 42,
                             "fit_sample_size": fit_sample.to_string()},
            instance_type=training_instance,
            channels={**data, "mapping": mapping_step.properties.Outputs[OUTPUT_MAPPING_URI],
                      "previous_model": previous_model},
            metric_definitions=contract.metric_definitions())

    mapping_one = update_mapping("UpdateMappingOne", 1, layer_one, "")
    layer_two = train_layer("TrainLayerTwo", 2, mapping_one, layer_one)
    layer_two_model = layer_two.properties.ModelArtifacts.S3ModelArtifacts
    mapping_two = update_mapping("UpdateMappingTwo", 2, layer_two_model,
                                 mapping_one.properties.Outputs[OUTPUT_MAPPING_URI])
    layer_three = train_layer("TrainLayerThree", 3, mapping_two, layer_two_model)
    final_model = layer_three.properties.ModelArtifacts.S3ModelArtifacts

    # ---- 7. evaluate, then register the packaged model or fail --------------------------
    report = PropertyFile(name=contract.EVALUATION_PROPERTY_FILE,
                          output_name=contract.EVALUATION_OUTPUT,
                          path=contract.EVALUATION_REPORT)
    evaluate = builder.processing_step(
        "EvaluateTopics", "sequential_topics/evaluate.py",
        inputs={"corpus": corpus, "model": final_model},
        outputs=[contract.EVALUATION_OUTPUT],
        arguments=["--corpus", input_path("corpus"), "--model", input_path("model"),
                   "--output-dir", output_path(contract.EVALUATION_OUTPUT),
                   # ContainerArguments take strings only: a Float parameter goes through
                   # Std:Join (CreatePipeline refuses a bare reference)
                   *[item for name, parameter in thresholds.items()
                     for item in (f"--{name.replace('_', '-')}", parameter.to_string())]],
        instance_type=processing_instance, property_files=[report])
    package = builder.processing_step(
        "PackageTopicModel", "sequential_topics/package_model.py",
        inputs={"model": final_model,
                "mapping": mapping_two.properties.Outputs[OUTPUT_MAPPING_URI],
                "preprocessing": _output(merge, "report"),
                "representations": _output(embed, "lsa")},
        outputs=["model"],
        arguments=["--model", input_path("model"), "--mapping", input_path("mapping"),
                   "--preprocessing", input_path("preprocessing"),
                   "--representations", input_path("representations"),
                   "--output-dir", output_path("model")],
        instance_type=processing_instance)
    register = builder.register_step(
        "RegisterTopicModel",
        model_data=Join(on="/", values=[_output(package, "model"), "model.tar.gz"]),
        model_package_group_name=model_package_group_name, approval_status=approval_status,
        evaluation_report_uri=Join(on="/", values=[
            _output(evaluate, contract.EVALUATION_OUTPUT), contract.EVALUATION_REPORT]),
        handler=contract.HANDLER_MODULE, description=PIPELINE_DESCRIPTION,
        content_types=("application/json", "text/csv"))
    failed_checks = JsonGet(step_name=evaluate.name, property_file=report,
                            json_path=contract.GATE_FAILED_JSON_PATH)
    too_low = FailStep(name="QualityTooLow", error_message=Join(on=" ", values=[
        "Not registered: the quality gate", JsonGet(step_name=evaluate.name, property_file=report,
                                                    json_path=contract.GATE_MESSAGE_JSON_PATH)]))
    check = ConditionStep(
        name="CheckQuality", conditions=[ConditionEquals(left=failed_checks, right=0)],
        if_steps=[package, register], else_steps=[too_low])

    return builder.build(
        parameters=[input_data, text_param, id_param, label_param, processing_instance,
                    processing_count, training_instance, max_jobs, max_parallel, queue_url,
                    overrides, review_mode, approval_status, embedding_backend, fit_sample,
                    *thresholds.values()],
        steps=[preprocess, merge, embed, tune, mapping_one, layer_two, mapping_two, layer_three,
               evaluate, check])


def _output(step, name: str):
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
