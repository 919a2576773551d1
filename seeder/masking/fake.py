"""Fake vocabularies: pre-loaded word pools per Faker provider and locale, indexed by keyed digests.

Reseeding Faker for every value is slow (tens of thousands per second at best). Instead each
``(provider, locale)`` pool is drawn once from a Faker built with ``use_weighting=False`` and a fixed seed,
de-duplicated and sorted; a masked value is ``pool[digest mod len(pool)]``. Pools depend only on the
pinned Faker version, so outputs are stable across runs and machines.
"""

from __future__ import annotations

from threading import Lock
from typing import Any

from seeder.errors import MaskingError

__all__ = ["POOL_DRAWS", "FakePools", "faker_version"]

POOL_DRAWS = 4096
"""Provider calls made to fill one pool (distinct values kept)."""

_POOL_SEED = 20260101
_NON_TEXT = frozenset({"seed", "seed_instance", "seed_locale", "random", "format", "parse", "provider"})


def faker_version() -> str:
    """The installed Faker's version (recorded in the masking manifest: pools depend on it)."""
    from importlib.metadata import version

    return version("faker")


class FakePools:
    """Lazily built, thread-safe word pools: ``pools.get("first_name", "en_US") -> tuple[str, ...]``."""

    def __init__(self, default_locale: str = "en_US") -> None:
        self.default_locale = default_locale
        self._pools: dict[tuple[str, str], tuple[str, ...]] = {}
        self._fakers: dict[str, Any] = {}
        self._lock = Lock()

    def _faker(self, locale: str) -> Any:
        faker = self._fakers.get(locale)
        if faker is None:
            from faker import Faker

            try:
                faker = Faker(locale, use_weighting=False)
            except AttributeError as exc:
                raise MaskingError(f"unknown Faker locale {locale!r}") from exc
            self._fakers[locale] = faker
        return faker

    def get(self, provider: str, locale: str | None = None) -> tuple[str, ...]:
        """The sorted, distinct pool for ``provider`` in ``locale`` (``MaskingError`` when unknown)."""
        loc = locale or self.default_locale
        key = (provider, loc)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._build(provider, loc)
                self._pools[key] = pool
        return pool

    def _build(self, provider: str, locale: str) -> tuple[str, ...]:
        faker = self._faker(locale)
        if provider.startswith("_") or provider in _NON_TEXT:
            raise MaskingError(f"fake:{provider} is not a value provider")
        try:
            method = getattr(faker, provider)
        except AttributeError as exc:
            raise MaskingError(
                f"fake:{provider}: Faker ({locale}) has no provider {provider!r}",
                hint="use a Faker provider name such as first_name, last_name, company, city, street_address",
            ) from exc
        if not callable(method):
            raise MaskingError(f"fake:{provider} is not a value provider")
        faker.seed_instance(_POOL_SEED)
        seen: set[str] = set()
        for _ in range(POOL_DRAWS):
            try:
                value = method()
            except TypeError as exc:
                raise MaskingError(f"fake:{provider} needs arguments and cannot be used as a masker") from exc
            text = value if isinstance(value, str) else str(value)
            seen.add(" ".join(text.split()))
        seen.discard("")
        if not seen:
            raise MaskingError(f"fake:{provider} produced no values")
        return tuple(sorted(seen))
