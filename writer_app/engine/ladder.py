"""What the app does when the engine process crashes: restart, step down to safer settings, stop.

A crash restarts the engine after a short wait that doubles with each crash
in a row. After CRASHES_PER_RUNG crashes at the same settings it steps down
one rung of RUNGS, each safer than the one above: no CPU extra buffer types
(the AMX crash), then no GPU offload (drivers), then one thread. Rungs that
would change nothing on this machine are skipped. Past the last rung the
engine stays off until the writer asks to retry, or the app starts again.

The rung that worked is remembered per model file and machine (memory_key),
so the next start begins there instead of crashing first. Off is never
remembered: it only says that this run's engine kept failing (a burst of
kills, a machine out of memory for a while), and the next run tries again
from the rung that worked. Qt-free: the UI keeps a CrashLadder and persists
its rung by name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from gpt2gguf.cpu import cpu_model_name
from writer_app.engine.config import EngineConfig


@dataclass(frozen=True)
class Rung:
    """One set of loading settings; `name` is worded for the status bar."""

    name: str
    overrides: tuple[tuple[str, object], ...] = ()


RUNGS = (
    Rung("your settings"),
    Rung("no CPU extra buffer types", (("use_extra_bufts", False),)),
    Rung("no GPU offload", (("use_extra_bufts", False), ("n_gpu_layers", 0))),
    Rung("1 CPU thread", (("use_extra_bufts", False), ("n_gpu_layers", 0), ("n_threads", 1))),
)
OFF = len(RUNGS)  # below the last rung: suggestions off
OFF_NAME = "off"
CRASHES_PER_RUNG = 2  # crashes at the same settings before stepping down
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # wait before the n-th restart in a row
LADDER_FIELDS = ("use_extra_bufts", "n_gpu_layers", "n_threads")


def config_at(base: EngineConfig, rung: int) -> EngineConfig:
    """Return `base` with the overrides of `rung` (the last rung's when off)."""
    return dataclasses.replace(base, **dict(RUNGS[min(rung, OFF - 1)].overrides))


def rung_name(rung: int) -> str:
    """Return the name a rung that worked is remembered by.

    Raises ValueError for OFF: off lasts one run and is never remembered.
    """
    if rung >= OFF:
        raise ValueError("suggestions off is not remembered across runs")
    return RUNGS[rung].name


def rung_by_name(name: str | None) -> int:
    """Return the rung a run starts at when `name` is remembered: 0 for none, an unknown
    name, or OFF_NAME (older versions remembered it; a run never starts off)."""
    return next((i for i, r in enumerate(RUNGS) if r.name == name), 0)


@dataclass(frozen=True)
class Decision:
    """What to do after a crash: restart at `rung` after `delay_s` (or stay off)."""

    rung: int
    delay_s: float
    stepped_down: bool

    @property
    def off(self) -> bool:
        """Whether the engine should stay off."""
        return self.rung >= OFF


class CrashLadder:
    """Counts crashes and says which settings to try next.

    `defaults` are what automatic (None) settings resolve to on this machine
    (the engine process's Hello); without them no rung is skipped.
    """

    def __init__(self, rung: int = 0):
        self.rung = rung
        self.crashes_here = 0  # at this rung, since a request last worked
        self.in_a_row = 0  # crashes since a request last worked (sets the backoff)
        self.defaults: dict = {}

    @property
    def off(self) -> bool:
        """Whether the ladder has run out: suggestions stay off."""
        return self.rung >= OFF

    def config(self, base: EngineConfig) -> EngineConfig:
        """Return the settings to load now: `base` made as safe as the rung says."""
        return config_at(base, self.rung)

    def crashed(self, base: EngineConfig) -> Decision:
        """Count one crash of the engine running config(base); return what to do."""
        self.in_a_row += 1
        self.crashes_here += 1
        stepped = False
        if self.crashes_here >= CRASHES_PER_RUNG and not self.off:
            self.rung, self.crashes_here, stepped = self._next_rung(base), 0, True
        delay = BACKOFF_S[min(self.in_a_row, len(BACKOFF_S)) - 1]
        return Decision(self.rung, delay, stepped)

    def worked(self) -> None:
        """A request was answered: the current settings hold; forget the crash counts."""
        self.crashes_here = self.in_a_row = 0

    def reset(self, rung: int = 0) -> None:
        """Start again at `rung` with no crashes counted (Retry, another model)."""
        self.rung, self.crashes_here, self.in_a_row = rung, 0, 0

    def _next_rung(self, base: EngineConfig) -> int:
        here = self._resolved(self.config(base))
        rung = self.rung + 1
        while rung < OFF and self._resolved(config_at(base, rung)) == here:
            rung += 1
        return rung

    def _resolved(self, config: EngineConfig) -> tuple:
        values = []
        for name in LADDER_FIELDS:
            value = getattr(config, name)
            if value is None:
                value = self.defaults.get(name, object())  # unknown: differs from everything
            if name == "n_gpu_layers" and isinstance(value, int):
                value = value != 0  # any offload is "GPU"; the rung only turns it off
            values.append(value)
        return tuple(values)


def memory_key(model_path: Path) -> str:
    """Return the key the working rung is remembered under: this model file (path, size,
    modification time) on this machine (host name, CPU, llama-cpp-python version)."""
    path = Path(model_path).expanduser().absolute()
    try:
        st = path.stat()
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size = mtime = 0
    try:
        llama_version = metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        llama_version = ""
    parts = (
        path,
        size,
        mtime,
        platform.node(),
        platform.machine(),
        cpu_model_name(),
        llama_version,
    )
    return hashlib.sha1("\n".join(map(str, parts)).encode("utf-8")).hexdigest()[:20]
