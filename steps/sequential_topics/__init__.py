"""The sequential topic pipeline's container side: layer training, mapping schema, inference."""
