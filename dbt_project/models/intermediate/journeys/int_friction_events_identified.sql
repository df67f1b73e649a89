-- One row per friction occurrence, from the taxonomy in seeds/friction_taxonomy.csv:
--   dead_end_search, checkout_failed, login_failed, error_shown  one per web/app event signalling it;
--   checkout_abandoned          one per abandoned buying journey that reached checkout, at its last event;
--   resolution_beyond_standard  one per case whose final resolution (or the CRM extraction horizon,
--                               while open) came later than its standard due time: its priority's
--                               standard in business hours from created_at (int_case_standard_times); it
--                               occurs at that due time (a case closed unanswered by the customer is
--                               not measured);
--   case_reopened               one per reopen: the CRM's reopen_count, or the reopened transitions seen
--                               if more; the k-th occurs at the k-th reopened transition seen, else at
--                               the first version whose reopen_count reached k (reopen not seen in the
--                               nightly versions);
--   payment_failed, late_delivery, failed_delivery, stockout   int_friction_events__fulfilment;
--   queue_abandoned, bot_dead_end, repeat_contact               int_friction_events__contact_center.
-- customer_identifier_type / customer_identifier name the identifier that resolves the occurrence to a
-- customer (int_identity__customer_map); null when it names none (a guest case, a stock-out).
with

web_steps as (

    select * from {{ ref('int_web_journey_steps') }}

),

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

case_status_changes as (

    select * from {{ ref('stg_crm__case_status_changes') }}

),

case_standard_times as (

    select * from {{ ref('int_case_standard_times') }}

),

taxonomy as (

    select * from {{ ref('friction_taxonomy') }}

),

fulfilment_frictions as (

    select * from {{ ref('int_friction_events__fulfilment') }}

),

contact_center_frictions as (

    select * from {{ ref('int_friction_events__contact_center') }}

),

delivery_journey_keys as (

    select
        journeys.shipment_id,
        journeys.journey_id
    from journeys
    where journeys.journey_type = 'delivery'

),

case_journey_keys as (

    select
        journeys.case_id,
        journeys.journey_id
    from journeys
    where journeys.journey_type = 'issue_resolution'

),

web_frictions as (

    select
        {{ surrogate_key(['web_steps.event_id', 'web_steps.friction_type']) }} as friction_event_id,
        web_steps.journey_id,
        web_steps.journey_type,
        web_steps.customer_id,
        web_steps.customer_type,
        {{ customer_identifier_type('web_steps.customer_type') }} as customer_identifier_type,
        web_steps.friction_type,
        web_steps.event_id as source_record_key,
        web_steps.event_at as occurred_at,
        web_steps.channel,
        coalesce(web_steps.page_path, web_steps.event_name) as contact_point,
        cast(null as text) as case_priority,
        web_steps.order_no,
        cast(null as text) as case_id
    from web_steps
    where web_steps.friction_type is not null

),

abandoned_checkouts as (

    select
        {{ surrogate_key(['journeys.journey_id', "'checkout_abandoned'"]) }} as friction_event_id,
        journeys.journey_id,
        journeys.journey_type,
        journeys.customer_id,
        journeys.customer_type,
        {{ customer_identifier_type('journeys.customer_type') }} as customer_identifier_type,
        'checkout_abandoned' as friction_type,
        journeys.journey_id as source_record_key,
        journeys.ended_at as occurred_at,
        journeys.last_channel as channel,
        journeys.last_contact_point as contact_point,
        cast(null as text) as case_priority,
        journeys.order_no,
        cast(null as text) as case_id
    from journeys
    where
        journeys.journey_type = 'buying'
        and journeys.state = 'abandoned'
        and journeys.has_reached_checkout

),

case_journeys as (

    select * from journeys
    where journey_type = 'issue_resolution'

),

late_resolutions as (

    select
        {{ surrogate_key(['case_journeys.case_id', "'resolution_beyond_standard'"]) }} as friction_event_id,
        case_journeys.journey_id,
        case_journeys.journey_type,
        case_journeys.customer_id,
        case_journeys.customer_type,
        {{ customer_identifier_type('case_journeys.customer_type') }} as customer_identifier_type,
        'resolution_beyond_standard' as friction_type,
        case_journeys.case_id as source_record_key,
        case_standard_times.standard_due_at as occurred_at,
        case_journeys.start_channel as channel,
        case_journeys.last_contact_point as contact_point,
        case_journeys.case_priority,
        case_journeys.order_no,
        case_journeys.case_id
    from case_journeys
    inner join case_standard_times
        on case_journeys.case_id = case_standard_times.case_id
    where
        case_journeys.state != 'abandoned'
        and coalesce(case_journeys.ended_at, case_journeys.data_horizon_at) > case_standard_times.standard_due_at

),

reopened_transitions as (

    select
        case_status_changes.case_id,
        case_status_changes.changed_at,
        row_number() over (
            partition by case_status_changes.case_id order by case_status_changes.changed_at
        ) as reopen_number
    from case_status_changes
    where case_status_changes.status = 'reopened'

),

