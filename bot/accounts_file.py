"""The brand accounts: one per network from the environment, or several from ACCOUNTS_FILE.

```toml
[[accounts]]
name = "acme-care"                 # unique; shown in logs, /care commands and doctor
network = "x"
slack_channel = "C0SUPPORT1"       # optional: SLACK_CHANNEL_ID by default
consumer_key = "${X_CARE_CONSUMER_KEY}"   # ${VAR} is read from the environment
```

Every fault is reported at once, each with the file and line it is on, so an operator fixes the
file in one go. A value never appears in a message: it may be a secret.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.hours import EXPECTED_FORM as HOURS_FORM
from bot.domain.hours import BusinessHours, parse_business_hours
from bot.networks.base import AccountConfig, NetworkSpec, Setting
from bot.networks.registry import Registry
from bot.parsing import POSITIVE_DURATION_FORM, boolean, positive_duration

MAX_FILE_BYTES = 1_000_000
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
NAME_FORM = "lower-case letters, digits, '-' or '_', at most 40, e.g. acme-care"
CHANNEL = re.compile(r"[CG][A-Z0-9]{2,}")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _Common:
    """A key every account may have, whatever its network."""

    key: str
    parse: Any
    expects: str


COMMON = (
    _Common("business_hours", parse_business_hours, HOURS_FORM),
    _Common("out_of_hours_public", boolean, "true or false"),
    _Common("sla_first_response", positive_duration, POSITIVE_DURATION_FORM),
    _Common("sla_next_response", positive_duration, POSITIVE_DURATION_FORM),
)
BASE_KEYS = ("name", "network", "slack_channel")


@dataclass
class Problems:
    found: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.found.append(message)


def accounts_from_environment(
    env: Mapping[str, str],
    registry: Registry,
    default_channel: str,
    problems: Problems,
    *,
    required: bool,
) -> tuple[AccountConfig, ...]:
    """One account per network whose credentials are in the environment (named after the
    network). With none at all and `required`, each network's way in is named."""
    accounts = []
    specs = list(registry)
    if required and not _any_required(env, specs):
        ways = "; or ".join(f"{', '.join(_required_env(spec))} for {spec.label}" for spec in specs)
        problems.add(f"no brand account is configured: set {ways} (or set ACCOUNTS_FILE)")
    for spec in specs:
        # Wanted when a setting of its own is set: Instagram shares Facebook's Page token and
        # the Meta app's secrets, which alone say nothing about which products are used.
        shared = {s.env for other in specs if other is not spec for s in other.settings}
        wanted = any(
            s.required and s.env and s.env not in shared and _env(env, s.env) for s in spec.settings
        )
        values: dict[str, Any] = {}
        for setting in spec.settings:
            text = _env(env, setting.env) if setting.env else None
            if text is None:
                values[setting.key] = setting.default
                continue
            values[setting.key] = _parsed(setting, text, setting.env or setting.key, problems)
        if not wanted:
            continue
        missing = [name for name in _required_env(spec) if not _env(env, name)]
        if missing:
            problems.add(
                f"{', '.join(missing)} required for {spec.label}: the brand "
                f"account's credentials (or set ACCOUNTS_FILE to a file of accounts)"
            )
            continue
        accounts.append(AccountConfig(spec.name, spec.name, default_channel, values))
    return tuple(accounts)


def accounts_from_file(
    path: Path,
    env: Mapping[str, str],
    registry: Registry,
    default_channel: str,
    problems: Problems,
) -> tuple[AccountConfig, ...]:
    text = _read(path, problems)
    if text is None:
        return ()
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        problems.add(f"{path}: not valid TOML: {error}")  # the message names line and column
        return ()
    lines = _Lines(text)
    unknown_top = sorted(set(document) - {"accounts"})
    for key in unknown_top:
        problems.add(f"{path}:{lines.top_level(key)}: unknown key {key!r}: expected [[accounts]]")
    entries = document.get("accounts")
    if (
        not isinstance(entries, list)
        or not entries
        or not all(isinstance(e, dict) for e in entries)
    ):
        problems.add(f"{path}: no [[accounts]] entries")
        return ()
    accounts: list[AccountConfig] = []
    names: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = _Where(path, lines, index)
        name = entry.get("name")
        if isinstance(name, str) and name in names:
            problems.add(
                f"{where.at('name')}: the name {name!r} is already used on line "
                f"{names[name]}: names must be unique"
            )
            continue
        if isinstance(name, str):
            names[name] = where.line("name")
        account = _account(entry, where, env, registry, default_channel, problems)
        if account is not None:
            accounts.append(account)
    return tuple(accounts)


