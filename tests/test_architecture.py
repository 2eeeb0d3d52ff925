"""Dependencies point inwards: the domain core imports no vendor SDK and no other layer."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_DOMAIN = {
    "slack_bolt",
    "slack_sdk",
    "tweepy",
    "sqlalchemy",
    "requests",
    "alembic",
    "apscheduler",
    "structlog",
    "bot.services",
    "bot.channels",
    "bot.slack",
    "handlers",
    "storage",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_imports_nothing_outside_the_standard_library_and_itself() -> None:
    offenders = {}
    for path in (ROOT / "bot" / "domain").glob("*.py"):
        bad = {
            m
            for m in imported_modules(path)
            if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_DOMAIN)
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_services_do_not_import_vendor_sdks() -> None:
    vendors = {"slack_bolt", "slack_sdk", "tweepy"}
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.split(".")[0] in vendors)
        for path in (ROOT / "bot" / "services").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
