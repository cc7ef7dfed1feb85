"""The sequential topic definition: layers in order, callback outputs feeding later layers."""
from __future__ import annotations

import json

import pytest

import pipelines.sequential_topics.pipeline as topics
from steps.sequential_topics import contract
from steps.sequential_topics.mapping_schema import CALLBACK_ARGUMENTS
from steps.sequential_topics.topic_gate import GateThresholds
from tests.pipelines.definition.helpers import SCHEMA_PATH, all_steps, build_definition, schema_errors

pytestmark = pytest.mark.definition

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/mapping-queue"


@pytest.fixture(scope="module")
def definition() -> dict:
    return json.loads(build_definition(topics, mapping_queue_url=QUEUE))


def _step(definition: dict, name: str) -> dict:
    return next(s for s in all_steps(definition) if s["Name"] == name)


def _channels(step: dict) -> dict:
    return {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
            for c in step["Arguments"]["InputDataConfig"]}


def test_layer_order(definition):
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PreprocessText", "Processing"), ("MergeCorpus", "Processing"),
        ("EmbedDocuments", "Processing"),
        ("TuneLayerOne", "Tuning"), ("UpdateMappingOne", "Callback"),
        ("TrainLayerTwo", "Training"), ("UpdateMappingTwo", "Callback"),
        ("TrainLayerThree", "Training"), ("EvaluateTopics", "Processing"),
        ("CheckQuality", "Condition")]
    check = _step(definition, "CheckQuality")["Arguments"]
    assert [s["Name"] for s in check["IfSteps"]] == ["PackageTopicModel", "RegisterTopicModel"]
    assert [s["Name"] for s in check["ElseSteps"]] == ["QualityTooLow"]


def test_callback_outputs_feed_the_next_layers_channels(definition):
    layer_two = _channels(_step(definition, "TrainLayerTwo"))
    assert layer_two["mapping"] == {"Get": "Steps.UpdateMappingOne.OutputParameters"
                                           "['mapping_uri']"}
    assert {"Get": "Steps.TuneLayerOne.TrainingJobSummaries[0].TrainingJobName"} in \
        layer_two["previous_model"]["Std:Join"]["Values"]
    layer_three = _channels(_step(definition, "TrainLayerThree"))
    assert layer_three["mapping"] == {"Get": "Steps.UpdateMappingTwo.OutputParameters"
                                             "['mapping_uri']"}
    assert layer_three["previous_model"] == {"Get": "Steps.TrainLayerTwo.ModelArtifacts"
                                                    ".S3ModelArtifacts"}


def test_callbacks_send_the_documented_arguments_to_the_queue_parameter(definition):
    first = _step(definition, "UpdateMappingOne")
    assert first["SqsQueueUrl"] == {"Get": "Parameters.MappingQueueUrl"}
    assert set(first["Arguments"]) == set(CALLBACK_ARGUMENTS)
    assert first["Arguments"]["previous_mapping"] == ""
    second = _step(definition, "UpdateMappingTwo")["Arguments"]
    assert second["previous_mapping"] == {
        "Get": "Steps.UpdateMappingOne.OutputParameters['mapping_uri']"}
    assert second["model_artifact"] == {"Get": "Steps.TrainLayerTwo.ModelArtifacts"
                                               ".S3ModelArtifacts"}
    assert {"Get": "Execution.PipelineExecutionId"} in \
        second["output_prefix"]["Std:Join"]["Values"]


def test_parameters_and_queue_default(definition):
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["MappingQueueUrl"]["DefaultValue"] == QUEUE
    assert parameters["MappingOverridesUrl"]["DefaultValue"] == ""
    assert parameters["MappingReviewMode"]["EnumValues"] == ["false", "true"]
    assert parameters["ProcessingInstanceCount"]["Type"] == "Integer"


def test_embedding_is_sharded_over_the_instance_count(definition):
    embed = _step(definition, "EmbedDocuments")["Arguments"]
    assert embed["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {
        "Get": "Parameters.ProcessingInstanceCount"}
    distribution = {i["InputName"]: i["S3Input"]["S3DataDistributionType"]
                    for i in embed["ProcessingInputs"]}
    assert distribution == {"shard": "ShardedByS3Key", "corpus": "FullyReplicated",
                            "code": "FullyReplicated"}


