"""ARCHITECTURE.md's layering, enforced: a lower layer never imports a higher one.

Every import statement counts, including those inside functions (lazy imports are still
dependencies). The verification core never imports web, YAML or network code, and
``sigpolicy`` never imports ``webhook``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sigpolicy"

# Lower number = lower layer. Modules at the package root (errors, reasons) are layer 0.
LAYERS = {
    "api": 1,
    "reference": 2,
    "signature": 3,
    "trust": 4,
    "verify": 5,
    "policy": 6,
    "sources": 7,
    "resolve": 8,
    "recorder": 8,
    "admission": 8,
    "audit": 8,
    "cli": 9,
}
# The verification core. The trust layer reads its YAML file through sigpolicy.yamlfile
# in its loader; the store and verification path stay free of it (tests/trust checks).
CORE = {"api", "reference", "signature", "verify"}
FORBIDDEN_IN_CORE = {
    "fastapi",
    "starlette",
    "uvicorn",
    "webhook",
    "yaml",
    "httpx",
    "requests",
    "aiohttp",
    "urllib.request",
    "http.client",
    "socket",
    "kubernetes",
    "kubernetes_asyncio",
    "lightkube",
}
# Only the GnuPG adapter may import python-gnupg (STYLE.md 10).
GNUPG_ADAPTERS = {"sigpolicy/signature/gnupg_backend.py", "sigpolicy/signature/_gnupg_adapter.py"}


def _layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "sigpolicy":
        return "", 0
    name = parts[1]
    return name, LAYERS.get(name, 0)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_module_respects_layers(path: Path) -> None:
    own_name, own_layer = _layer_of(_module_name(path))
    relative = str(path.relative_to(ROOT))
    for imported in _imports(path):
        top = imported.split(".")[0]
        assert top != "webhook", f"{relative} imports the webhook"
        if top == "gnupg":
            assert relative in GNUPG_ADAPTERS, f"{relative} imports python-gnupg directly"
        if own_name in CORE:
            for forbidden in FORBIDDEN_IN_CORE:
                assert imported != forbidden and not imported.startswith(forbidden + "."), (
                    f"{relative} (core) imports {imported}"
                )
        name, layer = _layer_of(imported)
        if name and own_name:
            assert layer <= own_layer, (
                f"{relative} (layer {own_name}) imports {imported} (layer {name})"
            )


def test_layers_cover_every_subpackage() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    unknown = subpackages - set(LAYERS) - {"examples"}
    assert not unknown, f"subpackages without a layer: {unknown}"


def test_importing_the_package_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sigpolicy;"
        "heavy = [m for m in ('pydantic', 'yaml', 'cryptography', 'gnupg') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_verify_path_does_not_load_pydantic_or_yaml() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import sigpolicy.cli.verify_cmd;"
        "heavy = [m for m in ('pydantic', 'yaml', 'gnupg', 'sigpolicy.api') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
