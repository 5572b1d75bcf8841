"""writer-bench: the app's engine driven by a simulated writer; prints one JSON object.

    writer-bench latency --model M.gguf --text story.txt [--threads N] [--n-ctx 512]
                         [--baseline transformers --checkpoint DIR] [--max-requests N]
                         [--process in|child|both] [--json]
    writer-bench ksr --model M.gguf --text story.txt [--confidence C] [--no-cache] [--fast] [--json]
    writer-bench ppl --model M.gguf --text book.txt [--no-cache] [--window 512] [--stride 256]
    writer-bench quality --model M.gguf --text story.txt [--confidence C] [--fast] [--no-ppl]
    writer-bench calibrate --model M.gguf --text val.txt [--chars 3000] [--no-refine] [--write]

Without --confidence, the model's calibrated confidence is used (else the
default); each report's confidence_source says which.

One module per job: ksr.py (the simulated writer's keystrokes), latency.py
(suggestion latency, in-process or through the engine process), baseline.py
(the PyTorch speed it is compared with), quality.py (perplexity and the
settings table), calibrate.py (the model's own confidence), cli.py (flags
onto configs, the JSON out). Every command refuses a text with nothing to type the same way (cli.read_text).
"""

from writer_app.bench.cli import main

__all__ = ["main"]
