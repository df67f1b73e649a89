-- The published friction rate is a share of journeys: never below 0 or above 1, and never more
-- journeys with a friction than journeys concerned.
select
    friction_date,
    friction_type,
    channel,
    friction_events,
    affected_customers,
    journeys,
    journeys_with_friction,
    friction_rate
from {{ ref('fct_friction_daily') }}
where
    friction_rate < 0
    or friction_rate > 1
    or journeys_with_friction > journeys
    or affected_customers > friction_events
