-- Published: which customers are about to get stuck. One row per open case or delivery journey not stuck yet,
-- with the probability that it will be (abandoned, or over its standard: resolution time, promised day, a
-- failed attempt), learned from every journey of the same type whose outcome the warehouse already knows
-- (macro stuck_risk_scores), and the features that raise it most (reasons).
with

observations as (

    select * from {{ ref('int_stuck_risk_observations') }}

),

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

customer_map as (

    select * from {{ ref('int_identity__customer_map') }}

),

{{ stuck_risk_scores('observations', 'true', 'observations.is_open') }},

final as (

    select
        stuck_risk_scored.journey_id,
        customer_map.customer_key_pseudonym as customer_key,
        stuck_risk_scored.journey_type,
        journeys.started_at,
        cast(round(cast(stuck_risk_scored.stuck_risk as numeric), 4) as numeric(5, 4)) as stuck_risk,
        cast(round(cast(stuck_risk_scored.base_rate as numeric), 4) as numeric(5, 4)) as journey_type_stuck_rate,
        cast(
            ntile(10) over (
                partition by stuck_risk_scored.journey_type
                -- ties broken by the key: a re-run puts every journey in the same decile
                order by stuck_risk_scored.stuck_risk desc, stuck_risk_scored.journey_id asc
            ) as integer
        ) as risk_decile,
        stuck_risk_scored.reasons
    from stuck_risk_scored
    inner join journeys
        on stuck_risk_scored.journey_id = journeys.journey_id
    left join customer_map
        on
            {{ customer_identifier_type('journeys.customer_type') }} = customer_map.identifier_type
            and journeys.customer_id = customer_map.identifier_value

)

select * from final