reopen_counts as (

    select
        case_journeys.case_id,
        greatest(
            coalesce(case_journeys.case_reopen_count, 0),
            count(reopened_transitions.case_id)
        ) as reopen_count
    from case_journeys
    left join reopened_transitions
        on case_journeys.case_id = reopened_transitions.case_id
    group by case_journeys.case_id, case_journeys.case_reopen_count

),

reopens as (

    select
        reopen_counts.case_id,
        reopen_numbers.reopen_number
    from reopen_counts
    cross join lateral generate_series(1, reopen_counts.reopen_count) as reopen_numbers (reopen_number)

),

reopen_counter_times as (

    select
        reopens.case_id,
        reopens.reopen_number,
        min(case_status_changes.changed_at) as counted_at
    from reopens
    inner join case_status_changes
        on
            reopens.case_id = case_status_changes.case_id
            and reopens.reopen_number <= case_status_changes.reopen_count
    group by reopens.case_id, reopens.reopen_number

),

case_reopens as (

    select
        {{ surrogate_key(['case_journeys.case_id', "'case_reopened'", 'reopens.reopen_number']) }}
            as friction_event_id,
        case_journeys.journey_id,
        case_journeys.journey_type,
        case_journeys.customer_id,
        case_journeys.customer_type,
        {{ customer_identifier_type('case_journeys.customer_type') }} as customer_identifier_type,
        'case_reopened' as friction_type,
        case_journeys.case_id as source_record_key,
        coalesce(
            reopened_transitions.changed_at,
            reopen_counter_times.counted_at,
            case_journeys.last_activity_at
        ) as occurred_at,
        case_journeys.start_channel as channel,
        case_journeys.last_contact_point as contact_point,
        case_journeys.case_priority,
        case_journeys.order_no,
        case_journeys.case_id
    from reopens
    inner join case_journeys
        on reopens.case_id = case_journeys.case_id
    left join reopened_transitions
        on
            reopens.case_id = reopened_transitions.case_id
            and reopens.reopen_number = reopened_transitions.reopen_number
    left join reopen_counter_times
        on
            reopens.case_id = reopen_counter_times.case_id
            and reopens.reopen_number = reopen_counter_times.reopen_number

),

unioned as (

    select * from web_frictions
    union all
    select * from abandoned_checkouts
    union all
    select * from late_resolutions
    union all
    select * from case_reopens

    union all

    select
        fulfilment_frictions.friction_event_id,
        delivery_journey_keys.journey_id,
        case when delivery_journey_keys.journey_id is not null then 'delivery' end as journey_type,
        fulfilment_frictions.customer_identifier as customer_id,
        {{ customer_type_of_identifier(
            'fulfilment_frictions.customer_identifier_type',
            "case when fulfilment_frictions.friction_type = 'stockout' then 'none' else 'guest' end"
        ) }} as customer_type,
        fulfilment_frictions.customer_identifier_type,
        fulfilment_frictions.friction_type,
        fulfilment_frictions.source_record_key,
        fulfilment_frictions.occurred_at,
        fulfilment_frictions.channel,
        fulfilment_frictions.contact_point,
        cast(null as text) as case_priority,
        fulfilment_frictions.order_no,
        fulfilment_frictions.case_id
    from fulfilment_frictions
    -- a scan whose shipment row has not arrived has no delivery journey yet
    left join delivery_journey_keys
        on fulfilment_frictions.shipment_id = delivery_journey_keys.shipment_id

    union all

    select
        contact_center_frictions.friction_event_id,
        case_journey_keys.journey_id,
        case when case_journey_keys.journey_id is not null then 'issue_resolution' end as journey_type,
        contact_center_frictions.customer_identifier as customer_id,
        {{ customer_type_of_identifier('contact_center_frictions.customer_identifier_type', "'unidentified'") }}
            as customer_type,
        contact_center_frictions.customer_identifier_type,
        contact_center_frictions.friction_type,
        contact_center_frictions.source_record_key,
        contact_center_frictions.occurred_at,
        contact_center_frictions.channel,
        contact_center_frictions.contact_point,
        cast(null as text) as case_priority,
        contact_center_frictions.order_no,
        contact_center_frictions.case_id
    from contact_center_frictions
    left join case_journey_keys
        on contact_center_frictions.case_id = case_journey_keys.case_id

),

final as (

    select
        unioned.friction_event_id,
        unioned.journey_id,
        unioned.journey_type,
        unioned.customer_id,
        unioned.customer_type,
        unioned.customer_identifier_type,
        unioned.friction_type,
        unioned.source_record_key,
        unioned.occurred_at,
        {{ reporting_date('unioned.occurred_at') }} as occurred_date,
        unioned.channel,
        unioned.contact_point,
        unioned.order_no,
        unioned.case_id,
        case
            when unioned.friction_type = 'resolution_beyond_standard' and unioned.case_priority in ('high', 'urgent')
                then 'high'
            else taxonomy.default_severity
        end as severity
    from unioned
    -- left join: a friction type missing from the taxonomy fails the not_null test on severity
    left join taxonomy
        on unioned.friction_type = taxonomy.friction_type

)

select * from final
