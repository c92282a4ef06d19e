"""What one CLI invocation shares: its settings, the platform (built once, through the
composition root), and the principal it acts as.

The CLI acts as a local operator: `Principal(actor="cli:<login name>", role=cert_admin)`. Whoever
can run `vardeild` against the database can also open the database itself, so the CLI adds no
login of its own; it is as trusted as database access, and its changes are audited under the
operator's login name.
"""

from __future__ import annotations

import getpass
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import typer
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, TomlConfigSettingsSource
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from vardeild.access.model import Principal, Role
from vardeild.app import build_platform
from vardeild.cli.output import EXIT_INVALID, CliFailure
from vardeild.core.errors import NotFound
from vardeild.db.engine import create_db_engine
from vardeild.db.migrate import current_revision, head_revision
from vardeild.members.service import find_organisation_id, get_organisation_row
from vardeild.platform import Platform
from vardeild.settings import Settings


def load_settings(config: Path | None) -> Settings:
    """Return the settings, reading config (a TOML file) instead of VARDEILD_CONFIG's if given.
    Environment variables still take precedence over the file, as documented in settings.py."""
    try:
        if config is None:
            return Settings()
        return _settings_with_file(config)()
    except tomllib.TOMLDecodeError as exc:
        raise CliFailure(f"the settings file is not valid TOML: {exc}", EXIT_INVALID) from exc


def _settings_with_file(config: Path) -> type[Settings]:
    class FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=config)
            return init_settings, env_settings, toml

    return FileSettings


def operator_principal() -> Principal:
    """Return the principal the CLI acts as: the local operator, with full CERT rights."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        user = "operator"
    return Principal(actor=f"cli:{user}", role=Role.CERT_ADMIN)


@dataclass
class CliContext:
    """The invocation's settings file, and what is built from it on first use."""

    config: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)
    _platform: Platform | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Return the effective settings, read once."""
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    @property
    def principal(self) -> Principal:
        """Return the local operator principal."""
        return operator_principal()

    @property
    def database_label(self) -> str:
        """Return the database URL in use with any password masked, for messages."""
        return str(self.settings.public_dict()["effective_database_url"])

    def engine(self) -> Engine:
        """Return the database engine, created once."""
        if self._engine is None:
            self._engine = create_db_engine(self.settings.effective_database_url)
        return self._engine

    def platform(self, *, migrate: bool = False) -> Platform:
        """Return the platform, built once through the composition root.

        migrate=True creates or upgrades the database first (init, serve, demo); otherwise a
        database that is missing or behind the code is refused with a hint to run init.
        """
        if self._platform is None:
            if not migrate:
                self._check_initialised()
            self._platform = build_platform(self.settings, engine=self.engine(), migrate=migrate)
        return self._platform

    def _check_initialised(self) -> None:
        url = make_url(self.settings.effective_database_url)
        database = url.database or ":memory:"
        is_file = url.get_backend_name() == "sqlite" and database != ":memory:"
        if is_file and not Path(database).exists():
            raise CliFailure(
                f"there is no database at {self.database_label} yet; "
                "run `vardeild init` (or `vardeild demo`) first"
            )
        engine = self.engine()
        current, head = current_revision(engine), head_revision(engine)
        if current is None:
            raise CliFailure(
                f"the database at {self.database_label} has not been initialised; "
                "run `vardeild init` first"
            )
        if current != head:
            raise CliFailure(
                f"the database at {self.database_label} is at revision {current}, this version "
                f"of Vardeild needs {head}; run `vardeild init` to upgrade it"
            )

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._platform = None


def cli_context(ctx: typer.Context) -> CliContext:
    """Return the invocation's CliContext, kept on the root command's context."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
        root.call_on_close(root.obj.close)
    return root.obj


MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def resolve_organisation(session: Session, reference: str) -> int:
    """Return the id of the organisation named by reference: its org number, its exact name or
    its id. Raises NotFound naming the reference."""
    text = reference.strip()
    found = find_organisation_id(session, text) if text else None
    if found is not None:
        return found
    # A longer number cannot be an id (and would make PostgreSQL refuse the query).
    if text.isdigit() and int(text) <= MAX_ID and get_organisation_row(session, int(text)):
        return int(text)
    raise NotFound(f"no organisation has the id, org number or name {reference!r}")
