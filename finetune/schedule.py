"""How long a run is, the learning rate at each step, and how long the rest will take.

`SchedulePlanner` holds the one estimate of a step's duration (the median of
the recent steps, which compile warm-up and a busy moment do not skew). It
fits the number of steps to a `--max-minutes` budget and gives the remaining
time the progress bar shows, so the two never disagree.

The learning rate is the peak times a factor of the step (`lr_factor`), so
that param groups with their own peaks (Muon's matrices, AdamW's rest) follow
one curve: `--schedule cosine` (warmup, then cosine decay to the floor) or
`--schedule wsd` (warmup, stable at the peak, then a (1 - sqrt) cooldown over
the last `--cooldown` share of the steps; Hägele et al. 2024, "Scaling Laws
and Compute-Optimal Training Beyond Fixed Training Durations").
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

# Steps timed for the estimate: enough for a stable median, recent enough to
# follow a machine that gets busier or quieter.
RECENT_STEPS = 50
MIN_TIMED_STEPS = 5
REFIT_EVERY = 10
# The share of a time budget given to training steps: the rest pays for the
# evaluations, checkpoints and the final save.
BUDGET_SHARE = 0.97


def _warmup(warmup_steps: int, total: int) -> int:
    # A short run keeps most of its steps for learning: warmup is at most a tenth.
    return min(warmup_steps, max(1, total // 10))


def cosine_factor(step: int, total: int, warmup_steps: int, min_lr_ratio: float, _cooldown=0.0):
    """Linear warmup, then cosine decay from 1 to min_lr_ratio at `total` steps."""
    warmup = _warmup(warmup_steps, total)
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr_ratio + 0.5 * (1 - min_lr_ratio) * (1 + math.cos(math.pi * progress))


def wsd_factor(step: int, total: int, warmup_steps: int, min_lr_ratio: float, cooldown: float):
    """Linear warmup, 1 until the last `cooldown` share of `total`, then 1 - sqrt down to
    min_lr_ratio.

    The (1 - sqrt) cooldown stays high longer than a linear one and then drops
    fast, which Hägele et al. found matches a cosine run's final loss.
    """
    warmup = _warmup(warmup_steps, total)
    if step < warmup:
        return (step + 1) / warmup
    start = max(warmup, total - max(1, round(cooldown * total)))
    if step < start:
        return 1.0
    progress = min(1.0, (step - start) / max(1, total - start))
    return min_lr_ratio + (1 - min_lr_ratio) * (1 - math.sqrt(progress))


# --schedule NAME -> the factor of the peak learning rate at a step.
SCHEDULES = {"cosine": cosine_factor, "wsd": wsd_factor}


def lr_factor(
    step: int,
    total: int,
    warmup_steps: int,
    min_lr_ratio: float,
    schedule: str = "cosine",
    cooldown: float = 0.2,
) -> float:
    """The share of the peak learning rate at `step` of `total`, by the named schedule."""
    return SCHEDULES[schedule](step, total, warmup_steps, min_lr_ratio, cooldown)


def lr_at(step: int, total: int, lr: float, warmup_steps: int, min_lr_ratio: float) -> float:
    """Linear warmup, then cosine decay to lr * min_lr_ratio at `total` steps."""
    return lr * cosine_factor(step, total, warmup_steps, min_lr_ratio)


@dataclass
class SchedulePlanner:
    """The run's length and learning-rate schedule, and the time it still needs.

    `total_steps` is None while a time-budgeted run has not yet timed enough
    steps to know its length.
    """

    lr: float
    warmup_steps: int
    min_lr_ratio: float
    total_steps: int | None
    budget_s: float | None = None  # set: the run's length is fitted to this many seconds
    step_times: list[float] = field(default_factory=list)
    schedule: str = "cosine"
    cooldown: float = 0.2

    @classmethod
    def plan(
        cls,
        *,
        lr: float,
        warmup_steps: int,
        min_lr_ratio: float,
        train_tokens: int,
        tokens_per_step: int,
        max_steps: int | None = None,
        epochs: float | None = None,
        max_minutes: float | None = None,
        schedule: str = "cosine",
        cooldown: float = 0.2,
    ) -> SchedulePlanner:
        """The plan for a new run: --max-steps, else --epochs, else the --max-minutes
        budget, else one epoch; the learning rate by `schedule` (see SCHEDULES)."""
        total = max_steps
        if total is None and epochs:
            total = max(1, int(epochs * train_tokens / tokens_per_step))
        budget = None
        if total is None and max_minutes:
            budget = max_minutes * 60
        elif total is None:
            total = max(1, int(train_tokens / tokens_per_step))
        return cls(
            lr, warmup_steps, min_lr_ratio, total, budget, schedule=schedule, cooldown=cooldown
        )

    @property
    def fitted(self) -> bool:
        """True when the run's length follows the clock rather than a step count."""
        return self.budget_s is not None

    def factor_at(self, step: int) -> float:
        """The share of each group's peak learning rate for `step` (a run of unknown
        length is still warming up, or stable)."""
        total = self.total_steps if self.total_steps is not None else max(step + 1, 10**9)
        return lr_factor(
            step, total, self.warmup_steps, self.min_lr_ratio, self.schedule, self.cooldown
        )

    def lr_at(self, step: int) -> float:
        """The learning rate for `step` at the peak `lr` (--lr)."""
        return self.lr * self.factor_at(step)

    def done(self, step: int) -> bool:
        """True once `step` steps complete the run."""
        return self.total_steps is not None and step >= self.total_steps

    def record(self, seconds: float) -> None:
        """Time one training step (leave out the first steps, which compile)."""
        self.step_times.append(seconds)
        del self.step_times[:-RECENT_STEPS]

    def seconds_per_step(self) -> float | None:
        """The estimate: the median of the recent step times, or None before enough are timed."""
        if len(self.step_times) < MIN_TIMED_STEPS:
            return None
        return statistics.median(self.step_times)

    def refit(self, step: int, elapsed: float) -> bool:
        """Fit the run's length to what is left of the budget: steps = time left / step time.

        Done every REFIT_EVERY steps and as soon as the estimate exists; returns
        True when `total_steps` was set.
        """
        per_step = self.seconds_per_step()
        if not self.fitted or per_step is None:
            return False
        if self.total_steps is not None and step % REFIT_EVERY:
            return False
        left = self.budget_s * BUDGET_SHARE - elapsed
        self.total_steps = max(step + 1, step + int(left / per_step))
        return True

    def stop_at(self, step: int) -> None:
        """End the run at `step` (early stopping)."""
        self.total_steps = step

    def remaining_s(self, step: int, elapsed: float) -> float | None:
        """Seconds the run still needs after `step`, by the same estimate that fits its length.

        None while nothing is known: no step timed yet and no budget.
        """
        per_step = self.seconds_per_step()
        if per_step is None or self.total_steps is None:
            if self.fitted:
                return max(0.0, self.budget_s * BUDGET_SHARE - elapsed)
            return None
        return max(0, self.total_steps - step) * per_step
