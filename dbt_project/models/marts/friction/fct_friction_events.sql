-- Published: one row per friction occurrence (taxonomy: seeds/friction_taxonomy.csv). The customer is
-- identity resolution's, as in fct_journeys; null when the occurrence names none (a guest, a stock-out).
with

friction_events as (

    select * from {{ ref('int_friction_events_identified') }}

),

customer_map as (

    select * from {{ ref('int_identity__customer_map') }}

),

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

final as (

    select
        friction_events.friction_event_id,
        friction_events.journey_id,
        customer_map.customer_key_pseudonym as customer_key,
        friction_events.customer_type,
        friction_events.journey_type,
        friction_events.friction_type,
        friction_events.occurred_at,
        friction_events.occurred_date,
        friction_events.channel,
        friction_events.contact_point,
        friction_events.severity,
        coalesce(journeys.order_no, friction_events.order_no) as order_no,
        coalesce(journeys.case_id, friction_events.case_id) as case_id
    from friction_events
    left join customer_map
        on
            friction_events.customer_identifier_type = customer_map.identifier_type
            and friction_events.customer_id = customer_map.identifier_value
    left join journeys
        on friction_events.journey_id = journeys.journey_id

)

select * from final
