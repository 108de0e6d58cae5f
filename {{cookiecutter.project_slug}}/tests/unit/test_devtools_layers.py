"""devtools/ is a DAG with one layering, so a reader knows which room each module is in: the local
S3 and process helpers at the bottom, then the deployed package's view and the emulator's parts,
the emulator, and the commands (simulate, status, resume, soak, params) on top. A module imports
only from layers below its own, at module level (an import inside a function hides a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

DEVTOOLS = Path(__file__).resolve().parents[2] / "devtools"
LAYERS: list[set[str]] = [
    {"proc", "faults", "stack_template", "moto_ranges", "timeline", "worker", "cli_args", "s3_docs", "runtime"},
    {"project", "s3_server", "pool"},
    {"package", "passthrough", "existing_bucket", "lambda_api", "local_state", "local_build"},
    {"emulator", "targets", "run_report"},
    {"params", "status", "simulate", "soak"},
    {"resume"},
]
LAYER_OF = {name: n for n, layer in enumerate(LAYERS) for name in layer}


def _devtools_imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(imported devtools module, whether at module level) for every import in the file."""
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found += [(name, id(node) in top) for name in names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("devtools"):
            found.append((node.module.split(".")[1] if "." in (node.module or "") else "?", id(node) in top))
    return found


def test_every_module_has_a_layer() -> None:
    modules = {p.stem for p in DEVTOOLS.glob("*.py")} - {"__init__"}
    assert modules == set(LAYER_OF), "place a new module in LAYERS (or drop a removed one)"


def test_modules_import_only_from_lower_layers_at_module_level() -> None:
    wrong = []
    for path in sorted(DEVTOOLS.glob("*.py")):
        if path.stem == "__init__":
            continue
        for name, at_top in _devtools_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not at_top:
                wrong.append(f"{path.stem} imports {name} inside a function")
            elif LAYER_OF.get(name, 99) >= LAYER_OF[path.stem]:
                wrong.append(f"{path.stem} (layer {LAYER_OF[path.stem]}) imports {name} (layer {LAYER_OF.get(name)})")
    assert wrong == []
