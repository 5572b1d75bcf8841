"""Tokenizing a corpus into a cached on-disk token stream.

Documents are joined with EOS into one uint16 stream (uint32 when the vocab
is larger than 65536) and memory-mapped by the trainer. The cache is keyed by
the bytes of the input files, the cleaning code's version and the tokenizer,
so a second run on the same data skips reading, cleaning and tokenizing.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from finetune import corpus
from finetune.errors import CorpusError
from gpt2gguf.files import atomic_write

# Bump when cleaning or splitting changes, so old caches are not reused.
PIPELINE_VERSION = 2
_CHUNK_CHARS = 64_000


@dataclass
class TokenData:
    """The train and val token streams, memory-mapped, and what made them."""

    train: np.ndarray
    val: np.ndarray
    summary: dict
    cache_dir: Path


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_key(
    train_files: list[Path], val_files: list[Path], tokenizer: Tokenizer, val_fraction: float
) -> str:
    """A hex key that changes whenever the inputs, the cleaning or the tokenizer change."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"v{PIPELINE_VERSION}|{val_fraction}|".encode())
    h.update(hashlib.blake2b(tokenizer.to_str().encode("utf-8"), digest_size=16).digest())
    for tag, files in (("train", train_files), ("val", val_files)):
        for path in files:
            h.update(f"{tag}|{path.name}|{_file_digest(path)}|".encode())
    return h.hexdigest()


def _chunks(doc: str) -> list[str]:
    # Cut only right before "\n\n": GPT-2's pre-tokenizer never joins across
    # that point, so encoding the chunks gives exactly the ids of the whole.
    pieces, out, size = re.split(r"(?=\n\n)", doc), [], 0
    current: list[str] = []
    for piece in pieces:
        current.append(piece)
        size += len(piece)
        if size >= _CHUNK_CHARS:
            out.append("".join(current))
            current, size = [], 0
    if current:
        out.append("".join(current))
    return out


def tokenize_documents(
    docs: list[str], tokenizer: Tokenizer, eos_id: int, label: str = "tokenizing"
) -> np.ndarray:
    """Encode documents joined by EOS into one token array.

    `tokenizers` encodes a batch on every core (Rayon); progress goes to stderr.
    """
    from tqdm import tqdm

    dtype = np.uint16 if tokenizer.get_vocab_size() <= 65536 else np.uint32
    jobs = [(i, chunk) for i, doc in enumerate(docs) for chunk in _chunks(doc)]
    parts: list[np.ndarray] = []
    last_doc = -1
    batch = 256
    with tqdm(
        total=sum(len(c) for _, c in jobs),
        desc=label,
        unit="char",
        unit_scale=True,
        file=sys.stderr,
        leave=True,
    ) as bar:
        for b in range(0, len(jobs), batch):
            group = jobs[b : b + batch]
            encodings = tokenizer.encode_batch([c for _, c in group], add_special_tokens=False)
            for (doc_index, _), enc in zip(group, encodings, strict=True):
                if doc_index != last_doc and last_doc != -1:
                    parts.append(np.array([eos_id], dtype=dtype))
                last_doc = doc_index
                parts.append(np.asarray(enc.ids, dtype=dtype))
            bar.update(sum(len(c) for _, c in group))
    parts.append(np.array([eos_id], dtype=dtype))
    return np.concatenate(parts)


def prepare_tokens(
    data: list[str],
    val_data: list[str] | None,
    tokenizer: Tokenizer,
    eos_id: int,
    cache_root: Path,
    val_fraction: float = 0.02,
) -> TokenData:
    """Return the train/val token streams for a corpus, from the cache when possible.

    Raises CorpusError for bad input (see finetune.corpus).
    """
    train_files = corpus.find_files(data)
    val_files = corpus.find_files(val_data) if val_data else []
    overlap = set(train_files) & set(val_files)
    if overlap:
        raise CorpusError(f"{sorted(overlap)[0]} is in both --data and --val-data")
    key = cache_key(train_files, val_files, tokenizer, val_fraction)
    cache_dir = Path(cache_root) / key
    meta_path = cache_dir / "meta.json"
    if meta_path.is_file():
        summary = json.loads(meta_path.read_text())
        dtype = np.dtype(summary["dtype"])
        print(f"token cache hit: {cache_dir}", file=sys.stderr)
        return TokenData(
            train=np.memmap(cache_dir / "train.bin", dtype=dtype, mode="r"),
            val=np.memmap(cache_dir / "val.bin", dtype=dtype, mode="r"),
            summary=summary,
            cache_dir=cache_dir,
        )

    start = time.time()
    docs, stats = corpus.load_documents(train_files)
    print(f"cleaned: {stats.summary()}", file=sys.stderr)
    if val_files:
        val_docs, val_stats = corpus.load_documents(val_files)
        train_docs = docs
    else:
        train_docs, val_docs = corpus.split_train_val(docs, val_fraction)
        val_stats = None
    train = tokenize_documents(train_docs, tokenizer, eos_id, "tokenizing train")
    val = tokenize_documents(val_docs, tokenizer, eos_id, "tokenizing val")
    summary = {
        "train_files": [str(p) for p in train_files],
        "val_files": [str(p) for p in val_files],
        "val_split": "files" if val_files else f"{val_fraction:.0%} of documents, by content hash",
        "cleaning": asdict(stats),
        "cleaning_summary": stats.summary(),
        "val_cleaning_summary": val_stats.summary() if val_stats else None,
        "train_documents": len(train_docs),
        "val_documents": len(val_docs),
        "train_tokens": int(len(train)),
        "val_tokens": int(len(val)),
        "dtype": np.dtype(train.dtype).name,
        "seconds": round(time.time() - start, 1),
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(cache_dir / "train.bin", train.tofile)
    atomic_write(cache_dir / "val.bin", val.tofile)
    # Written last: its presence marks a complete cache.
    atomic_write(meta_path, json.dumps(summary, indent=1).encode())
    print(
        f"tokens: {len(train):,} train, {len(val):,} val in {summary['seconds']} s (cached in {cache_dir})",
        file=sys.stderr,
    )
    return TokenData(train=train, val=val, summary=summary, cache_dir=cache_dir)
