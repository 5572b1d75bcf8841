"""Regenerate resources/tokenizer/ from llama.cpp's ggml-vocab-gpt-2.gguf.

The llama-cpp-python sdist vendors llama.cpp, whose models/ folder holds the
exact GPT-2 BPE vocabulary (50257 tokens, 50000 merges) as a GGUF file. We
extract it once and ship the result, because the real GPT-2 tokenizer files
cannot be downloaded here and the app must work offline.

    python scripts/extract_tokenizer.py PATH/TO/ggml-vocab-gpt-2.gguf
    python scripts/extract_tokenizer.py --sdist llama_cpp_python-0.3.x.tar.gz

Writes vocab.json and merges.txt (the classic GPT-2 pair) and tokenizer.json
(the same BPE for the `tokenizers` library: byte-level, no prefix space).
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import gguf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

OUT_DIR = Path(__file__).resolve().parents[1] / "resources" / "tokenizer"
VOCAB_MEMBER = "vendor/llama.cpp/models/ggml-vocab-gpt-2.gguf"


def _strings(field: gguf.ReaderField) -> list[str]:
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def read_vocab(path: Path) -> tuple[list[str], list[str], int]:
    """Return (tokens, merges, eos_id) stored in a GGUF vocabulary file."""
    reader = gguf.GGUFReader(str(path))
    fields = reader.fields
    if _strings(fields["tokenizer.ggml.model"])[0] != "gpt2":
        raise SystemExit(f"{path} does not hold a GPT-2 BPE tokenizer")
    tokens = _strings(fields["tokenizer.ggml.tokens"])
    merges = _strings(fields["tokenizer.ggml.merges"])
    eos = int(fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
    return tokens, merges, eos


def build_tokenizer(tokens: list[str], merges: list[str]) -> Tokenizer:
    """The GPT-2 byte-level BPE as a `tokenizers.Tokenizer`."""
    vocab = {tok: i for i, tok in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("gguf", nargs="?", type=Path, help="ggml-vocab-gpt-2.gguf")
    src.add_argument("--sdist", type=Path, help="a llama-cpp-python sdist (.tar.gz)")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.gguf
        if args.sdist:
            with tarfile.open(args.sdist) as tar:
                member = next(m for m in tar.getmembers() if m.name.endswith(VOCAB_MEMBER))
                tar.extract(member, tmp, filter="data")
                path = Path(tmp) / member.name
        tokens, merges, eos = read_vocab(path)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vocab.json").write_text(
        json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False), encoding="utf-8"
    )
    (args.out / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8"
    )
    build_tokenizer(tokens, merges).save(str(args.out / "tokenizer.json"))
    print(
        f"wrote {len(tokens)} tokens, {len(merges)} merges, eos={eos} to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
