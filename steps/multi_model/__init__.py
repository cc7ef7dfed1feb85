"""The multi-model pipeline's container side: per-segment preprocessing, training, evaluation
and the inference handler that applies a segment's preprocessor, then its XGBoost model."""
