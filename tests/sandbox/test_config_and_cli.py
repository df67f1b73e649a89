"""Config rules, the opt-in malformed lines, and the command line."""

from __future__ import annotations

import gzip
import json
from datetime import date

import psycopg
import pytest

from frictionflow.contracts import ContractViolation, load_contract
from frictionflow.sandbox import DEFAULT_QUIRK_RATES, Sandbox, SandboxConfig
from frictionflow.sandbox.__main__ import main

from .conftest import SERVER

SMALL = {"customers": 200, "start_date": date(2026, 11, 20), "end_date": date(2026, 11, 22)}


def test_config_defaults_and_validation():
    cfg = SandboxConfig()
    assert (cfg.seed, cfg.customers, cfg.start_date, cfg.end_date) == (42, 3000, date(2026, 10, 24), date(2026, 11, 22))
    assert cfg.turbulent_from == date(2026, 11, 13)
    assert SandboxConfig(turbulent_from=None).turbulent_from is None
    assert SandboxConfig(quirk_rates={"bot_traffic": 0.1}).rate("bot_traffic") == 0.1
    opt_in = ("malformed_web_line", "mdm_truncated_snapshot", "erp_missing_manifest", "erp_manifest_mismatch")
    assert all(v > 0 for k, v in DEFAULT_QUIRK_RATES.items() if k not in opt_in)
    assert all(DEFAULT_QUIRK_RATES[k] == 0.0 for k in opt_in)
    with pytest.raises(ValueError):
        SandboxConfig(quirk_rates={"no_such_quirk": 0.1})
    with pytest.raises(ValueError):
        SandboxConfig(quirk_rates={"bot_traffic": 2.0})
    assert SandboxConfig(seed=1).fingerprint() != SandboxConfig(seed=2).fingerprint()


def test_opt_in_malformed_lines_break_the_contract(databases, tmp_path):
    cfg = SandboxConfig(seed=3, quirk_rates={"malformed_web_line": 0.02}, **SMALL)
    db = databases("malformed_crm")
    sandbox = Sandbox(cfg, crm_admin_dsn=SERVER + db, landing_dir=tmp_path / "l", ground_truth_dir=tmp_path / "t")
    sandbox.deliver_through(cfg.end_date)
    entity = load_contract("web_analytics").entities["event"]
    unparsable = bad_enum = 0
    for path in (tmp_path / "l" / "web_analytics").rglob("*.jsonl.gz"):
        with gzip.open(path, "rt") as fh:
            for line in fh:
                try:
                    entity.validate(json.loads(line))
                except json.JSONDecodeError:
                    unparsable += 1
                except ContractViolation:
                    bad_enum += 1
    assert unparsable > 0 and bad_enum > 0
    recorded = (tmp_path / "t" / "quirks.csv").read_text().count("malformed_web_line")
    assert recorded == unparsable + bad_enum


def test_cli_delivers_with_settings(databases, tmp_path, monkeypatch, capsys):
    warehouse = databases("cli")
    databases("cli_crm")  # the CRM database the settings derive from the warehouse name; dropped afterwards
    monkeypatch.setenv("WAREHOUSE_DSN", SERVER + warehouse)
    monkeypatch.setenv("FRICTIONFLOW_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("FRICTIONFLOW_GROUND_TRUTH_DIR", str(tmp_path / "truth"))
    argv = ["--customers", "150", "--seed", "5", "--start-date", "2026-11-20", "--end-date", "2026-11-22"]
    assert main([*argv, "--through", "2026-11-21"]) == 0
    out = capsys.readouterr().out
    assert "crm.contact" in out and "web_analytics" in out
    assert sorted(p.name for p in (tmp_path / "landing" / "web_analytics").iterdir()) == ["2026-11-20", "2026-11-21"]
    with psycopg.connect(SERVER + warehouse + "_crm") as conn:
        assert conn.execute("select count(*) from crm.contact").fetchone()[0] >= 150