def test_cleaning_is_sharded_over_the_instance_count_and_merged_on_one(definition):
    count = {"Get": "Parameters.ProcessingInstanceCount"}
    preprocess = _step(definition, "PreprocessText")["Arguments"]
    assert preprocess["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == count
    [raw] = [i for i in preprocess["ProcessingInputs"] if i["InputName"] == "raw"]
    assert raw["S3Input"]["S3DataDistributionType"] == "FullyReplicated"  # every row on each
    shards = preprocess["ProcessingOutputConfig"]["Outputs"]
    assert [o["OutputName"] for o in shards] == ["shards"]
    assert _arguments(_step(definition, "PreprocessText"))["--shard-dir"] == \
        shards[0]["S3Output"]["LocalPath"]
    merge = _step(definition, "MergeCorpus")["Arguments"]
    assert merge["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert {i["InputName"]: i["S3Input"]["S3Uri"] for i in merge["ProcessingInputs"]
            if i["InputName"] != "code"} == {
        "shards": {"Get": "Steps.PreprocessText.ProcessingOutputConfig.Outputs['shards']"
                          ".S3Output.S3Uri"}}
    corpus = {"Get": "Steps.MergeCorpus.ProcessingOutputConfig.Outputs['corpus'].S3Output.S3Uri"}
    embed = _step(definition, "EmbedDocuments")["Arguments"]
    assert {i["InputName"]: i["S3Input"]["S3Uri"] for i in embed["ProcessingInputs"]
            if i["InputName"] != "code"} == {"shard": corpus, "corpus": corpus}
    for name in ("PreprocessText", "EmbedDocuments"):  # the local runner maps it per host
        assert _arguments(_step(definition, name))["--resource-config"] == \
            "/opt/ml/config/resourceconfig.json"
    package = _step(definition, "PackageTopicModel")["Arguments"]
    [settings] = [i for i in package["ProcessingInputs"] if i["InputName"] == "preprocessing"]
    assert settings["S3Input"]["S3Uri"] == {
        "Get": "Steps.MergeCorpus.ProcessingOutputConfig.Outputs['report'].S3Output.S3Uri"}


def test_embedding_backend_is_a_parameter_that_reaches_the_embed_step(definition):
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["EmbeddingBackend"]["DefaultValue"] == contract.ONNX_INT8
    assert parameters["EmbeddingBackend"]["EnumValues"] == list(contract.EMBEDDING_BACKENDS)
    arguments = _arguments(_step(definition, "EmbedDocuments"))
    assert arguments["--embedding-backend"] == {"Get": "Parameters.EmbeddingBackend"}


def test_fit_sample_size_is_a_parameter_every_layer_reads(definition):
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["FitSampleSize"] == {"Name": "FitSampleSize", "Type": "Integer",
                                           "DefaultValue": contract.DEFAULT_FIT_SAMPLE}
    as_text = {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.FitSampleSize"}]}}
    tuning = _step(definition, "TuneLayerOne")["Arguments"]["TrainingJobDefinition"]
    assert tuning["StaticHyperParameters"]["fit_sample_size"] == as_text
    for name in ("TrainLayerTwo", "TrainLayerThree"):
        assert _step(definition, name)["Arguments"]["HyperParameters"][
            "fit_sample_size"] == as_text


def test_layer_one_is_tuned_over_the_representation(definition):
    config = _step(definition, "TuneLayerOne")["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize", "MetricName": contract.OBJECTIVE_METRIC}
    [categorical] = config["ParameterRanges"]["CategoricalParameterRanges"]
    assert categorical == {"Name": "representation", "Values": list(contract.REPRESENTATIONS)}
    n_clusters = next(r for r in config["ParameterRanges"]["IntegerParameterRanges"]
                      if r["Name"] == "n_clusters")
    assert (n_clusters["MinValue"], n_clusters["MaxValue"]) == ("15", "25")


def _arguments(step: dict) -> dict:
    """A processing step's `--name value` container arguments as a dict."""
    items = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    return dict(zip(items[::2], items[1::2], strict=True))


def test_column_parameters_default_to_the_sample_and_reach_preprocessing(definition):
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert {name: (parameters[name]["Type"], parameters[name]["DefaultValue"])
            for name in ("TextColumns", "IdColumn", "LabelColumn")} == {
        "TextColumns": ("String", "title,description,details"),
        "IdColumn": ("String", "id"), "LabelColumn": ("String", "label")}
    arguments = _arguments(_step(definition, "PreprocessText"))
    assert {k: arguments[k] for k in ("--text-columns", "--id-column", "--label-column")} == {
        "--text-columns": {"Get": "Parameters.TextColumns"},
        "--id-column": {"Get": "Parameters.IdColumn"},
        "--label-column": {"Get": "Parameters.LabelColumn"}}


def test_column_kwargs_set_the_parameter_defaults():
    definition = json.loads(build_definition(topics, text_columns="subject, body",
                                             id_column="ticket_id", label_column=""))
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert (defaults["TextColumns"], defaults["IdColumn"], defaults["LabelColumn"]) == (
        "subject,body", "ticket_id", "")


@pytest.mark.parametrize("kwargs, message", [
    ({"text_columns": []}, r"text_columns \[\] must name one or more columns"),
    ({"text_columns": ["a", " "]}, "must name one or more columns"),
    ({"id_column": "a,b"}, "id_column 'a,b' must be one column name, or '' for none"),
])
def test_bad_column_kwargs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        topics.get_pipeline(region="us-east-1", **kwargs)


def test_gate_thresholds_are_parameters_passed_to_the_evaluation_as_strings(definition):
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    defaults = GateThresholds()
    arguments = _arguments(_step(definition, "EvaluateTopics"))
    for name, parameter in GateThresholds.parameters().items():
        assert parameters[parameter]["Type"] == "Float"
        assert parameters[parameter]["DefaultValue"] == getattr(defaults, name)
        assert arguments[f"--{name.replace('_', '-')}"] == {
            "Std:Join": {"On": "", "Values": [{"Get": f"Parameters.{parameter}"}]}}
    assert parameters["QualityThreshold"]["DefaultValue"] == -1.0


def test_quality_condition_reads_the_gate_and_the_fail_step_quotes_it(definition):
    check = _step(definition, "CheckQuality")["Arguments"]
    report = {"Get": "Steps.EvaluateTopics.PropertyFiles.EvaluationReport"}
    assert check["Conditions"] == [{"Type": "Equals", "LeftValue": {"Std:JsonGet": {
        "PropertyFile": report, "Path": contract.GATE_FAILED_JSON_PATH}}, "RightValue": 0}]
    [fail] = check["ElseSteps"]
    assert fail["Arguments"]["ErrorMessage"] == {"Std:Join": {"On": " ", "Values": [
        "Not registered: the quality gate",
        {"Std:JsonGet": {"PropertyFile": report, "Path": contract.GATE_MESSAGE_JSON_PATH}}]}}


@pytest.mark.skipif(not SCHEMA_PATH.exists(), reason=f"no schema at {SCHEMA_PATH}")
def test_schema(definition):
    assert schema_errors(definition) == []
