"""Narrow seams between our run-time code and AWS: each port has an AWS (boto3) and a local form.

The callback Lambda, `model-registry`, `deploy-model` and the local runner take whichever
implementation they are given, so the same logic runs against AWS, moto and a laptop.
"""
