"""Container side: the programs SageMaker jobs run and the inference handlers they serve."""
