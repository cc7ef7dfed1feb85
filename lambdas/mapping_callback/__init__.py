"""The topic-mapping callback: between topic layers, turn a layer's summary into the next mapping.

Deployed with `lambdas/template.yaml`; its handler is
`lambdas.mapping_callback.handler.lambda_handler`.
"""
