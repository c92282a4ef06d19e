"""The running platform's parts, as one object the adapters (web, CLI, workers) receive.

Built only by the composition root, `vardeild.app.build_platform`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vardeild.core.clock import Clock
from vardeild.members.attribution import AttributionIndex
from vardeild.members.lookup import build_attribution_index
from vardeild.members.service import KeyInspector, registry_revision
from vardeild.settings import Settings


@dataclass
class Platform:
    """Settings, database, clock and shared in-memory indexes."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    key_inspector: KeyInspector
    _cache: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session whose transaction commits on success and rolls back on error."""
        with self.session_factory() as session, session.begin():
            yield session

    def cached(self, name: str, revision: Any, build: Callable[[], Any]) -> Any:
        """Return the cached value for name if built at this revision, else build it anew."""
        with self._cache_lock:
            held = self._cache.get(name)
            if held is not None and held[0] == revision:
                return held[1]
        value = build()
        with self._cache_lock:
            self._cache[name] = (revision, value)
        return value

    def attribution_index(self, session: Session) -> AttributionIndex:
        """Return the attribution index of the registry as it is now; rebuilt only when the
        registry has changed since the cached one was built."""
        index: AttributionIndex = self.cached(
            "attribution",
            registry_revision(session),
            lambda: build_attribution_index(session),
        )
        return index
