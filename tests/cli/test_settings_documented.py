"""Every network setting a deployment may set is documented where operators look: in
.env.example and in the README (the settings are a public contract)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.networks.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = sorted(
    {setting.env for spec in Registry.default() for setting in spec.settings if setting.env}
)


@pytest.mark.parametrize("name", SETTINGS)
def test_a_network_setting_is_in_env_example_and_the_readme(name: str) -> None:
    example = (ROOT / ".env.example").read_text()
    assert re.search(rf"^(# )?{name}=", example, re.MULTILINE), f"{name} not in .env.example"
    assert f"`{name}`" in (ROOT / "README.md").read_text()
