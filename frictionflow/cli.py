"""`python -m frictionflow <command>`: what the Makefile targets call.

env                 print the shell environment of the local Airflow (connections, paths)
warehouse start|stop|status
prepare             start the warehouse, bootstrap it, migrate Airflow, create pools, compile dbt
sandbox             deliver the sandbox company's sources through a date
run                 prepare, deliver the sandbox, run the nightly DAG with `airflow dags test`, summarise
summary             the summary of a night already run
airflow             prepare, then start Airflow standalone (UI, scheduler, DAG processor, triggerer)
bench               the dbt stage inside the DAG against a plain `dbt build` (after `run`)
bench-load          the raw loader's rows/s against raw COPY and pandas to_sql, and its peak memory at 1x/10x
bench-identity      identity resolution (guards, edges, connected components, stable keys) over N synthetic rows
bench-history       a night's dbt build with 30 and with 90 days of history (the same company, two warehouses)
suites              regenerate the raw GX suites from the contracts (--write; --check fails when stale)
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from frictionflow.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, load_settings, pseudonymisation_key


def cmd_env(settings: Settings, _args) -> int:
    from frictionflow.airflow_local import airflow_environment

    for key, value in sorted(airflow_environment(settings).items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_warehouse(settings: Settings, args) -> int:
    from frictionflow.warehouse import embedded

    if args.action == "start":
        from frictionflow.warehouse.bootstrap import ensure_database

        embedded.start(settings)
        ensure_database(settings.maintenance_dsn, settings.warehouse_db)
        print(f"warehouse: {settings.warehouse_dsn}")
    elif args.action == "stop":
        from frictionflow.sandbox_service import stop_sandbox_api

        if stop_sandbox_api(settings):
            print("sandbox contact-centre API: stopped")
        embedded.stop(settings)
        print("warehouse: stopped" if settings.embedded else "warehouse: external server, nothing to stop")
    else:
        running = embedded.is_running(settings) if settings.embedded else True
        print(
            f"warehouse: {settings.warehouse_dsn} ({'embedded' if settings.embedded else 'external'}, "
            f"{'running' if running else 'stopped'})"
        )
    return 0


def prepare(settings: Settings) -> dict[str, str]:
    from frictionflow.airflow_local import airflow_environment, prepare_airflow
    from frictionflow.sandbox_service import ensure_sandbox_api
    from frictionflow.warehouse import embedded
    from frictionflow.warehouse.bootstrap import bootstrap_warehouse, ensure_database

    embedded.start(settings)
    ensure_database(settings.maintenance_dsn, settings.warehouse_db)
    bootstrap_warehouse(settings.warehouse_dsn, pseudonymisation_key(settings))
    ensure_sandbox_api(settings)
    env = airflow_environment(settings)
    compile_dbt(env)
    prepare_airflow(settings)
    return env


def compile_dbt(env: dict[str, str]) -> None:
    """`dbt parse` writes the manifest Cosmos renders the DAG from."""
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
        env={**os.environ, **env},
        check=True,
    )


def cmd_prepare(settings: Settings, _args) -> int:
    prepare(settings)
    print(f"prepared: warehouse {settings.warehouse_dsn}, Airflow home {settings.airflow_home}")
    return 0


def _sandbox(settings: Settings, args):
    from frictionflow.sandbox import Sandbox, SandboxConfig

    window = {}
    if args.end_date:
        window = {"start_date": args.end_date - timedelta(days=args.days - 1), "end_date": args.end_date}
    config = SandboxConfig(seed=args.seed, customers=args.customers, **window)
    return Sandbox(
        config,
        crm_admin_dsn=settings.crm_admin_dsn,
        landing_dir=settings.landing_dir,
        ground_truth_dir=settings.ground_truth_dir,
    )


def cmd_sandbox(settings: Settings, args) -> int:
    from frictionflow.warehouse import embedded

    embedded.start(settings)
    sandbox = _sandbox(settings, args)
    through = args.through or sandbox.config.end_date
    sandbox.deliver_through(through)
    print(f"sandbox: delivered through {through} (seed {args.seed}, {args.customers} customers)")
    return 0


def cmd_run(settings: Settings, args) -> int:
    from frictionflow.airflow_local import DAG_ID, airflow

    started = time.monotonic()
    env = prepare(settings)
    sandbox = _sandbox(settings, args)
    night = args.date or sandbox.config.end_date
    print(f"sandbox: delivering the company's sources through {night} ...", flush=True)
    sandbox.deliver_through(night)
    # A manual run's data interval is the day before its logical date: the night after `night`.
    logical = (night + timedelta(days=1)).isoformat()
    print(f"airflow: dags test {DAG_ID} {logical} (business date {night}) ...", flush=True)
    result = airflow(["dags", "test", DAG_ID, logical], env, capture_output=not args.verbose, text=True)
    log_file = settings.home / "last_run.log"
    if not args.verbose:
        log_file.write_text((result.stdout or "") + (result.stderr or ""))
    print_summary(
        settings, night, dag_succeeded=result.returncode == 0, log_file=log_file if not args.verbose else None
    )
    print(f"\nwall time: {time.monotonic() - started:.0f} s")
    return result.returncode


def cmd_summary(settings: Settings, args) -> int:
    print_summary(settings, args.date, dag_succeeded=None, log_file=None)
    return 0


def print_summary(settings: Settings, night: date, dag_succeeded: bool | None, log_file: Path | None) -> None:
    from frictionflow.reporting import night_summary

    print(night_summary(settings, night, dag_succeeded=dag_succeeded, log_file=log_file))


def cmd_airflow(settings: Settings, args) -> int:
    from frictionflow.airflow_local import airflow

    env = prepare(settings)
    port = env["AIRFLOW__API__PORT"]
    print(
        f"Airflow UI: http://localhost:{port}  login: admin (password printed by Airflow below and stored in "
        f"{env['AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE']})",
        flush=True,
    )
    return airflow(["standalone"], env).returncode


def cmd_bench(settings: Settings, args) -> int:
    from frictionflow import bench

    report = bench.run(settings, repeats=args.repeats)
    print(report)
    if args.write:
        from frictionflow.bench_load import write_section

        write_section(report, bench.RESULTS_FILE)  # keeps the other benchmarks' sections
        print(f"\nwritten to {bench.RESULTS_FILE}")
    return 0


def cmd_bench_load(settings: Settings, args) -> int:
    from frictionflow import bench_load

    report = bench_load.run(
        settings,
        rows=args.rows,
        scale=args.scale,
        repeats=args.repeats,
        kinds=args.kind or None,
        log=lambda line: print(line, flush=True),
    )
    print("\n" + report)
    if args.write:
        bench_load.write_section(report, args.output)
        print(f"\nwritten to {args.output}")
    return 0


def cmd_bench_identity(settings: Settings, args) -> int:
    from frictionflow import bench_identity

    report = bench_identity.run(settings, rows=args.rows, log=lambda line: print(line, flush=True))
    print("\n" + report)
    if args.write:
        bench_identity.write(report, args.output)
        print(f"\nwritten to {args.output}")
    return 0


def cmd_bench_history(settings: Settings, args) -> int:
    from frictionflow import bench_history
    from frictionflow.bench_load import write_section
    from frictionflow.warehouse import embedded

    embedded.start(settings)
    report = bench_history.run(
        settings,
        short_days=args.short_days,
        long_days=args.long_days,
        customers=args.customers,
        seed=args.seed,
        repeats=args.repeats,
        log=lambda line: print(line, flush=True),
    )
    print("\n" + report)
    if args.write:
        write_section(report, args.output)
        print(f"\nwritten to {args.output}")
    return 0


def cmd_suites(_settings: Settings, args) -> int:
    from frictionflow.quality.suites import generated_suites, write_suites

    if args.write:
        for path in write_suites():
            print(f"wrote {path}")
        return 0
    stale = [p for p, text in generated_suites().items() if not p.exists() or p.read_text() != text]
    for path in stale:
        print(f"stale: {path} (run `python -m frictionflow suites --write`)")
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="frictionflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env")
    wh = sub.add_parser("warehouse")
    wh.add_argument("action", choices=["start", "stop", "status"])
    sub.add_parser("prepare")
    for name in ("sandbox", "run"):
        p = sub.add_parser(name)
        p.add_argument("--seed", type=int, default=int(os.environ.get("SANDBOX_SEED", 42)))
        p.add_argument("--customers", type=int, default=int(os.environ.get("SANDBOX_CUSTOMERS", 3000)))
        p.add_argument("--days", type=int, default=int(os.environ.get("SANDBOX_DAYS", 30)))
        p.add_argument("--end-date", type=date.fromisoformat, default=None)
        if name == "sandbox":
            p.add_argument("--through", type=date.fromisoformat, default=None)
        else:
            p.add_argument(
                "--date", type=date.fromisoformat, default=None, help="business date (default: the sandbox's last day)"
            )
            p.add_argument("--verbose", action="store_true", help="stream Airflow's output")
    s = sub.add_parser("summary")
    s.add_argument("--date", type=date.fromisoformat, required=True)
    sub.add_parser("airflow")
    b = sub.add_parser("bench")
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--write", action="store_true", help="write the figures into docs/benchmarks.md")
    bl = sub.add_parser("bench-load")
    bl.add_argument("--rows", type=int, default=200_000, help="records per file at the base size")
    bl.add_argument("--scale", type=int, default=10, help="the larger size for peak memory, as a multiple")
    bl.add_argument("--repeats", type=int, default=5)
    bl.add_argument("--kind", action="append", help="only these delivery kinds (repeatable; default: all)")
    bl.add_argument("--write", action="store_true", help="write the figures into their section of --output")
    bl.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    bi = sub.add_parser("bench-identity")
    bi.add_argument("--rows", type=int, default=1_000_000, help="synthetic identifier rows")
    bi.add_argument("--write", action="store_true", help="write the figures into their section of --output")
    bi.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    bh = sub.add_parser("bench-history")
    bh.add_argument("--short-days", type=int, default=30)
    bh.add_argument("--long-days", type=int, default=90)
    bh.add_argument("--customers", type=int, default=int(os.environ.get("SANDBOX_CUSTOMERS", 1000)))
    bh.add_argument("--seed", type=int, default=int(os.environ.get("SANDBOX_SEED", 42)))
    bh.add_argument("--repeats", type=int, default=2, help="timed nights per history length (median)")
    bh.add_argument("--write", action="store_true", help="write the figures into their section of --output")
    bh.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    su = sub.add_parser("suites")
    su.add_argument("--write", action="store_true", help="write the generated suites (default: check only)")
    args = parser.parse_args(argv)
    settings = load_settings()
    handler = {
        "env": cmd_env,
        "warehouse": cmd_warehouse,
        "prepare": cmd_prepare,
        "sandbox": cmd_sandbox,
        "run": cmd_run,
        "summary": cmd_summary,
        "airflow": cmd_airflow,
        "bench": cmd_bench,
        "bench-load": cmd_bench_load,
        "bench-identity": cmd_bench_identity,
        "bench-history": cmd_bench_history,
        "suites": cmd_suites,
    }[args.command]
    return handler(settings, args)


if __name__ == "__main__":
    sys.exit(main())
