"""The networks Carebridge knows: the built-in ones, and any a test or a deployment adds.

Adding a network is adding a package under `bot/networks/` with a `NetworkSpec`, and listing it
in `builtin()`; nothing else names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.networks.base import NetworkSpec


class Registry:
    def __init__(self, specs: Iterable[NetworkSpec]) -> None:
        self._specs: dict[str, NetworkSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"network {spec.name!r} registered twice")
            self._specs[spec.name] = spec

    @classmethod
    def default(cls) -> Registry:
        return cls(builtin())

    def with_network(self, spec: NetworkSpec) -> Registry:
        return Registry([*self._specs.values(), spec])

    def get(self, name: str) -> NetworkSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(
                f"unknown network {name!r}: known are {', '.join(self.names())}"
            ) from None

    def find(self, name: str) -> NetworkSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return list(self._specs)

    def label(self, name: str) -> str:
        spec = self._specs.get(name)
        return spec.label if spec else name

    def __iter__(self) -> Iterator[NetworkSpec]:
        return iter(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs


def builtin() -> list[NetworkSpec]:
    from bot.networks.facebook import FACEBOOK
    from bot.networks.instagram import INSTAGRAM
    from bot.networks.whatsapp import WHATSAPP
    from bot.networks.x import X

    return [X, FACEBOOK, INSTAGRAM, WHATSAPP]
