"""The apps depend one way (item 17 of issue 8): ``handling`` builds on ``crm`` and
``campaigns``, never the reverse, and what a user may see is answered in one module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

PACKAGE = Path(settings.BASE_DIR) / "kundeflyt"


def imports_of(app: str) -> dict[str, set[str]]:
    """Every module of ``app`` with the kundeflyt modules it imports, at any depth."""
    found: dict[str, set[str]] = {}
    for path in (PACKAGE / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(PACKAGE))] = {n for n in names if n.startswith("kundeflyt.")}
    return found


@pytest.mark.parametrize(("app", "forbidden"), [("crm", "handling"), ("campaigns", "handling")])
def test_lower_apps_never_import_handling(app: str, forbidden: str) -> None:
    wrong = {
        module: sorted(n for n in names if n.startswith(f"kundeflyt.{forbidden}"))
        for module, names in imports_of(app).items()
    }
    assert {m: n for m, n in wrong.items() if n} == {}


def test_visibility_is_answered_in_one_module() -> None:
    defined = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "def campaigns_visible_to(" in path.read_text(encoding="utf-8")
        or "def customers_visible_to(" in path.read_text(encoding="utf-8")
    ]
    assert defined == ["accounts/visibility.py"]
