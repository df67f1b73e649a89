-- Bots and monitors are not customers: none of their events may be part of a journey or a friction.
with

bot_events as (

    select * from {{ ref('stg_web_analytics__events') }}
    where is_bot

),

journey_steps as (

    select * from {{ ref('int_web_journey_steps') }}

)

select bot_events.event_id
from bot_events
inner join journey_steps
    on bot_events.event_id = journey_steps.event_id
