-- fct_journeys.friction_event_count must equal the friction events attached to the journey.
with

journeys as (

    select * from {{ ref('fct_journeys') }}

),

friction_counts as (

    select
        journey_id,
        count(*) as friction_events
    from {{ ref('fct_friction_events') }}
    where journey_id is not null
    group by journey_id

)

select journeys.journey_id
from journeys
left join friction_counts
    on journeys.journey_id = friction_counts.journey_id
where journeys.friction_event_count != coalesce(friction_counts.friction_events, 0)
