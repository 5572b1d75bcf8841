"""finetune stands alone: it imports nothing from the app, and its modules form no circle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "finetune"


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "finetune":  # from finetune import report
                found |= {f"finetune.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    return {
        f"finetune.{path.stem}": {m for m in _imports(path) if m.startswith("finetune.")}
        for path in PACKAGE.glob("*.py")
    }


def test_finetune_imports_nothing_from_the_app():
    for path in PACKAGE.glob("*.py"):
        app = sorted(m for m in _imports(path) if m.split(".")[0] == "writer_app")
        assert not app, f"{path.name} imports {app}"


def test_finetune_modules_import_each_other_without_a_circle():
    graph = _graph()
    assert "finetune.report" in graph["finetune.train"]  # the walk sees function-level imports

    def visit(module: str, path: list[str]) -> None:
        for dep in sorted(graph.get(module, ())):
            assert dep not in path, " -> ".join([*path, dep])
            visit(dep, [*path, dep])

    for module in graph:
        visit(module, [module])
