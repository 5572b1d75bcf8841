"""The GPT-2 GGUF contract shared by the editor's engine and writer-finetune.

What a model file must be (the validator), the errors a model file raises,
GPT-2's constants and where the bundled tokenizer and model live. Both
`writer_app.engine` and `finetune` depend on this package; it depends on
neither.
"""
