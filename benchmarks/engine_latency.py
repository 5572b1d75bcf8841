"""Engine latency where the app must be fast: writer-bench latency on 2 threads (what a
laptop spares while the writer works) with the engine's 512-token context, against the
transformers baseline (PyTorch fp32 generate on the CPU, re-reading the full prompt each
time). Prints one JSON object (with the commands that made it).

    .venv/bin/python benchmarks/engine_latency.py                     # GPT-2-small shape, random weights
    .venv/bin/python benchmarks/engine_latency.py --model M.gguf --checkpoint DIR [--text FILE]

Without --model it builds a GPT-2-small-shaped model (12 layers x 768, random
weights: speed does not depend on them) in a temporary folder, exports it to
q8_0 with finetune.export, runs the benchmark and deletes the folder. Without
--text the simulated writer types STORY below (about 3,000 characters).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORY = """\
The lighthouse keeper's daughter had never seen the mainland, though she had watched it every evening of her life. It lay along the horizon like a sleeping animal, grey in the morning and violet at dusk, and when the wind came from the east it carried the smell of cut hay and woodsmoke across eleven miles of water.

Her father said the mainland was a noisy place, full of carts and bells and people who talked too fast. He said it the way other men spoke of bad weather, as a thing to be endured rather than discussed. But he kept a drawer of letters he never answered, and on the nights when the lamp needed no tending he would sit with one of them unopened in his lap, turning it over and over as if the paper itself might tell him what to do.

In the spring of her sixteenth year a boat came that was not the supply boat. It was small and painted green, with a patched sail, and the man who rowed it the last stretch through the rocks was younger than anyone she had seen up close. He had a canvas bag, a crate of books tied with rope, and a letter of his own, which he held out to her father on the landing as though it were a ticket.

"From the board," he said. "I'm to learn the light."

Her father read the letter twice. Then he folded it along its creases, put it in his coat, and looked at the sea for a long time. "You'll want the north room," he said at last. "It leaks, but only when it rains."

The young man laughed, and after a moment, to her great surprise, so did her father.

He was called Tomas, and he knew a great many things that were no use on the island: the names of the streets in three cities, the rules of a card game played only in the south, the words to songs about rivers. He knew nothing about the lamp. He burned his fingers on the wick trimmer the first night and dropped a pane of glass the second, and by the end of the week her father had stopped speaking to him except to give orders.

She taught him instead. She showed him how to read the clouds over the mainland, how to hear the difference between a gale that would pass and one that meant to stay, how to climb the tower stairs in the dark by counting. In return he read to her from the crate of books, in the evenings, while the beam swung overhead and the gulls settled on the rocks below.

It was from one of those books that she first learned the mainland had a name for people like her father. The word was hermit, and it sounded like a small hard shell. She did not like it. She closed the book and said that it was late, and went up to bed without the candle, counting the steps.

In the morning the supply boat was early, and there was a second letter in the sack, addressed to her. She knew the handwriting at once, though she had only ever seen it on envelopes in her father's drawer, and she carried it down to the rocks without a word to anyone, to read where the wind could take it if it had to."""


def build_random_gpt2_small(folder: Path) -> tuple[Path, Path]:
    """Save a random GPT-2-small-shaped checkpoint in folder and export it to q8_0; return both paths."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from finetune.export import export_gguf

    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257)
    )
    checkpoint = folder / "gpt2-small-random"
    model.save_pretrained(str(checkpoint), safe_serialization=True)
    gguf = folder / "gpt2-small-random-q8_0.gguf"
    export_gguf(checkpoint, gguf, "q8_0", verify=False, name="gpt2-small-shape (random weights)")
    return gguf, checkpoint


def main() -> int:
    """Run the benchmark; print its JSON report plus the commands; return writer-bench's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", help="GGUF to measure (default: build a random GPT-2-small shape)"
    )
    parser.add_argument("--checkpoint", help="HF checkpoint of the same weights, for the baseline")
    parser.add_argument(
        "--text", help="text the simulated writer types (default: the built-in story)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=512)
    parser.add_argument("--baseline-requests", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="engine-latency-") as tmp:
        tmp = Path(tmp)
        model, checkpoint = args.model, args.checkpoint
        built = None
        if model is None:
            t0 = time.perf_counter()
            print("building a random GPT-2-small-shaped q8_0 model...", file=sys.stderr)
            gguf, ckpt = build_random_gpt2_small(tmp)
            model, checkpoint, built = str(gguf), str(ckpt), round(time.perf_counter() - t0, 1)
        text = args.text
        if text is None:
            text = str(tmp / "story.txt")
            Path(text).write_text(STORY, encoding="utf-8")
        bench = [
            "latency", "--model", model, "--text", text, "--threads", str(args.threads),
            "--n-ctx", str(args.n_ctx), "--json",
        ]  # fmt: skip
        if checkpoint:
            bench += ["--baseline", "transformers", "--checkpoint", checkpoint,
                      "--baseline-requests", str(args.baseline_requests)]  # fmt: skip
        # A separate process: the model builder's torch must not count in the engine's RSS.
        done = subprocess.run(
            [sys.executable, "-m", "writer_app.bench", *bench], stdout=subprocess.PIPE, text=True
        )
        if done.returncode != 0:
            return done.returncode
        report = json.loads(done.stdout)
    report["script_command"] = " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    if built is not None:
        report["model_built"] = (
            "GPT-2-small shape (12 x 768, 124M), random weights, q8_0, in a temp dir"
        )
        report["model_build_seconds"] = built
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
