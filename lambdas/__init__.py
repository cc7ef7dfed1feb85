"""SQS-triggered Lambda functions that answer the pipelines' callback steps."""
