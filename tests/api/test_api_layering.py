"""``sigpolicy.api`` is layer 1: it imports nothing of sigpolicy above it, and no IO libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sigpolicy.api

API_DIR = Path(sigpolicy.api.__file__).parent
ALLOWED_PROJECT = ("sigpolicy.api", "sigpolicy.errors", "sigpolicy.reasons")
ALLOWED_THIRD_PARTY = ("pydantic", "pydantic_core")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def allowed(module: str) -> bool:
    root = module.split(".")[0]
    if root == "sigpolicy":
        return any(module == m or module.startswith(f"{m}.") for m in ALLOWED_PROJECT)
    return root in ALLOWED_THIRD_PARTY or root in sys.stdlib_module_names


def test_api_imports_only_lower_layers() -> None:
    offending = {
        f"{path.name}: {module}"
        for path in sorted(API_DIR.glob("*.py"))
        for module in imported_modules(path)
        if not allowed(module) or module.split(".")[0] in {"socket", "http", "urllib", "ssl"}
    }
    assert offending == set()


def test_public_names_exist() -> None:
    missing = [name for name in sigpolicy.api.__all__ if not hasattr(sigpolicy.api, name)]
    assert missing == []


def test_import_has_no_heavy_side_effects() -> None:
    heavy = {"yaml", "gnupg", "cryptography", "requests", "httpx", "fastapi"}
    code = f"import sys, sigpolicy.api; print(sorted({heavy!r} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
