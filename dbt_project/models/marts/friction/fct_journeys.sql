-- Published: one row per customer journey. The customer is identity resolution's customer
-- (int_identity__customer_map), appearing only as the pseudonymous customer_key of dim_customer_context;
-- null for a guest.
with

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

customer_map as (

    select * from {{ ref('int_identity__customer_map') }}

),

journey_links as (

    select * from {{ ref('int_journey_links') }}

),

friction_events as (

    select * from {{ ref('int_friction_events_identified') }}

),

journey_frictions as (

    select
        friction_events.journey_id,
        count(*) as friction_event_count
    from friction_events
    where friction_events.journey_id is not null
    group by 1

),

final as (

    select
        journeys.journey_id,
        customer_map.customer_key_pseudonym as customer_key,
        journeys.customer_type,
        journeys.journey_type,
        journeys.state,
        journeys.started_at,
        journeys.ended_at,
        {{ reporting_date('journeys.started_at') }} as started_date,
        {{ minutes_between('journeys.started_at', 'journeys.ended_at') }} as duration_minutes,
        cast(journeys.step_count as bigint) as step_count,
        cast(journeys.channel_count as bigint) as channel_count,
        cast(journeys.channel_switch_count as bigint) as channel_switch_count,
        journeys.start_channel,
        cast(coalesce(journey_frictions.friction_event_count, 0) as bigint) as friction_event_count,
        journeys.order_no,
        journeys.case_id,
        journeys.shipment_id,
        journey_links.parent_journey_id,
        journey_links.linked_by
    from journeys
    left join customer_map
        on
            {{ customer_identifier_type('journeys.customer_type') }} = customer_map.identifier_type
            and journeys.customer_id = customer_map.identifier_value
    left join journey_frictions
        on journeys.journey_id = journey_frictions.journey_id
    left join journey_links
        on journeys.journey_id = journey_links.journey_id

)

select * from final
