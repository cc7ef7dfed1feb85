"""EventBridge-triggered Lambda: deploy a model package group's newest approved version."""
