"""The window's menu bar, built from a table of actions.

Each action names its slot as a dotted path from the window ("files.save",
"editor.undo", "suggestions.cycle"), resolved once when the menus are built.
The editor claims Tab, Ctrl+Right, Esc, Ctrl+Space and Alt+]/[ itself while it
has focus; the menu shows them, and they work from it too.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

Std = QKeySequence.StandardKey


@dataclass(frozen=True)
class Item:
    """One menu action."""

    text: str
    slot: str  # a dotted path from the window to the callable
    shortcut: Std | str | tuple[str, ...] | None = None  # a tuple: the first, then others
    args: tuple = ()  # passed to the slot (a checkable action's slot gets the new state)
    name: str | None = None  # kept as MainMenu.<name>, for the actions the window updates
    checkable: bool = False


SEPARATOR = None
RECENT = "recent"  # File → Open Recent, filled each time it opens

# (title, attribute of the menu, items), left to right.
MENUS = (
    (
        "&File",
        "file_menu",
        (
            Item("&New", "files.new_file", Std.New),
            Item("&Open…", "files.open_file", Std.Open),
            RECENT,
            Item("Open &Folder…", "projects.open_folder", "Ctrl+Shift+O"),
            Item("New C&hapter", "projects.new_chapter", name="new_chapter_action"),
            Item("Rena&me Chapter…", "projects.rename_chapter", name="rename_chapter_action"),
            Item(
                "Ne&xt Chapter", "projects.step_chapter", "Ctrl+PgDown", (1,), "next_chapter_action"
            ),
            Item(
                "Previo&us Chapter",
                "projects.step_chapter",
                "Ctrl+PgUp",
                (-1,),
                "previous_chapter_action",
            ),
            SEPARATOR,
            Item("&Save", "files.save", Std.Save),
            Item("Save &As…", "files.save_as", Std.SaveAs),
            Item("&Close", "close_document", Std.Close),
            Item("Earlier &Versions…", "show_versions"),
            SEPARATOR,
            Item("&Export…", "export.export"),
            Item("Export Manuscr&ipt…", "export.export_manuscript", name="manuscript_action"),
            Item("&Print…", "export.print_document", Std.Print),
            SEPARATOR,
            Item("&Quit", "close", Std.Quit),
        ),
    ),
    (
        "&Edit",
        "edit_menu",
        (
            Item("&Undo", "editor.undo", Std.Undo),
            Item("&Redo", "editor.redo", Std.Redo),
            SEPARATOR,
            Item("Cu&t", "editor.cut", Std.Cut),
            Item("&Copy", "editor.copy", Std.Copy),
            Item("&Paste", "editor.paste", Std.Paste),
            SEPARATOR,
            Item("Select &All", "editor.selectAll", Std.SelectAll),
            SEPARATOR,
            Item("&Find…", "find_replace.open_for", Std.Find, args=(False,)),
            Item("&Replace…", "find_replace.open_for", "Ctrl+H", args=(True,)),
        ),
    ),
    (
        "&View",
        "view_menu",
        (
            Item("&Focus Mode", "focus.toggle", "F11", name="focus_action", checkable=True),
            SEPARATOR,
            # Ctrl+= too: on most keyboards "+" needs Shift, and the "=" key carries it.
            Item("Zoom &In", "zoom", ("Ctrl++", "Ctrl+="), args=(1,)),
            Item("Zoom &Out", "zoom", "Ctrl+-", args=(-1,)),
            Item("&Actual Size", "zoom", "Ctrl+0", args=(0,)),
        ),
    ),
    (
        "S&uggestions",
        "suggestions_menu",
        (
            Item(
                "&Show Suggestions",
                "set_suggestions_enabled",
                "Ctrl+Shift+E",
                name="toggle_action",
                checkable=True,
            ),
            Item("&Request Now", "suggestions.request", "Ctrl+Space"),
            Item("&Next Alternative", "suggestions.cycle", "Alt+]", args=(1,)),
            Item("&Previous Alternative", "suggestions.cycle", "Alt+[", args=(-1,)),
            SEPARATOR,
            Item("&Accept (Tab)", "editor.accept_ghost"),
            Item("Accept Next &Word (Ctrl+Right)", "editor.accept_word"),
            Item("&Dismiss (Esc)", "editor.dismiss_ghost"),
            SEPARATOR,
            Item("S&tatistics…", "show_statistics"),
        ),
    ),
    (
        "&Model",
        "model_menu",
        (
            Item("&About the Model…", "show_model_info"),
            # Enabled after engine crashes: off, or running on safer settings.
            Item("Re&try the Suggestion Engine", "suggestions.retry", name="retry_action"),
        ),
    ),
    ("Se&ttings", "settings_menu", (Item("&Settings…", "show_settings", "Ctrl+,"),)),
    (
        "&Help",
        "help_menu",
        (
            Item("&Getting Started", "show_welcome"),
            Item("&Keyboard Shortcuts", "show_shortcuts", Std.HelpContents),
        ),
    ),
)


class MainMenu:
    """The menus of `window` (File, Edit, View, Suggestions, Model, Settings, Help).

    Each menu is an attribute (file_menu, ..., model_menu), and so are the
    actions the window updates: toggle_action, retry_action, focus_action, and recent_menu.
    """

    def __init__(self, window: QMainWindow):
        self.window = window
        self.actions: dict[str, QAction] = {}  # text without "&" -> action
        bar = window.menuBar()
        for title, attribute, items in MENUS:
            menu = bar.addMenu(title)
            setattr(self, attribute, menu)
            for item in items:
                if item is SEPARATOR:
                    menu.addSeparator()
                elif item == RECENT:
                    self.recent_menu = menu.addMenu("Open &Recent")
                    self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
                else:
                    self._add(menu, item)

    def _add(self, menu: QMenu, item: Item) -> QAction:
        slot = operator.attrgetter(item.slot)(self.window)
        action = QAction(item.text, self.window)
        if isinstance(item.shortcut, tuple):
            action.setShortcuts([QKeySequence(keys) for keys in item.shortcut])
        elif item.shortcut is not None:
            action.setShortcut(QKeySequence(item.shortcut))
        action.setCheckable(item.checkable)
        if item.checkable:
            action.triggered.connect(lambda checked, f=slot, a=item.args: f(*a, checked))
        else:  # triggered's `checked` must not reach slots such as open_file(path)
            action.triggered.connect(lambda _=False, f=slot, a=item.args: f(*a))
        menu.addAction(action)
        # The window's too: its shortcut then works with the menu bar hidden (focus mode).
        self.window.addAction(action)
        self.actions[item.text.replace("&", "")] = action
        if item.name:
            setattr(self, item.name, action)
        return action

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.window.settings.recent_files
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.window.files.open_file(p))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
