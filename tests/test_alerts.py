"""The failure alert reaches real receivers (HTTP webhook, SMTP) with what an on-call engineer needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_string
from types import SimpleNamespace

from frictionflow.airflow_local import ALERT_SMTP_CONN_ID, ALERT_WEBHOOK_CONN_ID, _alert_connections
from frictionflow.alerts import NightFailedAlert, alert_message
from tests.alert_receivers import SmtpReceiver, WebhookReceiver

INTERVAL_START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def _failure_context(task_id: str) -> dict:
    ti = SimpleNamespace(task_id=task_id, dag_id="frictionflow_nightly", try_number=1, log_url="http://ui/log")
    return {
        "ti": ti,
        "run_id": "scheduled__2026-11-21",
        "data_interval_start": INTERVAL_START,
        "exception": RuntimeError("quality gate [raw]: 5/6 expectations passed\n  FAILED raw.crm__contact ..."),
    }


def _configure(monkeypatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for conn_env, value in _alert_connections().items():
        monkeypatch.setenv(conn_env, value)


def test_gate_failure_alert_is_posted_to_the_webhook(monkeypatch):
    with WebhookReceiver() as receiver:
        _configure(monkeypatch, FRICTIONFLOW_ALERT_WEBHOOK_URL=receiver.url)
        NightFailedAlert().notify(_failure_context("raw_gate"))
    assert len(receiver.received) == 1
    alert = receiver.received[0]
    assert alert["task_id"] == "raw_gate" and alert["business_date"] == "2026-11-21"
    assert "FAILED raw.crm__contact" in alert["error"]
    assert "last good version stays live" in alert["published"]
    assert "audit" in alert["inspect"] and "meta.gate_results" in alert["inspect"]


def test_alert_is_emailed_to_the_on_call_addresses(monkeypatch):
    with SmtpReceiver() as smtp:
        _configure(
            monkeypatch,
            FRICTIONFLOW_ALERT_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}?to=oncall@example.com&to=lead@example.com",
        )
        NightFailedAlert().notify(_failure_context("pull_crm__contact"))
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert sorted(message["to"]) == ["lead@example.com", "oncall@example.com"]
    email = message_from_string(message["content"])
    assert email["Subject"] == "[frictionflow] night 2026-11-21 failed at pull_crm__contact"
    body = next(part for part in email.walk() if part.get_content_type() == "text/html").get_payload(decode=True)
    assert b"meta.quarantine" in body


def test_without_a_channel_the_alert_is_logged_not_lost(monkeypatch, capfd):
    monkeypatch.delenv(f"AIRFLOW_CONN_{ALERT_WEBHOOK_CONN_ID.upper()}", raising=False)
    monkeypatch.delenv(f"AIRFLOW_CONN_{ALERT_SMTP_CONN_ID.upper()}", raising=False)
    NightFailedAlert().notify(_failure_context("publish"))
    logged = "".join(capfd.readouterr())  # Airflow logs through structlog to the process's streams
    assert "no alert channel configured" in logged and "publish" in logged


def test_alert_message_is_json_serialisable_and_bounded():
    context = _failure_context("published_gate")
    context["exception"] = RuntimeError("x" * 100_000)
    message = alert_message(context)
    assert len(json.dumps(message)) < 10_000
    assert message["run_id"] == "scheduled__2026-11-21"
