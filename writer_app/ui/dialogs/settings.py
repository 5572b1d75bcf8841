"""The Settings dialog: edits a copy of AppSettings; the window applies it live on OK.

Grouped as a writer thinks of them: Writing (what the suggestions do), Spelling,
Appearance (the page), the Model, and Advanced (the engine's machinery), folded
away until asked for. Every input says in one line what it does (its tooltip);
the engine's own words and numbers stay in Advanced and in tooltips.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFontComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gpt2gguf.constants import default_model_path
from gpt2gguf.errors import ModelFileError
from gpt2gguf.validate import GGUFInfo, validate_gguf
from writer_app.core.spelling import languages as spelling_languages
from writer_app.engine.config import DEFAULT_CONFIDENCE, resolve_confidence
from writer_app.training.errors import TrainingError
from writer_app.training.library import ModelCard, delete_model, list_models
from writer_app.ui.settings import (
    EXTRA_BUFFERS,
    FONT_SIZES,
    LENGTH_UNITS,
    MODELS_CHOICE,
    THEMES,
    AppSettings,
)

MAX_DAILY_GOAL = 100_000
# How sure the model must be, in words: (highest confidence in percent, words), in order.
CONFIDENCE_WORDS = (
    (0, "suggest everything"),
    (10, "suggest freely"),
    (30, "balanced"),
    (55, "careful"),
    (95, "only when sure"),
)
MAX_CONFIDENCE_PERCENT = 95
# Where the model's choice came from (engine.config.resolve_confidence), for its tooltip.
CHOICE_SOURCES = {
    "model": "measured on held-out text when the model was made",
    "default": "this model has not been measured, so the usual value",
}


def count_parameters(info: GGUFInfo) -> int:
    """Return about how many weights a GPT-2 of `info`'s shape has."""
    d = info.n_embd
    per_layer = 12 * d * d + 13 * d  # attention and feed-forward, with biases and norms
    return (info.n_vocab + info.n_ctx) * d + info.n_layer * per_layer + 2 * d


def describe_size(size: int) -> str:
    """Return a file size for people: "23 MB", "420 kB"."""
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def describe_model(info: GGUFInfo) -> str:
    """Return a one-line summary of a model for people, e.g.
    "writer-default · about 19 million parameters · 23 MB"."""
    millions = count_parameters(info) / 1e6
    weights = f"about {millions:.0f} million" if millions >= 1 else "under a million"
    return " · ".join(
        (info.name or info.path.stem, f"{weights} parameters", describe_size(info.size))
    )


def confidence_words(percent: int) -> str:
    """Return how sure a suggestion must be, in words, for a confidence in percent."""
    return next(
        (words for top, words in CONFIDENCE_WORDS if percent <= top), CONFIDENCE_WORDS[-1][1]
    )


class Folded(QWidget):
    """A titled section that opens and closes with a click; closed at first."""

    def __init__(self, title: str, body: QWidget, tooltip: str):
        super().__init__()
        self.toggle = QToolButton()
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolTip(tooltip)
        self.toggle.toggled.connect(self.set_open)
        self.body = body
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(body)
        self.set_open(False)

    def set_open(self, opened: bool) -> None:
        """Show or hide the section's body."""
        self.toggle.setChecked(opened)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if opened else Qt.ArrowType.RightArrow)
        self.body.setVisible(opened)


def _tip(widget, text: str):
    """Give `widget` its one-line tooltip; returns it."""
    widget.setToolTip(text)
    return widget


