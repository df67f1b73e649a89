-- The stuck-risk model's examples: every CRM case and every delivery journey, observed at one point of its
-- life - `stuck_risk_observation_hours` after it started, or at the data horizon when it is younger - with
-- what was known then (features) and what became of it (the label).
--
-- Stuck: abandoned (a case closed unanswered; a parcel returned or lost), or over its standard (a case past
-- its standard resolution time; a parcel late or a failed attempt). A journey already stuck at its
-- observation point is not an example (nothing left to predict); a journey whose outcome is not known by the
-- horizon (open, not yet over its standard) has no label yet.
--
-- Features are categorical, one row each (feature = 'name=value'): a case's priority, category, origin and
-- contacts with the contact centre by the observation point; a parcel's carrier, service level, warehouse,
-- days promised, failed attempts and whether its customer chased it (tracking viewed online, a contact
-- about the order) by the observation point.
with

journeys as (

    select * from {{ ref('int_journeys_assembled') }}
    where journey_type in ('issue_resolution', 'delivery')

),

friction_events as (

    select * from {{ ref('int_friction_events_identified') }}

),

cases as (

    select * from {{ ref('stg_crm__cases') }}

),

shipments as (

    select * from {{ ref('stg_logistics__shipments') }}

),

interactions as (

    select * from {{ ref('stg_contact_center__interactions') }}

),

web_events as (

    select * from {{ ref('int_web_events_attributed') }}

),

night as (

    select * from {{ ref('int_identity__night') }}

),

observed as (

    select
        journeys.journey_id,
        journeys.journey_type,
        journeys.customer_id,
        journeys.customer_type,
        journeys.case_id,
        journeys.shipment_id,
        journeys.started_at,
        journeys.state,
        journeys.ended_at,
        least(
            journeys.started_at + {{ var('stuck_risk_observation_hours') }} * interval '1 hour',
            night.data_horizon_at
        ) as observed_at,
        night.data_horizon_at
    from journeys
    cross join night

),

stuck_frictions as (

    select
        friction_events.journey_id,
        min(friction_events.occurred_at) as first_stuck_at
    from friction_events
    where friction_events.friction_type in ('resolution_beyond_standard', 'late_delivery', 'failed_delivery')
    group by 1

),

labelled as (

    select
        observed.*,
        least(
            stuck_frictions.first_stuck_at,
            case when observed.state = 'abandoned' then observed.ended_at end
        ) as stuck_at,
        case
            when stuck_frictions.first_stuck_at is not null or observed.state = 'abandoned' then true
            when observed.state = 'completed' then false
        end as is_stuck
    from observed
    left join stuck_frictions
        on observed.journey_id = stuck_frictions.journey_id

),

examples as (

    select
        labelled.*,
        -- when the outcome became known: the moment it got stuck, or its completion
        case when labelled.is_stuck then labelled.stuck_at else labelled.ended_at end as outcome_known_at
    from labelled
    -- a journey stuck (or finished) before its observation point has nothing left to predict
    where coalesce(labelled.stuck_at, labelled.ended_at, labelled.observed_at) >= labelled.observed_at

),

case_contacts as (

    select
        examples.journey_id,
        count(interactions.interaction_id) as contact_count
    from examples
    inner join interactions
        on
            examples.case_id = interactions.case_id
            and examples.observed_at > interactions.started_at
    group by 1

),

failed_attempts as (

    select
        friction_events.journey_id,
        count(*) as failed_attempt_count
    from friction_events
    inner join examples
        on
            friction_events.journey_id = examples.journey_id
            and friction_events.occurred_at < examples.observed_at
    where friction_events.friction_type = 'failed_delivery'
    group by 1

),

-- A customer chasing their parcel (tracking it online, asking the contact centre) by the observation point.
chases as (

    select
        web_events.order_no,
        web_events.event_at as chased_at
    from web_events
    where web_events.event_name = 'order_tracking_viewed'

    union all

    select
        interactions.order_no,
        interactions.started_at as chased_at
    from interactions
    where interactions.direction = 'inbound'

),

order_chases as (

    select
        examples.journey_id,
        count(*) as chase_count
    from examples
    inner join shipments
        on examples.shipment_id = shipments.shipment_id
    inner join chases
        on shipments.order_no = chases.order_no and examples.observed_at > chases.chased_at
    group by 1

),

case_features as (

    select
        examples.journey_id,
        features.feature
    from examples
    inner join cases
        on examples.case_id = cases.case_id
    left join case_contacts
        on examples.journey_id = case_contacts.journey_id
    cross join
        lateral (
            values
            ('priority=' || cases.priority),
            ('category=' || cases.category),
            ('origin=' || cases.origin),
            ('contacts=' || least(coalesce(case_contacts.contact_count, 0), 2))
        ) as features (feature)

),

delivery_features as (

    select
        examples.journey_id,
        features.feature
    from examples
    inner join shipments
        on examples.shipment_id = shipments.shipment_id
    left join failed_attempts
        on examples.journey_id = failed_attempts.journey_id
    left join order_chases
        on examples.journey_id = order_chases.journey_id
    cross join
        lateral (
            values
            ('carrier=' || shipments.carrier),
            ('service_level=' || shipments.service_level),
            ('warehouse=' || shipments.warehouse_id),
            ('days_promised=' || least(shipments.promised_delivery_date - cast(shipments.created_at as date), 5)),
            ('failed_attempts=' || least(coalesce(failed_attempts.failed_attempt_count, 0), 1)),
            ('chased=' || least(coalesce(order_chases.chase_count, 0), 1))
        ) as features (feature)

),

features as (

    select * from case_features
    union all
    select * from delivery_features

),

final as (

    select
        examples.journey_id,
        examples.journey_type,
        examples.customer_id,
        examples.customer_type,
        examples.started_at,
        examples.observed_at,
        examples.is_stuck,
        examples.outcome_known_at,
        features.feature,
        examples.state = 'open' and examples.is_stuck is null as is_open
    from examples
    inner join features
        on examples.journey_id = features.journey_id

)

select * from final
