"""Run-time code that the commands, the Lambdas and the local runner share.

Ports to AWS and their local forms, the model-version rules, deployment planning, the topic
mapping protocol and serving from the object store. It imports `steps/` and never
`pipelines/` or `lambdas/` (see ARCHITECTURE.md), so a Lambda zip carries what it needs of it
without the SageMaker SDK.
"""
