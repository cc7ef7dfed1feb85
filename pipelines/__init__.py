"""Definition side: ensemble model-build pipelines and the commands that run them.

`sagemaker.mlops` creates boto3 clients when it is imported and fails without a region, so a
region is defaulted here, before any pipeline module imports the SDK. It only names where
clients point; credentials and endpoints are untouched.
"""
import os

os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
