"""Experiment tracking with MLflow: each pipeline execution a run, each tuning trial a child
run (facts.py reads an execution, mlflow_log.py logs it, hook.py is run-pipeline's side)."""
