"""PipelineBuilder: the one place where steps get their names, code, caching, retries and paths.

Pipelines declare their parameters and describe their graph; the builder turns that into SDK v3
steps with a single policy: step code staged once under a content hash (byte-identical
definitions for the same code, so SageMaker's step cache works), job outputs under
`s3://<bucket>/<pipeline>/<execution-id>/<step>/<output>` (executions never clobber each
other; SageMaker's cache key ignores output locations), the same cache and retry configuration
on every job step, and every job running the project image.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagemaker.core.helper.pipeline_variable import PipelineVariable
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import (
    MetricDefinition,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.pipeline_definition_config import PipelineDefinitionConfig
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep, TuningStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.tuner import HyperparameterTuner

from pipelines.code_staging import StagedCode, stage_steps_package
from pipelines.images import account_from_arn, default_image_uri
from pipelines.session import OFFLINE_ACCOUNT, SessionContext, get_session_context, offline_role
from runtime.model_versions import EVALUATION_REPORT_METADATA

PROCESSING_ROOT = "/opt/ml/processing"
CODE_DIR = f"{PROCESSING_ROOT}/input/code"
STEP_NAME_PATTERN = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")


def job_name_for(prefix: str, step_name: str) -> str:
    """'ensemble', 'TrainEnsemble' -> 'ensemble-train-ensemble' (SageMaker base job name)."""
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", step_name).lower()
    return f"{prefix}-{kebab}"[:63].rstrip("-")


def input_path(name: str) -> str:
    """Container path of a processing input named `name`."""
    return f"{PROCESSING_ROOT}/input/{name}"


def output_path(name: str) -> str:
    """Container path of a processing output named `name`."""
    return f"{PROCESSING_ROOT}/output/{name}"


def _hyperparameter(value: Any) -> Any:
    """SageMaker hyperparameters are strings; pipeline variables resolve at execution time."""
    return value if isinstance(value, PipelineVariable) else str(value)


def _default_of(value: Any) -> Any:
    return getattr(value, "default_value", value)


class _TuningStepWithLimits(TuningStep):
    """A TuningStep whose job limits may be pipeline parameters.

    sagemaker 3.27's tuner validates ResourceLimits as plain ints (pydantic) although its
    signature admits PipelineVariables, so the tuner gets the defaults and the step's
    request carries the parameters themselves.
    """

    def __init__(self, *, resource_limits: dict[str, Any], **kwargs: Any):
        super().__init__(**kwargs)
        self._resource_limits = resource_limits

    @property
    def arguments(self):
        request = super().arguments
        request["HyperParameterTuningJobConfig"]["ResourceLimits"].update(self._resource_limits)
        return request


@dataclass
class PipelineBuilder:
    """Composes SDK v3 steps for one pipeline; create one per `get_pipeline` call."""

    name: str
    context: SessionContext
    role: str
    base_job_prefix: str
    image_uri: str
    code_packages: tuple[str, ...]  # the steps/ sub-packages this pipeline's jobs run
    cache_expire_after: str = "P30D"
    _staged: StagedCode | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, *, region: str | None, default_bucket: str | None, role: str | None,
               pipeline_name: str, base_job_prefix: str, image_uri: str | None,
               code_packages: tuple[str, ...]) -> PipelineBuilder:
        """The builder for one `get_pipeline` call: the session for the current mode, the role
        (an offline placeholder when none is given) and the project image in its account."""
        context = get_session_context(region, default_bucket)
        role = role or offline_role()
        image = image_uri or default_image_uri(context.region,
                                               account_from_arn(role, OFFLINE_ACCOUNT))
        return cls(name=pipeline_name, context=context, role=role,
                   base_job_prefix=base_job_prefix, image_uri=image, code_packages=code_packages)

    @property
    def account(self) -> str:
        return account_from_arn(self.role, OFFLINE_ACCOUNT)

    def sample_data_uri(self, file_name: str) -> str:
        """Where the default InputDataUrl points: the local runner seeds it with sample data."""
        return f"s3://{self.bucket}/{self.name}/sample-data/{file_name}"

    # ---- policies -------------------------------------------------------------------------
    @property
    def cache_config(self) -> CacheConfig:
        return CacheConfig(enable_caching=True, expire_after=self.cache_expire_after)

    @staticmethod
    def retry_policies() -> list:
        """Retry what SageMaker itself may fail transiently; never a script's own error."""
        return [
            StepRetryPolicy(exception_types=[StepExceptionTypeEnum.SERVICE_FAULT,
                                             StepExceptionTypeEnum.THROTTLING],
                            interval_seconds=10, backoff_rate=2.0, max_attempts=3),
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                                 SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                                 SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT],
                interval_seconds=60, backoff_rate=2.0, max_attempts=3),
        ]

    @property
    def bucket(self) -> str:
        return self.context.default_bucket

    @property
    def staged_code(self) -> StagedCode:
        """The step code, staged on first use (once per builder)."""
        if self._staged is None:
            self._staged = stage_steps_package(self.bucket, self.name, self.context.code_store,
                                              self.code_packages)
        return self._staged

    def _check_step_name(self, step_name: str) -> None:
        if not STEP_NAME_PATTERN.fullmatch(step_name):
            raise ValueError(f"step name {step_name!r} must be PascalCase letters and digits "
                             "(at most 64), e.g. 'TrainEnsemble'")

    def output_uri(self, step_name: str, output: str) -> Join:
        """Execution-scoped S3 location of one job output."""
        return Join(on="/", values=["s3:/", self.bucket, self.name,
                                    ExecutionVariables.PIPELINE_EXECUTION_ID, step_name, output])

    # ---- processing -------------------------------------------------------------------------
    def processing_step(
        self,
        step_name: str,
        script: str,
        *,
        inputs: dict[str, Any],
        outputs: Sequence[str] | dict[str, Any],
        arguments: Sequence[Any] = (),
        instance_type: Any,
        instance_count: Any = 1,
        property_files: Iterable[PropertyFile] = (),
        depends_on: Sequence[Any] | None = None,
        sharded_inputs: Iterable[str] = (),
    ) -> ProcessingStep:
        """A processing job running `steps/<script>` with named S3 inputs and outputs.

        Inputs land in `input_path(name)`, outputs are read from `output_path(name)`; the
        script receives those paths through `arguments` (see `input_path`/`output_path`).
        Outputs go to execution-scoped URIs unless `outputs` maps a name to its destination.
        """
        self._check_step_name(step_name)
        sharded = set(sharded_inputs)
        processing_inputs = [
            ProcessingInput(input_name=name, s3_input=ProcessingS3Input(
                s3_uri=source, local_path=input_path(name), s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="ShardedByS3Key" if name in sharded else "FullyReplicated"))
            for name, source in inputs.items()
        ]
        processing_inputs.append(ProcessingInput(input_name="code", s3_input=ProcessingS3Input(
            s3_uri=self.staged_code.files_prefix, local_path=CODE_DIR, s3_data_type="S3Prefix",
            s3_input_mode="File", s3_data_distribution_type="FullyReplicated")))
        destinations = (dict(outputs) if isinstance(outputs, dict)
                        else {name: self.output_uri(step_name, name) for name in outputs})
        processing_outputs = [
            ProcessingOutput(output_name=name, s3_output=ProcessingS3Output(
                s3_uri=destination, local_path=output_path(name), s3_upload_mode="EndOfJob"))
            for name, destination in destinations.items()
        ]
        processor = Processor(
            role=self.role, image_uri=self.image_uri, instance_type=instance_type,
            instance_count=instance_count,
            entrypoint=["python3", f"{CODE_DIR}/steps/{script}"],
            env={"PYTHONPATH": CODE_DIR},
            base_job_name=job_name_for(self.base_job_prefix, step_name),
            sagemaker_session=self.context.session,
        )
        step_args = processor.run(inputs=processing_inputs, outputs=processing_outputs,
                                  arguments=list(arguments))
        return ProcessingStep(name=step_name, step_args=step_args, cache_config=self.cache_config,
                              retry_policies=self.retry_policies(),
                              property_files=list(property_files) or None, depends_on=depends_on)

    # ---- training and tuning -------------------------------------------------------------
    def script_hyperparameters(self, script: str) -> dict[str, str]:
        """Script-mode hyperparameters: the program and its content-hashed source archive."""
        return {"sagemaker_program": f"steps/{script}",
                "sagemaker_submit_directory": self.staged_code.sourcedir_uri}

    def model_trainer(self, step_name: str, script: str, *, hyperparameters: dict[str, Any],
                      instance_type: Any, metric_definitions: list[dict[str, str]]) -> ModelTrainer:
        """A ModelTrainer running `steps/<script>` in script mode on the project image."""
        trainer = ModelTrainer(
            training_image=self.image_uri, role=self.role,
            base_job_name=job_name_for(self.base_job_prefix, step_name),
            compute=Compute(instance_type=instance_type, instance_count=1),
            output_data_config=OutputDataConfig(
                s3_output_path=f"s3://{self.bucket}/{self.name}/{step_name}"),
            hyperparameters={**self.script_hyperparameters(script),
                             **{k: _hyperparameter(v) for k, v in hyperparameters.items()}},
            sagemaker_session=self.context.session,
        )
        return trainer.with_metric_definitions(
            [MetricDefinition(name=d["Name"], regex=d["Regex"]) for d in metric_definitions])

    @staticmethod
    def channels(sources: dict[str, Any], content_type: str = "text/csv") -> list[InputData]:
        return [InputData(channel_name=name, data_source=source, content_type=content_type)
                for name, source in sources.items()]

    def training_step(self, step_name: str, script: str, *, hyperparameters: dict[str, Any],
                      instance_type: Any, channels: dict[str, Any],
                      metric_definitions: list[dict[str, str]],
                      depends_on: Sequence[Any] | None = None) -> TrainingStep:
        """A training job running `steps/<script>` in script mode with the given channels."""
        self._check_step_name(step_name)
        trainer = self.model_trainer(step_name, script, hyperparameters=hyperparameters,
                                     instance_type=instance_type,
                                     metric_definitions=metric_definitions)
        return TrainingStep(name=step_name,
                            step_args=trainer.train(input_data_config=self.channels(channels)),
                            cache_config=self.cache_config, retry_policies=self.retry_policies(),
                            depends_on=depends_on)

    def tuning_step(self, step_name: str, script: str, *, static_hyperparameters: dict[str, Any],
                    instance_type: Any, channels: dict[str, Any], objective_metric: str,
                    objective_type: str, ranges: dict[str, Any],
                    metric_definitions: list[dict[str, str]], max_jobs: Any,
                    max_parallel_jobs: Any, strategy: str = "Bayesian") -> TuningStep:
        """A tuning job whose trials run `steps/<script>`; its best model is `top_model_uri`."""
        self._check_step_name(step_name)
        trainer = self.model_trainer(step_name, script, hyperparameters=static_hyperparameters,
                                     instance_type=instance_type,
                                     metric_definitions=metric_definitions)
        tuner = HyperparameterTuner(
            model_trainer=trainer, objective_metric_name=objective_metric,
            objective_type=objective_type, hyperparameter_ranges=ranges,
            metric_definitions=metric_definitions, strategy=strategy,
            max_jobs=_default_of(max_jobs), max_parallel_jobs=_default_of(max_parallel_jobs),
            base_tuning_job_name=job_name_for(self.base_job_prefix, step_name)[:32].rstrip("-"),
        )
        return _TuningStepWithLimits(
            name=step_name, step_args=tuner.tune(inputs=self.channels(channels)),
            cache_config=self.cache_config, retry_policies=self.retry_policies(),
            resource_limits={"MaxNumberOfTrainingJobs": max_jobs,
                             "MaxParallelTrainingJobs": max_parallel_jobs})

    def top_model_uri(self, tuning_step: TuningStep) -> Join:
        """S3 URI of the best training job's model.tar.gz (index 0 of the tuning summaries)."""
        return tuning_step.get_top_model_s3_uri(top_k=0, s3_bucket=self.bucket,
                                                prefix=f"{self.name}/{tuning_step.name}")

    # ---- registration ---------------------------------------------------------------------
    def register_step(self, step_name: str, *, model_data: Any, model_package_group_name: str,
                      approval_status: Any, evaluation_report_uri: Any, handler: str,
                      description: str, model_quality_uri: Any = None,
                      customer_metadata: dict[str, Any] | None = None,
                      content_types: Sequence[str] = ("text/csv", "application/json"),
                      ) -> ModelStep:
        """Register `model_data` served by `handler` (steps.serve) with its evaluation.

        `model_quality_uri`, SageMaker Model Monitor's model-quality statistics
        (steps/common/model_quality.py), becomes the package's ModelQuality.Statistics, which
        Studio's registry charts; our own report (`evaluation_report_uri`: baselines, members,
        the gate) is named in the customer metadata as EvaluationReport. A pipeline whose
        problem has no Model Monitor format (topics) attaches its own report as the statistics.
        The execution ARN is recorded in the customer metadata too, so the registry can say
        which execution produced a version.
        """
        self._check_step_name(step_name)
        model = ModelBuilder(s3_model_data_url=model_data, image_uri=self.image_uri,
                             role_arn=self.role, sagemaker_session=self.context.session,
                             env_vars={"SERVE_HANDLER": handler})
        metadata = {"PipelineExecutionArn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
                    **(customer_metadata or {})}
        if model_quality_uri is not None:
            metadata[EVALUATION_REPORT_METADATA] = evaluation_report_uri
        statistics = evaluation_report_uri if model_quality_uri is None else model_quality_uri
        return ModelStep(name=step_name, step_args=model.register(
            model_package_group_name=model_package_group_name,
            content_types=list(content_types), response_types=list(content_types),
            inference_instances=["ml.m5.large", "ml.m5.xlarge"],
            transform_instances=["ml.m5.large"],
            approval_status=approval_status,
            model_metrics=ModelMetrics(model_statistics=MetricsSource(
                s3_uri=statistics, content_type="application/json")),
            customer_metadata_properties=metadata,
            description=description,
        ))

    # ---- the pipeline -----------------------------------------------------------------------
    def build(self, parameters: list, steps: list) -> Pipeline:
        return Pipeline(
            name=self.name, parameters=parameters, steps=steps,
            sagemaker_session=self.context.session,
            pipeline_definition_config=PipelineDefinitionConfig(use_custom_job_prefix=False),
        )
