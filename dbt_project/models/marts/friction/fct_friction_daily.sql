-- Published friction metric: one row per reporting date x friction type x channel.
--
-- journeys: journeys of the types the friction type can occur in (friction_taxonomy.journey_types)
--     that were active on that date in that channel. A web journey is active on the dates and channels
--     of its events; a case (a delivery) is active in its origin channel (delivery) on every date from
--     creation to resolution (delivery or final failure), or to the data horizon while open; a journey
--     is also active where it had a friction.
-- journeys_with_friction: those of them with at least one friction of the type on that date and channel.
-- friction_rate = journeys_with_friction / journeys, between 0 and 1 (0 when there are no journeys:
--     an error_shown outside any journey counts as a friction event but not as a journey).
-- Rows exist for every friction type on every date and channel with a concerned journey or a friction.
with

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

web_steps as (

    select * from {{ ref('int_web_journey_steps') }}
    where journey_id is not null

),

friction_events as (

    select * from {{ ref('fct_friction_events') }}

),

taxonomy as (

    select * from {{ ref('friction_taxonomy') }}

),

web_activity as (

    select distinct
        web_steps.journey_id,
        web_steps.journey_type,
        web_steps.event_date as activity_date,
        web_steps.channel
    from web_steps

),

spanned_journeys as (

    select
        journeys.journey_id,
        journeys.journey_type,
        journeys.start_channel as channel,
        {{ reporting_date('journeys.started_at') }} as first_active_date,
        -- an open case is active up to the horizon, the exclusive end of the extracted interval
        {{ reporting_date(
            "coalesce(journeys.ended_at, greatest(journeys.data_horizon_at - interval '1 microsecond', journeys.started_at))"
        ) }} as last_active_date
    from journeys
    where journeys.journey_type in ('issue_resolution', 'delivery')

),

spanned_activity as (

    select
        spanned_journeys.journey_id,
        spanned_journeys.journey_type,
        cast(activity_days.activity_day as date) as activity_date,
        spanned_journeys.channel
    from spanned_journeys
    cross join
        lateral
        generate_series(spanned_journeys.first_active_date, spanned_journeys.last_active_date, interval '1 day')
            as activity_days (activity_day)

),

friction_activity as (

    select distinct
        friction_events.journey_id,
        friction_events.journey_type,
        friction_events.occurred_date as activity_date,
        friction_events.channel
    from friction_events
    where friction_events.journey_id is not null

),

journey_activity as (

    select * from web_activity
    union
    select * from spanned_activity
    union
    select * from friction_activity

),

concerned_journeys as (

    select
        journey_activity.activity_date,
        taxonomy.friction_type,
        journey_activity.channel,
        count(distinct journey_activity.journey_id) as journeys
    from journey_activity
    inner join taxonomy
        on journey_activity.journey_type = any(string_to_array(taxonomy.journey_types, ' '))
    group by 1, 2, 3

),

frictions as (

    select
        friction_events.occurred_date as activity_date,
        friction_events.friction_type,
        friction_events.channel,
        count(*) as friction_events,
        count(distinct friction_events.customer_key) as affected_customers,
        count(distinct friction_events.journey_id) as journeys_with_friction
    from friction_events
    group by 1, 2, 3

),

grid as (

    select
        concerned_journeys.activity_date,
        concerned_journeys.friction_type,
        concerned_journeys.channel
    from concerned_journeys

    union

    select
        frictions.activity_date,
        frictions.friction_type,
        frictions.channel
    from frictions

),

final as (

    select
        grid.activity_date as friction_date,
        grid.friction_type,
        grid.channel,
        cast(coalesce(frictions.friction_events, 0) as bigint) as friction_events,
        cast(coalesce(frictions.affected_customers, 0) as bigint) as affected_customers,
        cast(coalesce(concerned_journeys.journeys, 0) as bigint) as journeys,
        cast(coalesce(frictions.journeys_with_friction, 0) as bigint) as journeys_with_friction,
        cast(
            round(
                coalesce(
                    cast(frictions.journeys_with_friction as numeric) / nullif(concerned_journeys.journeys, 0),
                    0
                ),
                6
            ) as numeric(7, 6)
        ) as friction_rate
    from grid
    left join concerned_journeys
        on
            grid.activity_date = concerned_journeys.activity_date
            and grid.friction_type = concerned_journeys.friction_type
            and grid.channel = concerned_journeys.channel
    left join frictions
        on
            grid.activity_date = frictions.activity_date
            and grid.friction_type = frictions.friction_type
            and grid.channel = frictions.channel

)

select * from final
