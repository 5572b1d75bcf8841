"""The window's small dialogs: the keyboard shortcuts, and About the Model.

About the Model speaks plainly: the model's name, what it was trained on, its
size, how good it is (each figure explained in one line) and where the file
is, all read from the card beside the model file (a trained model's card.json,
or the MODEL_CARD.md that writer-finetune and the default-model recipe write);
which build of llama.cpp runs it on this processor (the engine process says);
the raw GGUF metadata waits behind Details.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gpt2gguf.validate import GGUFInfo
from writer_app.training.errors import TrainingError
from writer_app.training.library import CARD, ModelCard, read_card
from writer_app.ui.dialogs.settings import Folded, count_parameters, describe_size

# (keys, what they do): Help → Keyboard Shortcuts lists these, as the README's table does.
SHORTCUTS = (
    ("Tab", "Accept the whole suggestion (one undo step). Without a suggestion: a normal Tab."),
    ("Ctrl+Right", "Accept the suggestion's next word."),
    ("Esc", "Dismiss the suggestion."),
    ("Keep typing", "Characters that match the suggestion are consumed and the rest stays."),
    ("Ctrl+Space", "Ask for a suggestion now."),
    ("Alt+]  /  Alt+[", 'Next / previous alternative suggestion ("2/3" in the status bar).'),
    ("Ctrl+Shift+E", "Turn suggestions on or off."),
    ("Ctrl+N, Ctrl+O, Ctrl+S, Ctrl+Shift+S", "New, Open, Save, Save As."),
    ("Ctrl+Shift+O", "Open a folder of chapters as a project."),
    ("Ctrl+PgDown, Ctrl+PgUp", "In a project: the next chapter, the one before."),
    ("Ctrl+Z, Ctrl+Shift+Z", "Undo, Redo."),
    ("Ctrl+F, Ctrl+H", "Find; Find and Replace (Replace All is one undo step)."),
    ("F11", "Focus mode: full screen, only your paragraph in full ink (Esc or F11 leaves it)."),
    ("Ctrl++, Ctrl+-, Ctrl+0", "Larger text, smaller text, the usual size."),
    ("Ctrl+,", "Settings."),
)
MAX_VALUE_CHARS = 500  # a tokenizer's vocabulary is one metadata value: show its start
MARKDOWN_CARD = "MODEL_CARD.md"
UNKNOWN_SOURCE = "Not known: there is no model card beside the file."
MAX_FILES_NAMED = 3  # a trained model names this many of the writer's files, then "and N more"


def show_shortcuts(parent: QWidget) -> None:
    """Show the keyboard shortcuts in a message box."""
    rows = "".join(
        f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
        for k, v in SHORTCUTS
    )
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


@dataclass
class ModelFacts:
    """What a writer wants to know about a model, in words and a few figures."""

    name: str
    trained_on: str = UNKNOWN_SOURCE
    perplexity: float | None = None  # on held-out text; lower is better
    perplexity_before: float | None = None  # a trained model's base, same text
    keystroke_savings: float | None = None  # the share of typing Tab saved (0..1)
    card: Path | None = None  # where these facts come from
    notes: list[str] = field(default_factory=list)  # anything else worth a line

    def quality_lines(self) -> list[str]:
        """Return each measured figure with one line on what it means."""
        lines = []
        if self.perplexity is not None:
            before = (
                f" (its starting model: {self.perplexity_before:.0f})"
                if self.perplexity_before is not None
                else ""
            )
            lines.append(
                f"Perplexity {self.perplexity:.0f}{before}: lower is better; it is how "
                "surprised the model is by new text, as if it chose among that many words "
                "at each step."
            )
        if self.keystroke_savings is not None:
            lines.append(
                f"Keystroke savings {self.keystroke_savings:.0%}: of the letters in a test "
                "passage, the share that taking its suggestions with Tab saved typing."
            )
        return lines or ["Not measured: the model card gives no figures."]


def describe_cpu_variant(variant: str) -> str:
    """Return gpt2gguf.llama.cpu_variant()'s answer in words: "native build: AVX2 FMA"
    becomes "llama.cpp's native build for this machine (AVX2 FMA)", "haswell: AVX2"
    becomes "llama.cpp's portable build, its haswell variant, the best of those bundled
    for this processor (AVX2)"."""
    where, _, features = variant.partition(": ")
    uses = f" ({features})" if features else ""
    if where == "native build":
        return f"llama.cpp's native build for this machine{uses}"
    return (
        f"llama.cpp's portable build, its {where} variant, the best of those bundled "
        f"for this processor{uses}"
    )


def _trained_card(path: Path) -> ModelCard | None:
    # A trained model sits in <run>/train/, its card in <run>/card.json.
    for folder in (path.parent, path.parent.parent):
        if not (folder / CARD).is_file():
            continue
        try:
            card = read_card(folder)
        except TrainingError:
            return None
        if card.gguf_path.resolve() == path.resolve():
            return card
    return None


