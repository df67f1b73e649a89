"""The quality gate: Great Expectations suites run in PostgreSQL before anything is published.

Suites are plain GX suite JSON under `expectations/suites/`, reviewed like code. Each names the table it
checks in `meta.asset` (`scope: night` validates only the night's rows of a raw table; `scope: table`
the whole table). At run time they are loaded into a GX file context under the git-ignored local state
folder (results and Data Docs live there), so a run never rewrites committed files. Every expectation
result is also stored in `meta.gate_results`, so its history can be queried in SQL.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from frictionflow.settings import EXPECTATIONS_DIR

SUITES_DIR = EXPECTATIONS_DIR / "suites"
DSN_ENV = "FRICTIONFLOW_GX_WAREHOUSE_DSN"
RESULT_FORMAT = "SUMMARY"


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    data_asset: str
    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    observed: dict[str, Any]
    why: str | None = None  # the suite's own words for checks whose type says little (custom SQL)

    def describe(self) -> str:
        where = f"{self.data_asset}.{self.column}" if self.column else self.data_asset
        details = ", ".join(f"{k}={v}" for k, v in self.observed.items())
        because = f" [{self.why}]" if self.why else ""
        return f"{self.suite}: {self.expectation_type} on {where}{because} failed ({details})"


@dataclass(frozen=True)
class GateResult:
    layer: str
    outcomes: list[ExpectationOutcome]
    data_docs_index: Path | None

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def summary(self) -> str:
        passed = len(self.outcomes) - len(self.failures)
        lines = [f"quality gate [{self.layer}]: {passed}/{len(self.outcomes)} expectations passed"]
        lines += ["  FAILED " + f.describe() for f in self.failures]
        return "\n".join(lines)


class GateFailed(RuntimeError):
    pass


def suite_specs(layer: str) -> list[dict[str, Any]]:
    """The committed suites for one layer (`raw` or `published`), by file name order."""
    specs = []
    for path in sorted(SUITES_DIR.glob(f"{layer}.*.json")):
        spec = json.loads(path.read_text())
        spec.setdefault("name", path.stem)
        specs.append(spec)
    return specs


def run_gate(
    warehouse_dsn: str,
    layer: str,
    *,
    run_id: str,
    interval_start: datetime,
    gx_root: Path,
    schema_overrides: dict[str, str] | None = None,
) -> GateResult:
    """Validate every suite of `layer`, store the outcomes; returns them (the caller decides to fail)."""
    gate = validate_suites(
        warehouse_dsn,
        layer,
        suite_specs(layer),
        run_id=run_id,
        interval_start=interval_start,
        gx_root=gx_root,
        schema_overrides=schema_overrides,
    )
    store_results(warehouse_dsn, run_id, interval_start, gate)
    return gate


def validate_suites(
    warehouse_dsn: str,
    layer: str,
    specs: list[dict[str, Any]],
    *,
    run_id: str,
    interval_start: datetime,
    gx_root: Path,
    schema_overrides: dict[str, str] | None = None,
    data_docs: bool = True,
) -> GateResult:
    """Run suite specs (as in expectations/suites/*.json) in one GX checkpoint, pushed down to PostgreSQL."""
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite

    os.environ[DSN_ENV] = warehouse_dsn  # GX reads it through ${...}: no DSN lands in its config file
    gx_root.mkdir(parents=True, exist_ok=True)
    context = _context(gx_root)
    datasource = context.data_sources.add_or_update_postgres(name="warehouse", connection_string="${" + DSN_ENV + "}")
    definitions = []
    assets = {spec["name"]: spec["meta"]["asset"] for spec in specs}
    for spec in specs:
        asset_spec = spec["meta"]["asset"]
        schema = (schema_overrides or {}).get(asset_spec["schema"], asset_spec["schema"])
        query = f'select * from "{schema}"."{asset_spec["table"]}"'
        if asset_spec.get("scope") == "night":
            query += f" where _data_interval_start = '{interval_start.isoformat()}'::timestamptz"
        asset_name = spec["name"]
        if asset_name in [a.name for a in datasource.assets]:
            datasource.delete_asset(asset_name)
        asset = datasource.add_query_asset(name=asset_name, query=query)
        batch_definition = asset.add_batch_definition_whole_table("all_rows")
        # Cross-table checks name their neighbours by `{published_schema}` (tonight: the audit schema);
        # checks against recent nights name the night by `{interval_start}`.
        expectations = json.loads(
            json.dumps(spec["expectations"])
            .replace("{published_schema}", schema_of_published(schema_overrides))
            .replace("{interval_start}", interval_start.isoformat())
        )
        suite = ExpectationSuite(name=spec["name"], expectations=expectations, meta=spec.get("meta"))
        suite = context.suites.add_or_update(suite)
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=spec["name"], data=batch_definition, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{layer}_gate",
            validation_definitions=definitions,
            actions=[],  # Data Docs are built once below: the action rebuilds the whole site per suite
            result_format={"result_format": RESULT_FORMAT},
        )
    )
    result = checkpoint.run(run_id=gx.RunIdentifier(run_name=f"{run_id}:{layer}"))
    if data_docs:
        context.build_data_docs(resource_identifiers=list(result.run_results))
    outcomes = []
    for validation in result.run_results.values():
        suite_name = validation.suite_name
        asset = assets[suite_name]
        for r in validation.results:
            config = r.expectation_config
            outcomes.append(
                ExpectationOutcome(
                    suite=suite_name,
                    data_asset=f"{asset['schema']}.{asset['table']}",
                    expectation_type=config.type,
                    column=config.kwargs.get("column"),
                    kwargs={k: v for k, v in config.kwargs.items() if k != "batch_id"},
                    success=bool(r.success),
                    observed=_observed(r.result or {}, r.exception_info),
                    why=(config.meta or {}).get("why"),
                )
            )
    docs = gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return GateResult(layer=layer, outcomes=outcomes, data_docs_index=docs if docs.exists() else None)


def schema_of_published(schema_overrides: dict[str, str] | None) -> str:
    return (schema_overrides or {}).get("published", "published")


def _observed(result: dict[str, Any], exception_info: Any) -> dict[str, Any]:
    keys = ("observed_value", "unexpected_count", "unexpected_percent", "element_count", "partial_unexpected_list")
    observed = {k: result[k] for k in keys if k in result and result[k] not in (None, [])}
    if "partial_unexpected_list" in observed:
        observed["partial_unexpected_list"] = observed["partial_unexpected_list"][:5]
    if isinstance(exception_info, dict) and exception_info.get("raised_exception"):
        observed["error"] = str(exception_info.get("exception_message"))[:300]
    return json.loads(json.dumps(observed, default=str))


def _context(gx_root: Path):
    """An in-memory GX context whose validation results and Data Docs are files under `gx_root`.

    A file context re-reads and re-writes its YAML for every asset, suite and definition (about 20 s of
    a 40 s raw gate); suites live in the repo anyway. Results and Data Docs stay on disk, so the docs
    show every night's results and the Airflow UI serves them.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

    uncommitted = gx_root / "gx" / "uncommitted"
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False))
    config.stores["validation_results_store"] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(uncommitted / "validations"),
        },
    }
    config.data_docs_sites = {
        "local_site": {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(uncommitted / "data_docs" / "local_site"),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    context = gx.get_context(project_config=config, mode="ephemeral")
    _quiet_progress_bars(context)
    return context


def _quiet_progress_bars(context) -> None:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)


def store_results(warehouse_dsn: str, run_id: str, interval_start: datetime, gate: GateResult) -> None:
    """One row per expectation per run; a re-run of the same run replaces its rows."""
    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute(
            "delete from meta.gate_results where run_id = %s and suite in (select unnest(%s::text[]))",
            (run_id, sorted({o.suite for o in gate.outcomes})),
        )
        with conn.cursor().copy(
            "copy meta.gate_results (run_id, data_interval_start, suite, data_asset, expectation_type, "
            "column_name, kwargs, success, observed) from stdin"
        ) as copy:
            for o in gate.outcomes:
                copy.write_row(
                    (
                        run_id,
                        interval_start,
                        o.suite,
                        o.data_asset,
                        o.expectation_type,
                        o.column,
                        json.dumps(o.kwargs, default=str),
                        o.success,
                        json.dumps(o.observed, default=str),
                    )
                )


def enforce(gate: GateResult) -> str:
    """The summary when every expectation passed; GateFailed with the summary otherwise."""
    summary = gate.summary()
    if not gate.success:
        raise GateFailed(summary)
    return summary