def _account(
    entry: dict[str, Any],
    where: _Where,
    env: Mapping[str, str],
    registry: Registry,
    default_channel: str,
    problems: Problems,
) -> AccountConfig | None:
    name = entry.get("name")
    if not isinstance(name, str) or NAME.fullmatch(name) is None:
        shown = "no name" if name is None else "a name that is not " + NAME_FORM
        problems.add(f"{where.at('name')}: account {where.index + 1} has {shown}")
        return None
    network = entry.get("network")
    spec = registry.find(network) if isinstance(network, str) else None
    if spec is None:
        known = ", ".join(registry.names())
        shown = repr(network) if isinstance(network, str) else "missing"
        problems.add(
            f"{where.at('network')}: account {name!r}: unknown network {shown} (known: {known})"
        )
        return None
    known_keys = {*BASE_KEYS, *(c.key for c in COMMON), *(s.key for s in spec.settings)}
    for key in sorted(set(entry) - known_keys):
        problems.add(
            f"{where.at(key)}: account {name!r}: unknown key {key!r} for {spec.label} "
            f"(known: {', '.join(sorted(known_keys))})"
        )
    before = len(problems.found)
    texts = {key: _text(entry[key], key, name, where, env, problems) for key in entry}
    channel = texts.get("slack_channel") or default_channel
    if texts.get("slack_channel") and CHANNEL.fullmatch(channel) is None:
        problems.add(
            f"{where.at('slack_channel')}: account {name!r}: slack_channel: expected a channel "
            "id such as C0123ABCD"
        )
    values = _network_values(spec, texts, name, where, env, problems)
    common = {
        c.key: _parse_common(c, texts[c.key], name, where, problems)
        for c in COMMON
        if texts.get(c.key) is not None
    }
    if len(problems.found) > before:
        return None
    hours = common.get("business_hours")
    return AccountConfig(
        name=name,
        network=spec.name,
        slack_channel=channel,
        values=values,
        business_hours=hours if isinstance(hours, BusinessHours) else None,
        out_of_hours_public=common.get("out_of_hours_public"),
        sla_first_response=common.get("sla_first_response"),
        sla_next_response=common.get("sla_next_response"),
        source=where.header(),
    )


def _network_values(
    spec: NetworkSpec,
    texts: Mapping[str, str | None],
    name: str,
    where: _Where,
    env: Mapping[str, str],
    problems: Problems,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in spec.settings:
        text = texts.get(setting.key)
        if text is None and setting.key not in texts and setting.app_wide and setting.env:
            text = _env(env, setting.env)  # the app's, for every account that does not say
        if text is None and setting.required:
            if setting.key not in texts:  # an unset ${VAR} was reported already
                problems.add(f"{where.header()}: account {name!r} has no {setting.key}")
            continue
        if text is None:
            # An optional setting the file leaves out: the environment's, else the default.
            fallback = _env(env, setting.env) if setting.env else None
            text = fallback
            if text is None:
                values[setting.key] = setting.default
                continue
        label = f"{where.at(setting.key)}: account {name!r}: {setting.key}"
        values[setting.key] = _parsed(setting, text, label, problems, quoted=False)
    return values


def _text(
    value: Any, key: str, name: str, where: _Where, env: Mapping[str, str], problems: Problems
) -> str | None:
    """A value as text with ${VAR} expanded; None (and a problem) when it cannot be."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        problems.add(f"{where.at(key)}: account {name!r}: {key} must be a string or a number")
        return None
    unset = [v for v in _VARIABLE.findall(value) if _env(env, v) is None]
    if unset:
        problems.add(
            f"{where.at(key)}: account {name!r}: {key} uses "
            f"{', '.join('${' + v + '}' for v in unset)}, which is not set in the environment"
        )
        return None
    return _VARIABLE.sub(lambda m: env.get(m[1], "").strip(), value).strip()


def _parse_common(
    common: _Common, text: str | None, name: str, where: _Where, problems: Problems
) -> Any:
    if text is None:
        return None
    try:
        return common.parse(text)
    except ValueError:
        problems.add(
            f"{where.at(common.key)}: account {name!r}: {common.key}: expected {common.expects}"
        )
        return None


def _parsed(
    setting: Setting, text: str, label: str, problems: Problems, *, quoted: bool = True
) -> Any:
    try:
        return setting.parse(text)
    except ValueError:
        # A secret's value is never repeated back; other values are, to show what was read.
        shown = "" if setting.secret or not quoted else f"={text!r}"
        problems.add(f"{label}{shown}: expected {setting.expects}")
        return setting.default


def _read(path: Path, problems: Problems) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.add(f"ACCOUNTS_FILE={str(path)!r}: larger than {MAX_FILE_BYTES} bytes")
            return None
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(f"ACCOUNTS_FILE={str(path)!r}: no such file")
    except UnicodeDecodeError:
        problems.add(f"ACCOUNTS_FILE={str(path)!r}: not UTF-8 text")
    except OSError as error:
        problems.add(f"ACCOUNTS_FILE={str(path)!r}: cannot be read ({error.strerror})")
    return None


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _any_required(env: Mapping[str, str], specs: Sequence[NetworkSpec]) -> bool:
    return any(_env(env, name) for spec in specs for name in _required_env(spec))


def _required_env(spec: NetworkSpec) -> list[str]:
    """The variables that give one account of `spec` in the environment."""
    return [s.env for s in spec.settings if s.required and s.env]


class _Lines:
    """Where things are in the file: tomllib gives values, not positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [
            n for n, line in enumerate(self.lines, 1) if line.strip().startswith("[[accounts]]")
        ]

    def top_level(self, key: str) -> int:
        end = self.headers[0] if self.headers else len(self.lines) + 1
        return self._find(key, 1, end) or 1

    def in_entry(self, index: int, key: str) -> int | None:
        if index >= len(self.headers):
            return None
        start = self.headers[index]
        end = self.headers[index + 1] if index + 1 < len(self.headers) else len(self.lines) + 1
        return self._find(key, start + 1, end)

    def header(self, index: int) -> int:
        return self.headers[index] if index < len(self.headers) else 1

    def _find(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start, min(end, len(self.lines) + 1)):
            if pattern.match(self.lines[number - 1]):
                return number
        return None


@dataclass(frozen=True)
class _Where:
    path: Path
    lines: _Lines
    index: int

    def line(self, key: str) -> int:
        return self.lines.in_entry(self.index, key) or self.lines.header(self.index)

    def at(self, key: str) -> str:
        return f"{self.path}:{self.line(key)}"

    def header(self) -> str:
        return f"{self.path}:{self.lines.header(self.index)}"
