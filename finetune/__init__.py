"""writer-finetune: turn a writer's corpus into the GGUF model the app runs."""
