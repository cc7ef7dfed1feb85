"""Deploying approved model packages: requests, endpoint updates, multi-model publishing.

Kept free of the CLI's dependencies (rich, the SDK) so the deploy-on-approval Lambda can
package it: `pipelines.cli.deploy_model` is the command, `lambdas.deploy_on_approval` the function.
"""
