"""Scoring the model on the held-out windows during training, and keeping the best weights.

PyTorch's own loss on windows spread evenly over the validation tokens
(finetune.evaluate.window_starts, the same spread `writer-finetune eval`
uses through llama.cpp). Rank 0 scores; the ranks then agree on the count of
evaluations without improvement, so that all of them stop early together.
"""

from __future__ import annotations

import math

from finetune.checkpoint import Checkpointer, RunState
from finetune.errors import FinetuneError
from finetune.report import eval_row


def validation_loss(model, tokens, starts, block: int, autocast, batch: int = 4) -> float:
    """Mean next-token loss of `model` over the windows of block + 1 tokens at `starts`."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    model.eval()
    losses = []
    with torch.no_grad():
        for i in range(0, len(starts), batch):
            w = np.stack(
                [
                    np.asarray(tokens[s : s + block + 1], dtype=np.int64)
                    for s in starts[i : i + batch]
                ]
            )
            w = torch.from_numpy(w).to(device)
            with autocast:
                logits = model(input_ids=w[:, :-1]).logits
            nll = F.cross_entropy(logits.float().transpose(1, 2), w[:, 1:], reduction="none")
            losses.append(nll.mean(1))
    model.train()
    return torch.cat(losses).mean().item()


class Validation:
    """Scores the model on the validation windows, logs it and keeps the best weights.

    `ranks` is the run's finetune.distributed.Ranks; `metrics` its
    finetune.report.MetricsLog; `ckpt` the Checkpointer that writes OUT/best.
    """

    def __init__(self, model, tokens, starts, block, autocast, metrics, ckpt: Checkpointer, ranks):
        self.model, self.tokens, self.starts, self.block = model, tokens, starts, block
        self.autocast, self.metrics, self.ckpt, self.ranks = autocast, metrics, ckpt, ranks
        self.last: float | None = None  # the latest validation loss (rank 0)

    def score(self, step: int) -> float:
        """Return the validation loss now; raises FinetuneError when it is not finite."""
        loss = validation_loss(self.model, self.tokens, self.starts, self.block, self.autocast)
        if not math.isfinite(loss):
            raise FinetuneError(
                f"the validation loss became {loss} at step {step}; the last good "
                f"checkpoint is kept in {self.ckpt.folder}. Lower --lr, or check the data"
            )
        return loss

    def base(self) -> None:
        """Log the model's validation loss before training (step 0), without keeping it."""
        if self.ranks.master:
            loss = self.score(0)
            self.metrics.log(eval_row(step=0, tokens=0, val_loss=loss, elapsed=0.0))

    def __call__(self, run: RunState, bar) -> int:
        """Score, log, keep the weights if they are the best yet; return the number of
        evaluations in a row without improvement (the same on every rank)."""
        if self.ranks.master:
            loss = self.last = self.score(run.step)
            improved = loss < run.best_val
            self.metrics.log(
                eval_row(step=run.step, tokens=run.tokens, val_loss=loss, elapsed=run.elapsed)
            )
            bar.note(
                f"step {run.step}: val loss {loss:.4f}, "
                f"ppl {math.exp(loss):.2f}{' (best)' if improved else ''}"
            )
            if improved:
                run.best_val, run.bad_evals = loss, 0
                self.ckpt.save_best()
            else:
                run.bad_evals += 1
        run.bad_evals = self.ranks.agree(run.bad_evals)
        return run.bad_evals
