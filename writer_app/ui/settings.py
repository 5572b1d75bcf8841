"""The app's settings: one dataclass, loaded from and saved to QSettings here and only here.

Stored as an INI file in the user's config folder (QSettings.IniFormat), so
tests can point QSettings.setPath at a temporary folder. The file is private
(0600, in a 0700 folder of its own), and it cannot stop the app: a file Qt
cannot parse is moved aside (writer-app.ini.bad-...), a value that does not
parse falls back to its default, and either is told to the writer once
(core/state_files.py); a save that fails is told too, never ignored.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from PySide6.QtCore import QSettings

from writer_app.core.paths import PRIVATE_FILE_MODE, private_dir
from writer_app.core.spelling import DEFAULT_LANGUAGE
from writer_app.core.state_files import move_aside, tell
from writer_app.engine.config import EngineConfig

ORGANIZATION = "writer-app"
APPLICATION = "writer-app"
log = logging.getLogger(__name__)
MAX_RECENT_FILES = 10
LENGTH_UNITS = ("words", "sentences")
THEMES = ("light", "dark")
FONT_SIZES = (6, 72)  # the text's smallest and largest size, in points
MODELS_CHOICE = -1.0  # AppSettings.confidence: the model's calibrated value
# llama.cpp's CPU extra buffer types: "auto" is off on x86-64 Linux with AMX (gpt2gguf/cpu.py).
EXTRA_BUFFERS = {"auto": None, "on": True, "off": False}
# Serif faces that read well as prose, best first; the first one installed wins.
PROSE_FONTS = (
    "Charter",
    "Iowan Old Style",
    "Georgia",
    "Palatino Linotype",
    "Palatino",
    "Source Serif 4",
    "Noto Serif",
    "Liberation Serif",
    "DejaVu Serif",
    "Times New Roman",
)


@dataclass
class AppSettings:
    """Everything the writer can set. Empty/zero/negative values mean "automatic"."""

    model_path: str = ""  # "": the bundled default model
    n_threads: int = 0  # 0: llama.cpp's choice (physical cores)
    n_gpu_layers: int = -1  # -1: all layers if the build can offload
    extra_buffers: str = "auto"  # a key of EXTRA_BUFFERS
    debounce_ms: int = 200  # pause before a suggestion is requested
    length_unit: str = "words"  # "words" or "sentences"
    length: int = 12  # how many words, or sentences
    alt_temperature: float = 0.8  # sampling temperature of the Alt+] alternatives
    # "Suggestion confidence": show only what the model is at least this sure of (0:
    # everything). Negative: the model's choice (MODELS_CHOICE), the value calibrated
    # for it, else engine.config.DEFAULT_CONFIDENCE. A file saved before models had a
    # choice holds the old default, 0.2, as a number: it stays the writer's own, since
    # those versions wrote every field on each save and an untouched 0.2 cannot be told
    # from a chosen one (Settings' "Let the model choose" goes back).
    confidence: float = MODELS_CHOICE
    document_cache: bool = True  # learn names and phrases from the document
    daily_goal: int = 0  # words to write a day (0: none); the status bar counts toward it
    font_family: str = ""  # "": the first installed of PROSE_FONTS
    font_size: int = 14  # points, within FONT_SIZES
    line_height: int = 150  # percent of the font's line height
    text_width_chars: int = 72  # the text column's width, in average characters
    theme: str = "light"
    ghost_italic: bool = False  # suggestions in italics: set apart by shape as well as grey
    suggestions_enabled: bool = True
    show_latency: bool = False  # the last suggestion's time in the status bar
    show_welcome: bool = True  # Help → Getting Started at the next start
    spelling: bool = True  # underline misspelled words
    spelling_language: str = DEFAULT_LANGUAGE  # an enchant dictionary, e.g. "en_GB"
    recent_files: list[str] = field(default_factory=list)
    last_project: str = ""  # the project folder open at the last exit, reopened at start
    last_file: str = ""  # the file shown at the last exit: in the project, shown again there
    last_position: int = 0  # the cursor's place in last_file

    def engine_config(self) -> EngineConfig:
        """Return the EngineConfig these settings describe."""
        words = self.length_unit == "words"
        length = max(1, self.length)
        return EngineConfig(
            model_path=Path(self.model_path) if self.model_path else None,
            n_threads=self.n_threads if self.n_threads > 0 else None,
            n_gpu_layers=self.n_gpu_layers if self.n_gpu_layers >= 0 else None,
            use_extra_bufts=EXTRA_BUFFERS.get(self.extra_buffers),
            # A sentence limit needs room in words and tokens, and vice versa.
            max_words=length if words else 40 * length,
            max_sentences=99 if words else length,
            max_tokens=max(16, 3 * length) if words else 60 * length,
            alt_temperature=self.alt_temperature,
            confidence=None if self.models_choice else min(self.confidence, 0.99),
            document_cache=self.document_cache,
        )

    @property
    def models_choice(self) -> bool:
        """Whether the suggestion confidence is left to the model (not set by the writer)."""
        return self.confidence < 0

    def add_recent_file(self, path: str) -> None:
        """Put `path` first in recent_files, without duplicates, keeping MAX_RECENT_FILES."""
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT_FILES:]


def open_qsettings() -> QSettings:
    """Return the QSettings store the app uses (an INI file in the user scope)."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