def _from_trained(name: str, card: ModelCard) -> ModelFacts:
    words = card.train_words + card.val_words
    files = card.files[:MAX_FILES_NAMED]
    more = len(card.files) - len(files)
    named = ", ".join(files) + (f" and {more} more" if more > 0 else "")
    source = f"{words:,} words of your own writing" + (f" ({named})" if named else "")
    return ModelFacts(
        name=name,
        trained_on=f"{source}, trained on {card.created} for {card.minutes:.0f} minutes, "
        f"starting from {Path(card.base).name}.",
        perplexity=card.ppl_after,
        perplexity_before=card.ppl_before,
        card=card.folder / CARD if card.folder else None,
    )


def _section(text: str, title: str) -> str:
    """Return the first paragraph of the Markdown section `## title`, or ""."""
    match = re.search(rf"^## {re.escape(title)}\s*\n+(.+?)(?:\n\n|\Z)", text, re.M | re.S)
    return match.group(1).strip() if match else ""


def _first_sentence(paragraph: str) -> str:
    plain = re.sub(r"[`*]", "", paragraph).replace("\n", " ")
    match = re.match(r"(.+?\.)(\s|$)", plain)
    return match.group(1) if match else plain


def _from_markdown(name: str, path: Path, card: Path) -> ModelFacts:
    text = card.read_text(encoding="utf-8", errors="replace")
    facts = ModelFacts(name=name, card=card)
    corpus = _section(text, "Corpus") or _section(text, "Data")
    if corpus:
        facts.trained_on = _first_sentence(corpus)
    # The recipe's card: a table row per exported file; writer-finetune's: one figure.
    row = re.search(rf"^\| {re.escape(path.name)} \| [^|]+ \| ([0-9.]+) \|", text, re.M)
    best = re.search(r"perplexity \*\*([0-9.]+)\*\*", text)
    if row or best:
        facts.perplexity = float((row or best).group(1))
    ksr = re.search(r"ksr_tab ([0-9.]+)", text)
    if ksr:
        facts.keystroke_savings = float(ksr.group(1))
    return facts


def model_facts(info: GGUFInfo) -> ModelFacts:
    """Return what the card beside `info.path` says of the model (little if there is none).

    Never raises: a card that cannot be read leaves its facts unknown.
    """
    name = info.name or info.path.stem
    card = _trained_card(info.path)
    if card is not None:
        return _from_trained(name, card)
    markdown = info.path.parent / MARKDOWN_CARD
    if markdown.is_file():
        try:
            return _from_markdown(name, info.path, markdown)
        except OSError:
            pass
    return ModelFacts(name=name)


def _metadata_table(info: GGUFInfo) -> QTableWidget:
    rows = [(key, str(value)) for key, value in sorted(info.metadata.items())]
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["key", "value"])
    for i, (key, value) in enumerate(rows):
        if len(value) > MAX_VALUE_CHARS:
            value = value[:MAX_VALUE_CHARS] + "…"
        table.setItem(i, 0, QTableWidgetItem(key))
        table.setItem(i, 1, QTableWidgetItem(value))
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setMinimumHeight(220)
    return table


class ModelInfoDialog(QDialog):
    """About the Model: `info` (a GGUFInfo) and its card in plain words, and the CPU
    build of llama.cpp that runs it (`cpu_variant`, the engine process's
    gpt2gguf.llama.cpu_variant(); no row when None); the metadata under Details.
    `facts` and `details` are public for tests."""

    def __init__(
        self, info: GGUFInfo, parent: QWidget | None = None, *, cpu_variant: str | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("About the model")
        self.facts = facts = model_facts(info)
        millions = count_parameters(info) / 1e6
        rows = (
            ("Name", facts.name),
            ("Trained on", facts.trained_on),
            (
                "Size",
                f"{describe_size(info.size)} on disk, about {millions:.0f} million parameters",
            ),
            ("How good it is", "\n".join(facts.quality_lines())),
            ("File", str(info.path)),
        )
        if cpu_variant is not None:
            rows += (("Runs on", describe_cpu_variant(cpu_variant)),)
        form = QFormLayout()
        self.labels: dict[str, QLabel] = {}
        for title, text in rows:
            label = QLabel(text)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.labels[title] = label
            form.addRow(f"<b>{title}</b>", label)
        if facts.card is not None:
            form.addRow("", QLabel(f"From the model card {facts.card}."))
        self.details = Folded(
            "Details", _metadata_table(info), "The raw metadata stored in the model file."
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.resize(720, 420)

    def text(self) -> str:
        """Return all the dialog says outside Details, as plain text."""
        return "\n".join(f"{k}: {label.text()}" for k, label in self.labels.items())
