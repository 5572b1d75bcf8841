"""`writer-finetune export`: a GPT-2 checkpoint becomes a verified, quantized GGUF.

Flow: read the checkpoint (finetune.convert) -> write an F32 GGUF into a temp
dir -> quantize it with llama.cpp -> verify against PyTorch -> rename into
place. The target path only ever sees a complete, verified file.
"""

from __future__ import annotations

import argparse
import errno
import glob
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from finetune.errors import ExportError
from finetune.interrupts import terminate_as_interrupt
from finetune.locks import pid_alive
from gpt2gguf.constants import LlamaFileType
from gpt2gguf.files import fsync_dir
from gpt2gguf.llama import quantize_model

# Our quant name -> llama.cpp file type. f32/f16 are written directly by the
# converter; the rest are quantized by llama.cpp from an F32 intermediate.
QUANT_TYPES: dict[str, int] = {
    "f32": LlamaFileType.ALL_F32,
    "f16": LlamaFileType.MOSTLY_F16,
    "q8_0": LlamaFileType.MOSTLY_Q8_0,
    "q6_k": LlamaFileType.MOSTLY_Q6_K,
    "q5_k_m": LlamaFileType.MOSTLY_Q5_K_M,
    "q4_k_m": LlamaFileType.MOSTLY_Q4_K_M,
}
# Elements per quantization block: a tensor whose rows are not a multiple of
# this cannot use the type, and llama.cpp falls back to another one for it.
BLOCK_SIZE: dict[str, int] = {
    "f32": 1,
    "f16": 1,
    "q8_0": 32,
    "q6_k": 256,
    "q5_k_m": 256,
    "q4_k_m": 256,
}
PARTIAL_SUFFIX = ".partial.tmp"  # .NAME.PID.partial.tmp: the file being written
UNQUANTIZED = {"position_embd.weight"}  # llama.cpp keeps it F32 whatever the type

# Export fails when verify finds more logits error than this (None: report only;
# quantized files are judged by top-1 agreement and perplexity change instead).
MAX_REL_L2: dict[str, float | None] = {
    "f32": 1e-3,
    "f16": 5e-3,
    "q8_0": None,
    "q6_k": None,
    "q5_k_m": None,
    "q4_k_m": None,
}


def _disk_full_message(path: Path) -> str:
    return f"disk full while writing {path}; free some space and export again"


def _disk_is_full(folder: Path) -> bool:
    """True if folder's disk has (almost) no space left.

    Some writers report a full disk as a short write without ENOSPC (numpy's
    tofile, llama.cpp's iostreams), so after a failed write we look.
    """
    try:
        return shutil.disk_usage(folder).free < 1024 * 1024
    except OSError:
        return False


def _words(exc: OSError, path: Path, started: bool) -> str:
    """Return an OSError as a sentence about path; started: the partial file exists."""
    if exc.errno == errno.ENOSPC or (started and _disk_is_full(path.parent)):
        return _disk_full_message(path)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: permission denied or read-only disk"
    return f"cannot write {path}: {exc.strerror or exc}"