class SettingsDialog(QDialog):
    """Shows `settings`; after exec() returns Accepted, result_settings() holds the edited copy."""

    def __init__(
        self,
        settings: AppSettings,
        parent: QWidget | None = None,
        current_font: QFont | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = replace(settings, recent_files=list(settings.recent_files))
        self._in_use = settings.model_path  # what the engine runs until OK is pressed
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        # The suggestion confidence as a number, and whose it is: shown in Advanced.
        self.confidence_source = QLabel()
        self.advanced = Folded(
            "Advanced",
            self._advanced_box(settings),
            "How the suggestion engine runs on this computer: the defaults suit most writers.",
        )
        layout = QVBoxLayout(self)
        for widget in (
            self._writing_box(settings),
            self._spelling_box(settings),
            self._appearance_box(settings, current_font),
            self._model_box(settings),
            self.advanced,
        ):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.refresh_trained()
        self._set_model(settings.model_path)

    # --- the groups -------------------------------------------------------------

    def _writing_box(self, settings: AppSettings) -> QGroupBox:
        self.enabled = _tip(
            QCheckBox("Show suggestions as I write"),
            "Grey text after the cursor when you pause: Tab takes it, Esc waves it away.",
        )
        self.enabled.setChecked(settings.suggestions_enabled)
        self.length = _tip(_spin(1, 200, settings.length), "The longest suggestion to show.")
        self.length_unit = _tip(QComboBox(), "Count the suggestion's length in words or sentences.")
        self.length_unit.addItems(LENGTH_UNITS)
        self.length_unit.setCurrentText(settings.length_unit)
        length_row = QHBoxLayout()
        length_row.addWidget(self.length)
        length_row.addWidget(self.length_unit)
        length_row.addStretch(1)
        self.confidence = QSlider(Qt.Orientation.Horizontal)
        self.confidence.setRange(0, MAX_CONFIDENCE_PERCENT)
        self.confidence.setPageStep(5)
        self.confidence_label = QLabel()
        # The model's own threshold and where it came from; _set_model reads it from the file.
        self._model_confidence = (DEFAULT_CONFIDENCE, "default")
        self.models_choice = QCheckBox("Let the model choose")
        self.models_choice.setChecked(settings.models_choice)
        self.confidence.valueChanged.connect(self._describe_confidence)
        self.models_choice.toggled.connect(self._choose_confidence)
        own = settings.confidence if not settings.models_choice else DEFAULT_CONFIDENCE
        self.confidence.setValue(round(own * 100))
        self._choose_confidence(settings.models_choice)
        sure_row = QHBoxLayout()
        sure_row.addWidget(QLabel("suggest freely"))
        sure_row.addWidget(self.confidence, 1)
        sure_row.addWidget(QLabel("only when sure"))
        self.document_cache = _tip(
            QCheckBox("Learn names and phrases from the document"),
            "Suggest the names and turns of phrase you have already used in this text.",
        )
        self.document_cache.setChecked(settings.document_cache)
        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("Suggestion length (up to)", length_row)
        form.addRow("How sure it must be", sure_row)
        form.addRow("", self.models_choice)
        form.addRow("", self.confidence_label)
        form.addRow(self.document_cache)
        self.daily_goal = _tip(
            _spin(0, MAX_DAILY_GOAL, settings.daily_goal, special="none", suffix=" words"),
            "Words to write a day: the status bar counts today's words toward it.",
        )
        self.daily_goal.setSingleStep(100)
        form.addRow("Daily goal", self.daily_goal)
        box = QGroupBox("Writing")
        box.setLayout(form)
        return box

    def _describe_confidence(self, percent: int) -> None:
        chosen = self.models_choice.isChecked()
        whose = " (the model's choice)" if chosen else ""
        self.confidence_label.setText(f"Now: {confidence_words(percent)}{whose}.")
        self.confidence.setToolTip(
            f"Suggestion confidence {percent / 100:.2f}: a suggestion shows only as far as "
            f"the model is at least {percent}% sure you will type it. Further right: fewer, "
            "shorter suggestions, more often right."
        )
        value, source = self._model_confidence
        self.models_choice.setToolTip(
            f"Suggestion confidence: model's choice ({value:.2f}, {CHOICE_SOURCES[source]}). "
            "Untick to set your own with the slider."
        )
        self.confidence_source.setText(
            f"Suggestion confidence: model's choice ({value:.2f})"
            if chosen
            else f"Suggestion confidence: your own ({percent / 100:.2f})"
        )

    def _choose_confidence(self, chosen: bool) -> None:
        """Leave the threshold to the model (the slider shows its value, fixed), or give
        the slider back to the writer, starting where the model's choice was."""
        self.confidence.setEnabled(not chosen)
        if chosen:
            self.confidence.setValue(round(self._model_confidence[0] * 100))
        self._describe_confidence(self.confidence.value())

    def _spelling_box(self, settings: AppSettings) -> QGroupBox:
        self.spelling = _tip(
            QCheckBox("Underline misspelled words"),
            "Right-click an underlined word for fixes, or to add it to your dictionary. "
            "Names from your story notes are never underlined.",
        )
        self.spelling.setChecked(settings.spelling)
        self.spelling_language = _tip(
            QComboBox(),
            "The dictionaries installed on this computer (hunspell); install more from your "
            "system's package manager.",
        )
        self.spelling_language.addItems(spelling_languages() or [settings.spelling_language])
        self.spelling_language.setCurrentText(settings.spelling_language)
        form = QFormLayout()
        form.addRow(self.spelling)
        form.addRow("Language", self.spelling_language)
        box = QGroupBox("Spelling")
        box.setLayout(form)
        return box

    def _appearance_box(self, settings: AppSettings, current_font: QFont | None) -> QGroupBox:
        self.font_family = _tip(QFontComboBox(), "The typeface of your text.")
        if current_font is not None:
            self.font_family.setCurrentFont(current_font)
        self.font_size = _tip(
            _spin(*FONT_SIZES, settings.font_size, suffix=" pt"),
            "The size of your text, in points.",
        )
        self.line_height = _tip(
            _spin(100, 300, settings.line_height, suffix=" %"),
            "The space from one line to the next: 100% is single spacing, 200% double.",
        )
        self.line_height.setSingleStep(10)
        self.text_width = _tip(
            _spin(20, 300, settings.text_width_chars, suffix=" characters"),
            "How wide the column of text is, in average characters per line.",
        )
        self.theme = _tip(QComboBox(), "Dark text on a light page, or light text on a dark one.")
        self.theme.addItems(THEMES)
        self.theme.setCurrentText(settings.theme)
        self.ghost_italic = _tip(
            QCheckBox("Show suggestions in italics"),
            "Set the suggestion apart from your text by its shape as well as its grey.",
        )
        self.ghost_italic.setChecked(settings.ghost_italic)
        form = QFormLayout()
        form.addRow("Font", self.font_family)
        form.addRow("Size", self.font_size)
        form.addRow("Line spacing", self.line_height)
        form.addRow("Column width", self.text_width)
        form.addRow("Theme", self.theme)
        form.addRow(self.ghost_italic)
        box = QGroupBox("Appearance")
        box.setLayout(form)
        return box

    def _model_box(self, settings: AppSettings) -> QGroupBox:
        self.model_edit = _tip(
            QLineEdit(settings.model_path), "The model file that makes the suggestions."
        )
        self.model_edit.setReadOnly(True)
        bundled = default_model_path()
        self.model_edit.setPlaceholderText(
            f"bundled: {bundled.name}" if bundled else "no bundled model"
        )
        browse = _tip(QPushButton("Browse…"), "Choose another model file (.gguf).")
        browse.clicked.connect(self.browse_model)
        use_bundled = _tip(
            QPushButton("Use bundled"), "Go back to the model that came with Writer."
        )
        use_bundled.clicked.connect(lambda: self._set_model(""))
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.model_edit, 1)
        row.addWidget(browse)
        row.addWidget(use_bundled)
        # Models trained on the writer's texts (Model → Train on My Writing…).
        self.trained = _tip(
            QListWidget(), "Models trained on your own texts; double-click one to use it."
        )
        self.trained.setMaximumHeight(110)
        self.trained.itemDoubleClicked.connect(lambda _item: self.use_trained())
        use_trained = _tip(QPushButton("Use"), "Suggest with the selected trained model.")
        use_trained.clicked.connect(self.use_trained)
        delete_trained = _tip(
            QPushButton("Delete…"), "Delete the selected trained model and its training files."
        )
        delete_trained.clicked.connect(self.delete_trained)
        trained_buttons = QHBoxLayout()
        trained_buttons.addStretch(1)
        trained_buttons.addWidget(use_trained)
        trained_buttons.addWidget(delete_trained)
        self.trained_box = QWidget()
        trained_layout = QVBoxLayout(self.trained_box)
        trained_layout.setContentsMargins(0, 0, 0, 0)
        trained_layout.addWidget(self.trained)
        trained_layout.addLayout(trained_buttons)
        form = QFormLayout()
        form.addRow("Model file", row)
        form.addRow("", self.model_info)
        form.addRow("Trained on your writing", self.trained_box)
        self._model_form = form
        box = QGroupBox("Model")
        box.setLayout(form)
        return box

    def _advanced_box(self, settings: AppSettings) -> QWidget:
        self.threads = _tip(
            _spin(0, 256, settings.n_threads, special="auto"),
            "CPU threads the engine may use; auto: one per physical core.",
        )
        self.gpu_layers = _tip(
            _spin(-1, 999, settings.n_gpu_layers, special="auto (all if possible)"),
            "How many of the model's layers run on the graphics card, if there is one.",
        )
        self.extra_buffers = _tip(
            QComboBox(),
            "Weights repacked for faster CPU kernels. Auto: on, except on Linux PCs "
            "whose CPU has AMX, where llama.cpp crashes with them.",
        )
        self.extra_buffers.addItems(list(EXTRA_BUFFERS))
        self.extra_buffers.setCurrentText(settings.extra_buffers)
        self.temperature = _tip(
            QDoubleSpinBox(),
            "How adventurous the alternatives (Alt+]) are: higher gives more varied ones.",
        )
        self.temperature.setRange(0.05, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(settings.alt_temperature)
        self.debounce = _tip(
            _spin(0, 5000, settings.debounce_ms, suffix=" ms"),
            "How long you pause before a suggestion is asked for.",
        )
        self.show_latency = _tip(
            QCheckBox("Show each suggestion's time in the status bar"),
            'For example "suggestion in 18 ms": how long the engine took.',
        )
        self.show_latency.setChecked(settings.show_latency)
        form = QFormLayout()
        form.addRow(self.confidence_source)
        form.addRow("CPU threads", self.threads)
        form.addRow("GPU layers", self.gpu_layers)
        form.addRow("CPU extra buffer types", self.extra_buffers)
        form.addRow("Alternatives temperature", self.temperature)
        form.addRow("Pause before suggesting", self.debounce)
        form.addRow(self.show_latency)
        body = QWidget()
        body.setLayout(form)
        return body

    # --- the model ----------------------------------------------------------------
    def browse_model(self) -> None:
        """Ask for a .gguf file and take it only if it validates as a GPT-2 GGUF."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a model", "", "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.choose_model(path)

    def choose_model(self, path: str) -> bool:
        """Validate `path` and use it; on failure say why and keep the old choice. Returns success."""
        try:
            validate_gguf(path)
        except ModelFileError as err:
            QMessageBox.warning(self, "Not a usable model", f"{err}\n\nThe model was not changed.")
            return False
        self._set_model(path)
        return True

    def _set_model(self, path: str) -> None:
        self.model_edit.setText(path)
        shown = path or (str(default_model_path()) if default_model_path() else "")
        self._model_confidence = (DEFAULT_CONFIDENCE, "default")
        if not shown:
            self.model_info.setText(
                "No model chosen: suggestions stay off until you choose a .gguf file."
            )
        else:
            try:
                info = validate_gguf(shown)
                self.model_info.setText(describe_model(info))
                self._model_confidence = resolve_confidence(None, info.metadata)
            except ModelFileError as err:
                self.model_info.setText(str(err))
        self._choose_confidence(self.models_choice.isChecked())

    def refresh_trained(self) -> None:
        """List the trained models: date, base, data size and score."""
        self.trained.clear()
        for card in list_models():
            item = QListWidgetItem(card.summary())
            item.setData(Qt.ItemDataRole.UserRole, card)
            item.setToolTip(str(card.gguf_path))
            self.trained.addItem(item)
        self._model_form.setRowVisible(self.trained_box, self.trained.count() > 0)

    def _selected_card(self) -> ModelCard | None:
        item = self.trained.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def use_trained(self) -> None:
        """Choose the selected trained model (applied on OK, like Browse…)."""
        card = self._selected_card()
        if card is not None:
            self.choose_model(str(card.gguf_path))

    def delete_trained(self) -> bool:
        """Delete the selected trained model after asking; never the bundled default, and
        never the model in use or chosen here (switch back first). Returns whether it did."""
        card = self._selected_card()
        if card is None:
            return False
        chosen = {p for p in (self._in_use, self.model_edit.text()) if p}
        if any(Path(p).resolve() == card.gguf_path.resolve() for p in chosen):
            QMessageBox.warning(
                self,
                "Model in use",
                "This model is in use. Choose another model (for example Use bundled), press "
                "OK, and then delete it.",
            )
            return False
        answer = QMessageBox.question(
            self,
            "Delete trained model",
            f"Delete the model trained {card.created}, with its training files?\n\n"
            f"{card.folder}\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            delete_model(card, in_use=Path(self._in_use) if self._in_use else None)
        except (TrainingError, OSError) as err:
            QMessageBox.warning(self, "Not deleted", str(err))
            return False
        self.refresh_trained()
        return True

    def result_settings(self) -> AppSettings:
        """Return the settings as edited in the dialog."""
        return replace(
            self._settings,
            model_path=self.model_edit.text(),
            n_threads=self.threads.value(),
            n_gpu_layers=self.gpu_layers.value(),
            extra_buffers=self.extra_buffers.currentText(),
            suggestions_enabled=self.enabled.isChecked(),
            debounce_ms=self.debounce.value(),
            length=self.length.value(),
            length_unit=self.length_unit.currentText(),
            alt_temperature=round(self.temperature.value(), 2),
            confidence=MODELS_CHOICE
            if self.models_choice.isChecked()
            else round(self.confidence.value() / 100, 2),
            document_cache=self.document_cache.isChecked(),
            daily_goal=self.daily_goal.value(),
            font_family=self.font_family.currentFont().family(),
            font_size=self.font_size.value(),
            line_height=self.line_height.value(),
            text_width_chars=self.text_width.value(),
            theme=self.theme.currentText(),
            ghost_italic=self.ghost_italic.isChecked(),
            spelling=self.spelling.isChecked(),
            spelling_language=self.spelling_language.currentText(),
            show_latency=self.show_latency.isChecked(),
        )


def _spin(low: int, high: int, value: int, special: str = "", suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    if special:
        spin.setSpecialValueText(special)  # shown for the minimum
    return spin
