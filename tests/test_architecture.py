"""Dependencies point inwards: the domain core imports no vendor SDK and no other layer."""

from __future__ import annotations

import ast
import re
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
    "bot.networks",
    "bot.reports",
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


def python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_services_report_facts_and_never_import_the_slack_side_or_a_network() -> None:
    """Services know no network and write no Slack: bot/slack renders what they report."""
    forbidden = ("bot.slack", "bot.reports", "handlers", "bot.sandbox", "bot.demo")
    networks = {p.parent.name for p in (ROOT / "bot" / "networks").glob("*/__init__.py")}
    offenders = {}
    for path in python_files("bot/services"):
        bad = {
            m
            for m in imported_modules(path)
            if any(m == f or m.startswith(f + ".") for f in forbidden)
            or any(m == f"bot.networks.{n}" or m.startswith(f"bot.networks.{n}.") for n in networks)
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


SLACK_MARKUP = re.compile(r"<[@!#]|(?:^|\s):[a-z0-9_+-]+:(?:\s|$)|<https?://")


def strings(path: Path) -> list[ast.Constant]:
    """The string literals of a module, docstrings left out (they are not sent anywhere)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_services_write_no_slack_markup() -> None:
    """No mention, link, channel reference or emoji shortcode in a service's strings."""
    offenders = [
        f"{path.name}:{node.lineno}: {node.value[:60]!r}"
        for path in python_files("bot/services")
        for node in strings(path)
        if SLACK_MARKUP.search(node.value)
    ]
    assert offenders == []


def network_names() -> set[str]:
    from bot.networks.registry import Registry

    return set(Registry.default().names())


def test_no_network_is_named_outside_its_own_package() -> None:
    """A network's name is data from its spec: no `"x"` in services, Slack, handlers, storage,
    config, doctor or the demo. Dictionary keys are other vocabularies (an emoji's name, chat
    shorthand) and do not count."""
    names = network_names()
    offenders = []
    for path in python_files("bot", "handlers", "storage"):
        relative = path.relative_to(ROOT)
        own_package = relative.parts[:2] == ("bot", "networks") and len(relative.parts) > 3
        if own_package and relative.parts[2] in names:
            continue
        tree = ast.parse(path.read_text())
        keys = {
            id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in node.keys
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.lower() in names
                and id(node) not in keys
            ):
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []


def test_a_network_package_knows_nothing_of_slack_services_or_storage() -> None:
    forbidden = ("bot.services", "bot.slack", "handlers", "storage", "bot.app", "slack_sdk")
    offenders = {}
    for path in python_files("bot/networks"):
        bad = {
            m
            for m in imported_modules(path)
            if any(m == f or m.startswith(f + ".") for f in forbidden)
        }
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}