def _check_target(out_path: Path) -> None:
    if out_path.is_dir():
        raise ExportError(
            f"{out_path} is a folder; give a file name such as {out_path / 'model.gguf'}"
        )
    parent = out_path.parent
    if not parent.exists():
        raise ExportError(f"cannot write {out_path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"cannot write {out_path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"cannot write {out_path}: folder {parent} is not writable")


def _remove_stale_partials(out_path: Path) -> None:
    """Delete the partial files of out_path left by exports that were killed (their
    pid no longer runs); a running export's partial file is its own and stays."""
    prefix = f".{out_path.name}."
    for stale in out_path.parent.glob(glob.escape(prefix) + "*" + PARTIAL_SUFFIX):
        pid = stale.name[len(prefix) : -len(PARTIAL_SUFFIX)]
        if pid.isdigit() and not pid_alive(int(pid)):
            stale.unlink(missing_ok=True)


def quantize_gguf(src: Path, dst: Path, quant: str, *, n_threads: int = 0) -> list[str]:
    """Quantize the F32/F16 GGUF src into dst with llama.cpp.

    Returns llama.cpp's warning lines (e.g. per-tensor fallbacks). Raises
    ExportError if llama.cpp fails.
    """
    status, log = quantize_model(src, dst, QUANT_TYPES[quant], n_threads=n_threads)

    def lines(*needles: str) -> list[str]:
        return [line for line in log if any(n in line for n in needles)]

    if status != 0:
        detail = " ".join(lines("error", "failed", "No space")) or f"status {status}"
        if "No space" in detail:
            raise ExportError(f"disk full while writing {dst}")
        raise ExportError(f"llama.cpp could not quantize to {quant}: {detail}")
    # llama.cpp logs one line per fallback tensor, then a count; keep the count.
    return [
        "llama.cpp: " + line.split(": ", 1)[-1] for line in lines("required fallback quantization")
    ]


def _fallback_warning(checkpoint, quant: str, tensor_types: dict[str, int]) -> str | None:
    """Return a sentence if some 2-D tensors are too narrow for the quant type, else None."""
    block = BLOCK_SIZE[quant]
    narrow = [
        a.shape[1]
        for name, a in checkpoint.tensors.items()
        if a.ndim == 2 and a.shape[1] % block and name not in UNQUANTIZED
    ]
    if not narrow:
        return None
    types = ", ".join(f"{k} x{v}" for k, v in sorted(tensor_types.items()))
    return (
        f"{quant}: {len(narrow)} tensor(s) have rows of width {', '.join(map(str, sorted(set(narrow))))}, "
        f"not a multiple of {block} as {quant} needs, so llama.cpp stored those in other types "
        f"(tensor types in the file: {types})"
    )


def export_gguf(
    checkpoint_dir: Path,
    out_path: Path,
    quant: str = "q8_0",
    *,
    verify: bool = True,
    verify_text: str | None = None,
    allow_pickle: bool = False,
    name: str | None = None,
    description: str | None = None,
    license: str | None = None,
    training_summary: dict | None = None,
) -> dict:
    """Convert a save_pretrained GPT-2 dir to a GGUF of the given quant type at out_path.

    Runs verify (PyTorch vs llama.cpp on a short text) unless verify=False.
    Returns a summary dict: out, quant, size_bytes, seconds (total, convert,
    quantize, verify), tensor_types, warnings, n_vocab, n_placeholder_tokens
    and verify (the figures, or None). Raises CheckpointError for a bad
    checkpoint and ExportError for a bad target, a failed quantization, a
    full disk or a verify failure; on any error out_path is left untouched.
    """
    from finetune.convert import load_checkpoint, write_gguf
    from gpt2gguf.errors import ModelFileError
    from gpt2gguf.validate import validate_gguf

    if quant not in QUANT_TYPES:
        raise ExportError(f"unknown quant type {quant!r}; choose one of {', '.join(QUANT_TYPES)}")
    out_path = Path(out_path)
    _check_target(out_path)
    t0 = time.perf_counter()
    checkpoint = load_checkpoint(Path(checkpoint_dir), allow_pickle=allow_pickle)

    _remove_stale_partials(out_path)
    partial = out_path.with_name(f".{out_path.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    warnings: list[str] = []
    times = {"convert": 0.0, "quantize": 0.0, "verify": 0.0}
    verify_result = None
    try:
        with tempfile.TemporaryDirectory(prefix="writer-export-") as tmp:
            meta = {
                "name": name,
                "description": description,
                "license": license,
                "training_summary": training_summary,
            }
            if quant in ("f32", "f16"):
                convert_info = write_gguf(checkpoint, partial, quant, **meta)
                times["convert"] = time.perf_counter() - t0
            else:
                intermediate = Path(tmp) / "model-f32.gguf"
                convert_info = write_gguf(checkpoint, intermediate, "f32", **meta)
                times["convert"] = time.perf_counter() - t0
                t1 = time.perf_counter()
                warnings += quantize_gguf(intermediate, partial, quant)
                times["quantize"] = time.perf_counter() - t1
            # The temp dir (and the big F32 intermediate) goes away here.
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        try:
            info = validate_gguf(partial)
        except ModelFileError as exc:
            raise ExportError(f"the exported file failed validation: {exc}") from exc
        fallback = _fallback_warning(checkpoint, quant, info.tensor_types)
        if fallback:
            warnings.insert(0, fallback)
        if convert_info["n_placeholder_tokens"]:
            warnings.append(
                f"{convert_info['n_placeholder_tokens']} embedding rows have no token in the tokenizer; "
                "they were named <|extra_N|> and marked unused"
            )

        if verify:
            from finetune.verify import verify_gguf

            t2 = time.perf_counter()
            verify_result = verify_gguf(
                checkpoint.path, partial, verify_text, allow_pickle=allow_pickle
            )
            times["verify"] = time.perf_counter() - t2
            if not all(
                math.isfinite(verify_result[k]) for k in ("rel_l2", "ppl_torch", "ppl_gguf")
            ):
                raise ExportError(
                    "verify failed: the model's logits contain NaN or infinity "
                    "(did training diverge?); file not written"
                )
            limit = MAX_REL_L2[quant]
            if limit is not None and not verify_result["rel_l2"] <= limit:
                raise ExportError(
                    f"verify failed: the {quant} GGUF's logits are off by {verify_result['rel_l2']:.2e} "
                    f"relative L2 (limit {limit:.0e}); the conversion is wrong, file not written"
                )
        os.replace(partial, out_path)
        fsync_dir(out_path.parent)
    except OSError as exc:
        raise ExportError(_words(exc, out_path, partial.exists())) from exc
    except ExportError as exc:
        # Checked while the partial file still holds the space it took.
        if partial.exists() and _disk_is_full(out_path.parent):
            raise ExportError(_disk_full_message(out_path)) from exc
        raise
    finally:
        if partial.exists():
            partial.unlink()

    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    return {
        "out": str(out_path),
        "quant": quant,
        "size_bytes": out_path.stat().st_size,
        "seconds": round(time.perf_counter() - t0, 3),
        "seconds_convert": round(times["convert"], 3),
        "seconds_quantize": round(times["quantize"], 3),
        "seconds_verify": round(times["verify"], 3),
        "tensor_types": info.tensor_types,
        "n_vocab": convert_info["n_vocab"],
        "n_placeholder_tokens": convert_info["n_placeholder_tokens"],
        "warnings": warnings,
        "verify": verify_result,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint", type=Path, metavar="CHECKPOINT_DIR", help="a save_pretrained GPT-2 folder"
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="MODEL.gguf", help="the GGUF file to write"
    )
    parser.add_argument(
        "--quant", choices=list(QUANT_TYPES), default="q8_0", help="weight type (default q8_0)"
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the PyTorch vs llama.cpp check"
    )
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load pytorch_model.bin (runs pickled code: trusted files only)",
    )
    parser.add_argument("--name", help="general.name shown in the app (default: the folder name)")
    parser.add_argument("--description", help="general.description")
    parser.add_argument("--license", help="general.license")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    print(f"exporting {args.checkpoint} to {args.out} ({args.quant})...", file=sys.stderr)
    with terminate_as_interrupt():  # a SIGTERM still removes the partial file
        summary = export_gguf(
            args.checkpoint,
            args.out,
            args.quant,
            verify=not args.no_verify,
            allow_pickle=args.allow_pickle,
            name=args.name,
            description=args.description,
            license=args.license,
        )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"wrote {summary['out']} ({summary['size_bytes'] / 1e6:.1f} MB, {summary['quant']}) in {summary['seconds']:.1f} s"
    )
    v = summary["verify"]
    if v:
        print(
            f"verify: rel L2 {v['rel_l2']:.2e}, top-1 agreement {v['top1_agreement']:.3f}, "
            f"perplexity {v['ppl_torch']:.2f} -> {v['ppl_gguf']:.2f} ({v['ppl_change_pct']:+.2f}%)"
        )
    return 0
