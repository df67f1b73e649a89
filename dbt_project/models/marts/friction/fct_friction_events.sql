-- Published: one row per friction occurrence (taxonomy: seeds/friction_taxonomy.csv).
with

friction_events as (

    select * from {{ ref('int_friction_events_identified') }}

),

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

final as (

    select
        friction_events.friction_event_id,
        friction_events.journey_id,
        {{ pseudonymise('friction_events.customer_id') }} as customer_key,
        friction_events.customer_type,
        friction_events.journey_type,
        friction_events.friction_type,
        friction_events.occurred_at,
        friction_events.occurred_date,
        friction_events.channel,
        friction_events.contact_point,
        friction_events.severity,
        journeys.order_no,
        journeys.case_id
    from friction_events
    left join journeys
        on friction_events.journey_id = journeys.journey_id

)

select * from final
