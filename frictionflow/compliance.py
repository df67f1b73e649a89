"""Compliance checks on what the sources did, reported every night (never silently dropped, never blocking).

Marketing: an email sent to an address whose CRM `marketing_email` consent was withdrawn before the
send is a compliance breach by the email provider (its suppression list missed the withdrawal). The
send stays in the raw layer as delivered; each breach is recorded in `meta.consent_breaches` with the
consent that forbade it, counted in the night's summary and logged as a warning by the DAG. It does not
block publication: the warehouse is right, the source misbehaved.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

BREACHES = """
insert into meta.consent_breaches
    (event_id, campaign_id, sent_at, consent_id, contact_id, withdrawn_at, batch_id, data_interval_start)
select distinct on (sent.event_id)
    sent.event_id, sent.campaign_id, sent.event_ts, consent.consent_id, contact.contact_id,
    consent.captured_at, sent._batch_id, %(night)s
from raw.marketing__email_events as sent
inner join (
    -- Each contact's current email, compared the way people type it (case, surrounding spaces).
    select distinct on (contact_id) contact_id, lower(btrim(email)) as email
    from raw.crm__contact
    where email is not null
    order by contact_id, system_modstamp desc
) as contact on contact.email = lower(btrim(sent.email))
inner join lateral (
    -- The contact's marketing_email consent as it stood when the email was sent.
    select v.consent_id, v.status, v.captured_at
    from raw.crm__consent as v
    where v.contact_id = contact.contact_id and v.purpose = 'marketing_email' and not v.is_deleted
      and v.captured_at <= sent.event_ts
    order by v.captured_at desc, v.system_modstamp desc
    limit 1
) as consent on consent.status = 'withdrawn'
where sent.event_type = 'sent' and sent._data_interval_start = %(night)s
order by sent.event_id, consent.captured_at desc
"""


def record_consent_breaches(warehouse_dsn: str, interval_start: datetime) -> int:
    """Tonight's breaches into meta.consent_breaches (a re-run replaces them); returns how many."""
    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute("delete from meta.consent_breaches where data_interval_start = %s", (interval_start,))
        return conn.execute(BREACHES, {"night": interval_start}).rowcount
