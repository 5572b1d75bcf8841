"""The Settings dialog: edits a copy of AppSettings; the window applies it live on OK."""

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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gpt2gguf.constants import default_model_path
from gpt2gguf.errors import ModelFileError
from gpt2gguf.validate import GGUFInfo, validate_gguf
from writer_app.core.spelling import languages as spelling_languages
from writer_app.training.errors import TrainingError
from writer_app.training.library import ModelCard, delete_model, list_models
from writer_app.ui.settings import EXTRA_BUFFERS, LENGTH_UNITS, THEMES, AppSettings


def describe_model(info: GGUFInfo) -> str:
    """Return a one-line summary of a model for people, e.g. "tiny-writer · gpt2 · 6 layers · 42 MB"."""
    parts = [
        info.name or info.path.name,
        info.architecture,
        f"{info.n_layer} layers",
        f"{info.n_embd} wide",
    ]
    parts.append(f"{info.size / 1e6:.0f} MB" if info.size >= 1e6 else f"{info.size / 1e3:.0f} kB")
    return " · ".join(parts)


class SettingsDialog(QDialog):
    """Shows `settings`; after exec() returns Accepted, result() holds the edited copy."""

    def __init__(
        self,
        settings: AppSettings,
        parent: QWidget | None = None,
        current_font: QFont | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = replace(settings, recent_files=list(settings.recent_files))

        # Model
        self.model_edit = QLineEdit(settings.model_path)
        self.model_edit.setReadOnly(True)
        bundled = default_model_path()
        self.model_edit.setPlaceholderText(
            f"bundled: {bundled.name}" if bundled else "no bundled model"
        )
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse_model)
        use_bundled = QPushButton("Use bundled")
        use_bundled.clicked.connect(lambda: self._set_model(""))
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.model_edit, 1)
        row.addWidget(browse)
        row.addWidget(use_bundled)
        self.threads = _spin(0, 256, settings.n_threads, special="auto")
        self.gpu_layers = _spin(-1, 999, settings.n_gpu_layers, special="auto (all if possible)")
        model_form = QFormLayout()
        model_form.addRow("Model file", row)
        model_form.addRow("", self.model_info)
        model_form.addRow("CPU threads", self.threads)
        model_form.addRow("GPU layers", self.gpu_layers)
        self.extra_buffers = QComboBox()
        self.extra_buffers.addItems(list(EXTRA_BUFFERS))
        self.extra_buffers.setCurrentText(settings.extra_buffers)
        self.extra_buffers.setToolTip(
            "Weights repacked for faster CPU kernels. Auto: on, except on Linux PCs "
            "whose CPU has AMX, where llama.cpp crashes with them."
        )
        model_form.addRow("CPU extra buffer types", self.extra_buffers)
        # Models trained on the writer's texts (Model → Train on My Writing…).
        self._in_use = settings.model_path  # what the engine runs until OK is pressed
        self.trained = QListWidget()
        self.trained.setMaximumHeight(110)
        self.trained.itemDoubleClicked.connect(lambda _item: self.use_trained())
        use_trained = QPushButton("Use")
        use_trained.clicked.connect(self.use_trained)
        delete_trained = QPushButton("Delete…")
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
        model_form.addRow("Trained on your writing", self.trained_box)
        self._model_form = model_form
        self.refresh_trained()
        model_box = QGroupBox("Model")
        model_box.setLayout(model_form)

        # Suggestions
        self.enabled = QCheckBox("Show suggestions as I write")
        self.enabled.setChecked(settings.suggestions_enabled)
        self.debounce = _spin(0, 5000, settings.debounce_ms, suffix=" ms")
        self.length = _spin(1, 200, settings.length)
        self.length_unit = QComboBox()
        self.length_unit.addItems(LENGTH_UNITS)
        self.length_unit.setCurrentText(settings.length_unit)
        length_row = QHBoxLayout()
        length_row.addWidget(self.length)
        length_row.addWidget(self.length_unit)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.05, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(settings.alt_temperature)
        self.confidence = QDoubleSpinBox()
        self.confidence.setRange(0.0, 0.95)
        self.confidence.setSingleStep(0.05)
        self.confidence.setSpecialValueText("show everything")  # shown for 0
        self.confidence.setValue(settings.confidence)
        self.confidence.setToolTip(
            "Show a suggestion only as far as the model is at least this sure you will "
            "type it. Higher: fewer, shorter, more often right."
        )
        self.document_cache = QCheckBox("Learn names and phrases from the document")
        self.document_cache.setChecked(settings.document_cache)
        suggest_form = QFormLayout()
        suggest_form.addRow(self.enabled)
        suggest_form.addRow("Pause before suggesting", self.debounce)
        suggest_form.addRow("Suggestion length (up to)", length_row)
        suggest_form.addRow("Alternatives temperature", self.temperature)
        suggest_form.addRow("Suggestion confidence", self.confidence)
        suggest_form.addRow(self.document_cache)
        suggest_box = QGroupBox("Suggestions")
        suggest_box.setLayout(suggest_form)

        # Spelling
        self.spelling = QCheckBox("Underline misspelled words")
        self.spelling.setChecked(settings.spelling)
        self.spelling.setToolTip(
            "Right-click an underlined word for fixes, or to add it to your dictionary. "
            "Names from your story notes are never underlined."
        )
        self.spelling_language = QComboBox()
        installed = spelling_languages()
        self.spelling_language.addItems(installed or [settings.spelling_language])
        self.spelling_language.setCurrentText(settings.spelling_language)
        self.spelling_language.setToolTip(
            "The dictionaries installed on this computer (hunspell); install more from your "
            "system's package manager."
        )
        spell_form = QFormLayout()
        spell_form.addRow(self.spelling)
        spell_form.addRow("Language", self.spelling_language)
        spell_box = QGroupBox("Spelling")
        spell_box.setLayout(spell_form)

        # Appearance
        self.font_family = QFontComboBox()
        if current_font is not None:
            self.font_family.setCurrentFont(current_font)
        self.font_size = _spin(6, 72, settings.font_size, suffix=" pt")
        self.theme = QComboBox()
        self.theme.addItems(THEMES)
        self.theme.setCurrentText(settings.theme)
        look_form = QFormLayout()
        look_form.addRow("Font", self.font_family)
        look_form.addRow("Size", self.font_size)
        look_form.addRow("Theme", self.theme)
        look_box = QGroupBox("Appearance")
        look_box.setLayout(look_form)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (model_box, suggest_box, spell_box, look_box, buttons):
            layout.addWidget(widget)
        self._set_model(settings.model_path)

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
        if not shown:
            self.model_info.setText(
                "No model chosen: suggestions stay off until you choose a .gguf file."
            )
            return
        try:
            self.model_info.setText(describe_model(validate_gguf(shown)))
        except ModelFileError as err:
            self.model_info.setText(str(err))

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
            confidence=round(self.confidence.value(), 2),
            document_cache=self.document_cache.isChecked(),
            font_family=self.font_family.currentFont().family(),
            font_size=self.font_size.value(),
            theme=self.theme.currentText(),
            spelling=self.spelling.isChecked(),
            spelling_language=self.spelling_language.currentText(),
        )


def _spin(low: int, high: int, value: int, special: str = "", suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    if special:
        spin.setSpecialValueText(special)  # shown for the minimum
    return spin
