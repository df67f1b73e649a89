"""Alerting when a night fails: an Airflow notifier that tells the on-call engineer what failed and what stays live.

The notifier is attached to every task of the nightly DAG (`on_failure_callback`), so it fires once a
task has failed for good (after its retries). It sends through the channels that are configured as
Airflow connections, using the providers' hooks:

- `frictionflow_alerts_webhook` (HTTP): a JSON POST to the connection's URL (Slack/Teams/PagerDuty-style
  incoming webhooks, or any HTTP receiver);
- `frictionflow_alerts_smtp` (SMTP): an email to the addresses in the connection's extra `to`.

With neither configured it logs a warning saying how to configure one (a night's failure is never silent:
the DAG run fails and the Airflow UI shows it).
"""

from __future__ import annotations

import html
import json
from typing import Any

from airflow.sdk import BaseNotifier

from frictionflow.airflow_local import ALERT_SMTP_CONN_ID as SMTP_CONN_ID
from frictionflow.airflow_local import ALERT_WEBHOOK_CONN_ID as WEBHOOK_CONN_ID

MAX_ERROR_CHARS = 4000
PUBLISHED_UNCHANGED = "unchanged: the last good version stays live"
INSPECT_GATE = (
    "tonight's marts stay in schema audit; every expectation result is in meta.gate_results; "
    "Data Docs: Airflow UI > Data Docs"
)
INSPECT_LOADS = "the task log; meta.load_ledger, meta.quarantine and meta.delivery_incidents hold the night's loads"


def alert_message(context: dict[str, Any]) -> dict[str, Any]:
    """What an engineer needs at 3 am: which night, which task, why, and what the dashboards show now."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    interval_start = context.get("data_interval_start")
    task_id = getattr(ti, "task_id", None)
    gate_failed = task_id in ("raw_gate", "published_gate")
    return {
        "event": "frictionflow_night_failed",
        "dag_id": getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", None),
        "run_id": context.get("run_id") or getattr(dag_run, "run_id", None),
        "data_interval_start": interval_start.isoformat() if interval_start else None,
        "business_date": _business_date(interval_start),
        "task_id": task_id,
        "try_number": getattr(ti, "try_number", None),
        "error": str(context.get("exception") or "")[:MAX_ERROR_CHARS],
        "log_url": getattr(ti, "log_url", None),
        "published": PUBLISHED_UNCHANGED if task_id != "publish" else "check meta.publish_log",
        "inspect": INSPECT_GATE if gate_failed else INSPECT_LOADS,
    }


def _business_date(interval_start) -> str | None:
    if interval_start is None:
        return None
    from frictionflow.nightly import business_date

    return business_date(interval_start).isoformat()


class NightFailedAlert(BaseNotifier):
    """Sends `alert_message` to every configured channel; logs a warning when none is."""

    def __init__(self, *, webhook_conn_id: str = WEBHOOK_CONN_ID, smtp_conn_id: str = SMTP_CONN_ID) -> None:
        super().__init__()
        self.webhook_conn_id = webhook_conn_id
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context) -> None:
        message = alert_message(context)
        sent = []
        if _connection(self.webhook_conn_id) is not None:
            self._post(message)
            sent.append(self.webhook_conn_id)
        smtp = _connection(self.smtp_conn_id)
        if smtp is not None:
            self._email(message, smtp.extra_dejson.get("to"))
            sent.append(self.smtp_conn_id)
        if sent:
            self.log.info("alert sent through %s: %s failed for %s", sent, message["task_id"], message["business_date"])
        else:
            self.log.warning(
                "no alert channel configured (Airflow connection %s or %s); alert was: %s",
                self.webhook_conn_id,
                self.smtp_conn_id,
                json.dumps(message),
            )

    def _post(self, message: dict[str, Any]) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        HttpHook(method="POST", http_conn_id=self.webhook_conn_id).run(
            json=message, headers={"Content-Type": "application/json"}
        )

    def _email(self, message: dict[str, Any], to: str | list[str] | None) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        if not to:
            raise ValueError(f"Airflow connection {self.smtp_conn_id} needs extra 'to' (the on-call addresses)")
        subject = f"[frictionflow] night {message['business_date']} failed at {message['task_id']}"
        body = "".join(f"<p><b>{html.escape(k)}</b>: {html.escape(str(v))}</p>" for k, v in message.items())
        with SmtpHook(smtp_conn_id=self.smtp_conn_id) as hook:
            hook.send_email_smtp(to=to, subject=subject, html_content=body)


def _connection(conn_id: str):
    """The Airflow connection, or None when it is not defined (a channel nobody configured)."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
