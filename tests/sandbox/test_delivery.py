"""Deliveries: deterministic, idempotent, forward in time only, contract-valid."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from frictionflow.contracts import ContractViolation, load_contract
from frictionflow.sandbox import SandboxError

from .conftest import CONFIG, READER, SERVER, TABLES, crm_dicts, crm_rows, web_lines

LONDON = ZoneInfo("Europe/London")


def _tree_digest(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_config_same_bytes_whatever_the_cadence(nightly, oneshot):
    """Night-by-night and one-go deliveries of one config give identical files and identical CRM rows."""
    assert _tree_digest(nightly.landing) == _tree_digest(oneshot.landing)
    assert _tree_digest(nightly.truth) == _tree_digest(oneshot.truth)
    for table in TABLES:
        assert crm_rows(nightly.db, table) == crm_rows(oneshot.db, table), table


def test_deliver_through_is_idempotent(oneshot):
    before_files = _tree_digest(oneshot.landing)
    before_rows = {t: crm_rows(oneshot.db, t) for t in TABLES}
    report = oneshot.sandbox.deliver_through(CONFIG.end_date)
    assert report.already_delivered
    # Forcing the work again (ground truth gone) rewrites the same bytes and touches no row.
    (oneshot.truth / "manifest.json").unlink()
    truth_before = _tree_digest(oneshot.truth)
    report = oneshot.sandbox.deliver_through(CONFIG.end_date)
    assert not report.already_delivered
    assert sum(report.crm_rows.values()) == 0
    assert _tree_digest(oneshot.landing) == before_files
    assert {k: v for k, v in _tree_digest(oneshot.truth).items() if k != "manifest.json"} == truth_before
    assert {t: crm_rows(oneshot.db, t) for t in TABLES} == before_rows


def test_an_earlier_day_than_delivered_raises(oneshot):
    with pytest.raises(SandboxError):
        oneshot.sandbox.deliver_through(CONFIG.end_date - timedelta(days=1))


def test_files_for_later_dates_never_exist_early(nightly):
    assert nightly.later_dirs_seen == []
    dates = sorted(p.name for p in (nightly.landing / "web_analytics").iterdir())
    expected = [(CONFIG.start_date + timedelta(days=i)).isoformat() for i in range(14)]
    assert dates == expected
    for d in dates:
        names = sorted(p.name for p in (nightly.landing / "web_analytics" / d).iterdir())
        assert names == [f"{h:02d}.jsonl.gz" for h in range(24)]  # complete, no temp files left


def test_every_crm_row_validates_against_the_contract(oneshot):
    contract = load_contract("crm")
    for table in TABLES:
        rows = crm_dicts(oneshot.db, table)
        assert rows, table
        for row in rows:
            contract.entities[table].validate(row)


def test_crm_columns_are_exactly_the_contract(oneshot):
    contract = load_contract("crm")
    with psycopg.connect(SERVER + oneshot.db) as conn:
        for table in TABLES:
            columns = conn.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'crm' and table_name = %s order by ordinal_position",
                (table,),
            ).fetchall()
            spec = contract.entities[table]
            assert [c for c, _ in columns] == spec.column_names
            pg = {"text": "text", "timestamp with time zone": "timestamptz", "boolean": "boolean", "bigint": "bigint"}
            assert [pg[t] for _, t in columns] == [c.pg_type for c in spec.columns]


def test_every_web_line_validates_against_the_contract(oneshot):
    entity = load_contract("web_analytics").entities["event"]
    lines = web_lines(oneshot.landing)
    assert len(lines) > 10_000
    for path, line in lines:
        record = json.loads(line)
        assert set(record) == set(entity.column_names)
        typed = entity.validate(record)
        assert record["received_at"].endswith("Z")
        assert record["device_ts"][-6] in "+-"  # an offset, not Z
        received = typed["received_at"]
        assert path == f"web_analytics/{received:%Y-%m-%d}/{received:%H}.jsonl.gz"  # filed by receipt, UTC


def test_a_case_is_pulled_in_several_versions_over_several_nights(nightly):
    history: dict[str, list[tuple]] = {}
    for day in sorted(nightly.nights):
        for case_id, row in nightly.nights[day]["case"].items():
            version = (row[5], row[12])  # status, system_modstamp
            seen = history.setdefault(case_id, [])
            if not seen or seen[-1] != version:
                seen.append(version)
    longest = max(history.values(), key=len)
    assert len(longest) >= 4
    statuses = [s for s, _ in longest]
    assert statuses[0] in ("new", "open") and len(set(statuses)) >= 3
    assert sum(len(v) >= 3 for v in history.values()) >= 10


def test_system_modstamp_never_goes_backwards(nightly):
    last: dict[tuple[str, str], datetime] = {}
    for day in sorted(nightly.nights):
        for table, rows in nightly.nights[day].items():
            stamp_at = {"contact": 7, "case": 12, "consent": 6}[table]
            for key, row in rows.items():
                previous = last.get((table, key))
                assert previous is None or row[stamp_at] >= previous, (table, key)
                last[(table, key)] = row[stamp_at]


def test_late_committing_rows_appear_the_next_night_stamped_inside_the_previous_day(nightly):
    """A row stamped in the last 15 minutes of day D is missing from D's pull, present in D+1's."""
    found = []
    days = sorted(nightly.nights)
    for day, next_day in zip(days, days[1:], strict=False):
        end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=LONDON)
        start = end - timedelta(minutes=15)
        for table, stamp_at in (("contact", 7), ("case", 12), ("consent", 6)):
            before, after = nightly.nights[day][table], nightly.nights[next_day][table]
            for key, row in after.items():
                stamp = row[stamp_at]
                if start <= stamp < end and (key not in before or before[key][stamp_at] < stamp):
                    found.append((table, key, day))
    assert len(found) >= 3
    truth = (nightly.truth / "quirks.csv").read_text()
    for _table, key, _day in found:
        assert key in truth  # recorded as late_commit in the ground truth


def test_quoted_case_table_and_read_only_reader(oneshot):
    with psycopg.connect(READER + oneshot.db) as conn:
        assert conn.execute('select count(*) from crm."case"').fetchone()[0] > 0
        conn.execute("set search_path = crm")
        with pytest.raises(psycopg.errors.SyntaxError):  # unquoted, case is a reserved word
            conn.execute("select count(*) from case")
        conn.rollback()
        for statement in (
            "insert into crm.contact (contact_id, last_name, country_code, created_at, system_modstamp, is_deleted)"
            " values ('x', 'x', 'GB', now(), now(), false)",
            'delete from crm."case"',
            "create table crm.intruder (id int)",
        ):
            with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)):
                conn.execute(statement)
            conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from sandbox_control.delivery")


def test_default_turbulent_period_is_the_last_ten_days():
    assert CONFIG.turbulent_from == date(2026, 11, 5)


def test_spot_check_would_catch_a_broken_record():
    entity = load_contract("web_analytics").entities["event"]
    with pytest.raises(ContractViolation):
        entity.validate({"event_id": "x", "event_name": "pageview"})


def test_a_lost_date_is_delivered_again_identically(nightly):
    """Files removed from the landing zone come back byte for byte (days already released are rebuilt)."""
    import shutil

    folder = nightly.landing / "web_analytics" / (CONFIG.start_date + timedelta(days=2)).isoformat()
    before = _tree_digest(folder)
    shutil.rmtree(folder)
    report = nightly.sandbox.deliver_through(CONFIG.end_date)
    assert report.web_dates == [CONFIG.start_date + timedelta(days=2)]
    assert _tree_digest(folder) == before
