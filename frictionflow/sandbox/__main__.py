"""python -m frictionflow.sandbox --customers N --seed S --start-date D --end-date D --through D"""

from __future__ import annotations

import argparse
from datetime import date

from frictionflow.settings import load_settings

from . import Sandbox, SandboxConfig


def main(argv: list[str] | None = None) -> int:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(prog="python -m frictionflow.sandbox", description=__doc__)
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--start-date", type=date.fromisoformat, default=defaults.start_date)
    parser.add_argument("--end-date", type=date.fromisoformat, default=defaults.end_date)
    parser.add_argument("--through", type=date.fromisoformat, help="deliver through this day (default: end date)")
    parser.add_argument("--no-turbulence", action="store_true", help="simulate without the turbulent period")
    args = parser.parse_args(argv)
    extra = {"turbulent_from": None} if args.no_turbulence else {}
    config = SandboxConfig(
        seed=args.seed, customers=args.customers, start_date=args.start_date, end_date=args.end_date, **extra
    )
    settings = load_settings()
    sandbox = Sandbox(
        config,
        crm_admin_dsn=settings.crm_admin_dsn,
        landing_dir=settings.landing_dir,
        ground_truth_dir=settings.ground_truth_dir,
    )
    report = sandbox.deliver_through(args.through or config.end_date)
    print(f"sandbox seed={config.seed} customers={config.customers} {config.start_date}..{config.end_date}")
    print(f"  crm: {settings.crm_admin_dsn}")
    print(f"  landing: {settings.landing_dir}")
    print(f"  ground truth: {settings.ground_truth_dir}")
    print(f"  contact centre API store: {sandbox.contact_center.directory} (serve it: contact_center_api)")
    print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