def load_settings(store: QSettings | None = None) -> AppSettings:
    """Return the saved settings; missing or malformed values fall back to defaults.

    Never raises: a settings file Qt cannot parse is moved aside, and each
    value that does not parse is left at its default; the writer is told
    (core/state_files.py).
    """
    store = store or open_qsettings()
    if store.status() == QSettings.Status.FormatError:
        moved = move_aside(store.fileName())
        kept = f" (kept as {moved.name})" if moved else ""
        tell(
            f"Your settings file {store.fileName()} could not be read{kept}, so Writer "
            "started with the default settings."
        )
        store = QSettings(store.fileName(), QSettings.Format.IniFormat)
    defaults = AppSettings()
    values = {}
    for f in fields(AppSettings):
        default = getattr(defaults, f.name)
        try:
            raw = store.value(f.name, None)
            if raw is None:
                continue
            values[f.name] = _convert(raw, default)
        except Exception:  # noqa: BLE001 (any value: settings must not stop the start)
            tell(
                f"The setting “{f.name}” in {store.fileName()} could not be read, so its "
                "default is used."
            )
    settings = AppSettings(**values)
    if settings.length_unit not in LENGTH_UNITS:
        settings.length_unit = defaults.length_unit
    if settings.theme not in THEMES:
        settings.theme = defaults.theme
    if settings.extra_buffers not in EXTRA_BUFFERS:
        settings.extra_buffers = defaults.extra_buffers
    if not math.isfinite(settings.confidence):
        settings.confidence = defaults.confidence
    return settings


def save_settings(settings: AppSettings, store: QSettings | None = None) -> bool:
    """Write every field of `settings` to QSettings and flush it to disk; return success.

    A failure (an unwritable folder, a full disk) is logged and told to the
    writer (core/state_files.py): the window shows it.
    """
    store = store or open_qsettings()
    for name, value in asdict(settings).items():
        store.setValue(name, value)
    return _sync(store)


def _sync(store: QSettings) -> bool:
    # The folder first: a file created in a private folder is never readable by others.
    path = Path(store.fileName())
    try:
        private_dir(path.parent)
    except OSError as err:
        log.warning("cannot make the settings folder %s private: %s", path.parent, err)
    store.sync()
    if store.status() != QSettings.Status.NoError:
        log.warning("saving the settings to %s failed: %s", path, store.status())
        tell(
            f"Your settings could not be saved to {path} (the file or its folder cannot be "
            "written). They apply until Writer closes; check that folder."
        )
        return False
    try:
        os.chmod(path, PRIVATE_FILE_MODE)
    except OSError:
        pass
    return True


# The engine settings that worked, per model file and machine (engine/ladder.py):
# not a preference, so kept apart from AppSettings, in a group of the same file.
ENGINE_MEMORY_GROUP = "engine_safe_settings"


def remembered_rung(key: str, store: QSettings | None = None) -> str | None:
    """Return the name of the rung remembered for `key` (ladder.memory_key), or None."""
    store = store or open_qsettings()
    value = store.value(f"{ENGINE_MEMORY_GROUP}/{key}", None)
    return str(value) if value else None


def remember_rung(key: str, name: str | None, store: QSettings | None = None) -> None:
    """Remember rung `name` for `key`; None forgets it (the writer's own settings work)."""
    store = store or open_qsettings()
    if name is None:
        store.remove(f"{ENGINE_MEMORY_GROUP}/{key}")
    else:
        store.setValue(f"{ENGINE_MEMORY_GROUP}/{key}", name)
    _sync(store)


def _convert(raw, default):
    # INI files give strings back; turn them into the field's type.
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
    if isinstance(default, list):
        if isinstance(raw, str):
            return [raw] if raw else []
        return [str(item) for item in raw]
    return type(default)(raw)
