"""Per-source extraction settings from `sources.yml`, joined with each source's contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from frictionflow.contracts import Contract, Entity, load_contract

SOURCES_FILE = Path(__file__).resolve().parent / "sources.yml"


@dataclass(frozen=True)
class SourceConfig:
    system: str
    extractor: str
    connection: str
    pool: str
    pool_slots: int
    entities: tuple[str, ...]
    retries: int
    timeout_minutes: int
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def contract(self) -> Contract:
        return load_contract(self.system)

    def entity(self, name: str) -> Entity:
        return self.contract.entities[name]

    def dedupe_key(self, entity: str) -> tuple[str, ...]:
        """Columns that identify one delivered version of a record.

        `version_columns` extend the primary key; `dedupe_key` is either one key for every entity of the
        source or a mapping entity -> key (entities it does not name fall back to their primary key).
        """
        if "version_columns" in self.options:
            return (*self.entity(entity).primary_key, *self.options["version_columns"])
        key = self.options.get("dedupe_key")
        if isinstance(key, dict):
            key = key.get(entity)
        return tuple(key or self.entity(entity).primary_key)


@cache
def source_configs() -> dict[str, SourceConfig]:
    spec = yaml.safe_load(SOURCES_FILE.read_text())
    known = ("extractor", "connection", "pool", "pool_slots", "entities", "retries", "timeout_minutes")
    configs = {}
    for system, body in spec.items():
        configs[system] = SourceConfig(
            system=system,
            extractor=body["extractor"],
            connection=body["connection"],
            pool=body["pool"],
            pool_slots=int(body["pool_slots"]),
            entities=tuple(body["entities"]),
            retries=int(body["retries"]),
            timeout_minutes=int(body["timeout_minutes"]),
            options={k: v for k, v in body.items() if k not in known},
        )
        missing = set(configs[system].entities) - set(configs[system].contract.entities)
        if missing:
            raise ValueError(f"sources.yml: {system} names entities its contract does not have: {sorted(missing)}")
    return configs
