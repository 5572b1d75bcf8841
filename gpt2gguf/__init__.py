"""The GPT-2 GGUF contract shared by the editor's engine and writer-finetune.

What a model file must be (`validate`, with the GGUF format's tables in
`constants`, named as gguf-py names them), the errors a model file raises,
GPT-2's constants and where the bundled tokenizer and model live, and the one
way to run a model: `llama.LlamaRunner`, the only loader of llama.cpp and the
only code that touches llama-cpp-python, with its CPU rules in `cpu`. Both
`writer_app.engine` and `finetune` depend on this package; it depends on
neither.
"""
