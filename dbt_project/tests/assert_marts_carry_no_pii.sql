-- Published tables never hold PII or raw customer identifiers: customers appear only as customer_key.
-- Fails with every column of a mart whose name looks like personal data or a raw customer id.
select
    mart_columns.table_name,
    mart_columns.column_name
from information_schema.columns as mart_columns
where
    mart_columns.table_schema = '{{ ref("fct_journeys").schema }}'
    and mart_columns.table_name in (
        'fct_journeys',
        'fct_friction_events',
        'fct_friction_daily',
        'fct_friction_shift',
        'fct_contact_point_events',
        'fct_contact_point_transition_shift',
        'fct_journey_steps',
        'fct_journey_stuck_risk',
        'fct_stuck_risk_backtest'
    )
    and mart_columns.column_name
    ~ '(email|phone|name|ip_address|user_agent|anonymous_id|contact_id|user_id|customer_id)'
