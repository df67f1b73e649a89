-- One row per customer journey (one customer need), from web/app journeys and CRM cases.
--
--   buying           search/product_view/add_to_cart/checkout ... order_completed (completed), or no
--                    event for its inactivity_minutes (abandoned);
--   account_access   login_failed/password_reset ... login (completed), or give-up (abandoned);
--   issue_resolution a CRM case: created -> resolved (completed), closed without a resolution
--                    (abandoned: the customer never answered), or still open;
--   delivery         a shipment of an ERP order: label created -> delivered (completed), returned to
--                    sender or lost (abandoned), or still on its way (open). The customer is the order's
--                    ERP customer_no; a guest order is its own customer.
--
-- Each journey type's inactivity_minutes and goal event come from the seed journey_type_rules. A web
-- journey whose last event is less than its inactivity_minutes before the data horizon (the end of the
-- latest web data interval loaded) may still continue: it is open, not abandoned.
-- Soft-deleted cases are not journeys. Guest cases (no contact) are their own customer.
with

web_steps as (

    select * from {{ ref('int_web_journey_steps') }}
    where journey_id is not null

),

journey_type_rules as (

    select * from {{ ref('journey_type_rules') }}

),

web_events as (

    select * from {{ ref('stg_web_analytics__events') }}

),

cases as (

    select * from {{ ref('stg_crm__cases') }}
    where not is_deleted

),

case_status_changes as (

    select * from {{ ref('stg_crm__case_status_changes') }}

),

web_horizon as (

    select max(web_events.data_interval_end_at) as data_horizon_at
    from web_events

),

web_journey_summaries as (

    select
        web_steps.journey_id,
        web_steps.journey_type,
        web_steps.customer_id,
        web_steps.customer_type,
        min(web_steps.event_at) as started_at,
        max(web_steps.event_at) as last_activity_at,
        count(*) as step_count,
        count(distinct web_steps.channel) as channel_count,
        sum(case when web_steps.is_channel_switch then 1 else 0 end) as channel_switch_count,
        max(case when web_steps.step_number = 1 then web_steps.channel end) as start_channel,
        max(case when web_steps.is_last_step then web_steps.channel end) as last_channel,
        max(case when web_steps.is_last_step then coalesce(web_steps.page_path, web_steps.event_name) end)
            as last_contact_point,
        bool_or(web_steps.event_name = journey_type_rules.goal_event_name) as has_reached_goal,
        bool_or(web_steps.event_name in ('checkout_started', 'payment_submitted', 'checkout_failed'))
            as has_reached_checkout,
        max(case when web_steps.event_name = 'order_completed' then web_steps.order_no end) as order_no
    from web_steps
    inner join journey_type_rules
        on web_steps.journey_type = journey_type_rules.journey_type
    group by 1, 2, 3, 4

),

web_journeys as (

    select
        web_journey_summaries.journey_id,
        web_journey_summaries.journey_type,
        web_journey_summaries.customer_id,
        web_journey_summaries.customer_type,
        case
            when web_journey_summaries.has_reached_goal then 'completed'
            when
                web_journey_summaries.last_activity_at
                + {{ minutes_interval('journey_type_rules.inactivity_minutes') }}
                <= web_horizon.data_horizon_at
                then 'abandoned'
            else 'open'
        end as state,
        web_journey_summaries.started_at,
        web_journey_summaries.last_activity_at,
        web_journey_summaries.step_count,
        web_journey_summaries.channel_count,
        web_journey_summaries.channel_switch_count,
        web_journey_summaries.start_channel,
        web_journey_summaries.last_channel,
        web_journey_summaries.last_contact_point,
        web_journey_summaries.has_reached_checkout,
        web_journey_summaries.order_no,
        cast(null as text) as case_id,
        cast(null as text) as case_priority,
        cast(null as bigint) as case_reopen_count,
        web_horizon.data_horizon_at
    from web_journey_summaries
    inner join journey_type_rules
        on web_journey_summaries.journey_type = journey_type_rules.journey_type
    cross join web_horizon

),

case_histories as (

    select
        case_status_changes.case_id,
        count(*) as transition_count,
        max(case_status_changes.changed_at) as last_changed_at,
        max(case when case_status_changes.status in ('resolved', 'closed') then case_status_changes.changed_at end)
            as last_resolved_changed_at
    from case_status_changes
    group by 1

),

case_journeys as (

    select
        {{ surrogate_key(["'issue_resolution'", 'cases.case_id']) }} as journey_id,
        'issue_resolution' as journey_type,
        coalesce(cases.contact_id, cases.case_id) as customer_id,
        case when cases.contact_id is null then 'guest' else 'contact' end as customer_type,
        case
            when cases.is_resolved then 'completed'
            when cases.status = 'closed' then 'abandoned'
            else 'open'
        end as state,
        cases.created_at as started_at,
        case
            when cases.is_resolved
                then coalesce(cases.resolved_at, cases.closed_at, case_histories.last_resolved_changed_at)
            when cases.status = 'closed' then coalesce(cases.closed_at, case_histories.last_changed_at)
        end as ended_at,
        greatest(cases.modified_at, case_histories.last_changed_at) as last_activity_at,
        coalesce(case_histories.transition_count, 1) as step_count,
        cast(1 as bigint) as channel_count,
        cast(0 as bigint) as channel_switch_count,
        cases.origin as start_channel,
        cases.origin as last_channel,
        'crm/case/' || cases.category as last_contact_point,
        false as has_reached_checkout,
        cases.order_no,
        cases.case_id,
        cases.priority as case_priority,
        cases.reopen_count as case_reopen_count,
        cases.extracted_until_at as data_horizon_at
    from cases
    left join case_histories
        on cases.case_id = case_histories.case_id

),

shipments as (

    select * from {{ ref('stg_logistics__shipments') }}

),

shipment_events as (

    select * from {{ ref('stg_logistics__shipment_events') }}

),

sales_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}

),

night as (

    select * from {{ ref('int_identity__night') }}

),

shipment_histories as (

    select
        shipment_events.shipment_id,
        count(*) as scan_count,
        max(shipment_events.event_at) as last_scan_at,
        min(case when shipment_events.shipment_status = 'delivered' then shipment_events.event_at end)
            as delivered_at,
        min(
            case
                when shipment_events.shipment_status in ('returned_to_sender', 'lost') then shipment_events.event_at
            end
        ) as failed_finally_at
    from shipment_events
    group by 1

),

delivery_journeys as (

    select
        {{ surrogate_key(["'delivery'", 'shipments.shipment_id']) }} as journey_id,
        'delivery' as journey_type,
        coalesce(sales_orders.customer_no, shipments.order_no) as customer_id,
        case when sales_orders.customer_no is null then 'guest' else 'erp_customer' end as customer_type,
        case
            when shipment_histories.delivered_at is not null then 'completed'
            when shipment_histories.failed_finally_at is not null then 'abandoned'
            else 'open'
        end as state,
        shipments.created_at as started_at,
        coalesce(shipment_histories.delivered_at, shipment_histories.failed_finally_at) as ended_at,
        greatest(shipments.created_at, shipment_histories.last_scan_at) as last_activity_at,
        coalesce(shipment_histories.scan_count, 0) + 1 as step_count,
        cast(1 as bigint) as channel_count,
        cast(0 as bigint) as channel_switch_count,
        'delivery' as start_channel,
        'delivery' as last_channel,
        'logistics/' || shipments.carrier || '/' || shipments.service_level as last_contact_point,
        false as has_reached_checkout,
        shipments.order_no,
        cast(null as text) as case_id,
        cast(null as text) as case_priority,
        cast(null as bigint) as case_reopen_count,
        night.data_horizon_at,
        shipments.shipment_id
    from shipments
    cross join night
    left join shipment_histories
        on shipments.shipment_id = shipment_histories.shipment_id
    left join sales_orders
        on shipments.order_no = sales_orders.order_no

),

unioned as (

    select
        web_journeys.journey_id,
        web_journeys.journey_type,
        web_journeys.customer_id,
        web_journeys.customer_type,
        web_journeys.state,
        web_journeys.started_at,
        case when web_journeys.state != 'open' then web_journeys.last_activity_at end as ended_at,
        web_journeys.last_activity_at,
        web_journeys.step_count,
        web_journeys.channel_count,
        web_journeys.channel_switch_count,
        web_journeys.start_channel,
        web_journeys.last_channel,
        web_journeys.last_contact_point,
        web_journeys.has_reached_checkout,
        web_journeys.order_no,
        web_journeys.case_id,
        web_journeys.case_priority,
        web_journeys.case_reopen_count,
        web_journeys.data_horizon_at,
        cast(null as text) as shipment_id
    from web_journeys

    union all

    select
        case_journeys.journey_id,
        case_journeys.journey_type,
        case_journeys.customer_id,
        case_journeys.customer_type,
        case_journeys.state,
        case_journeys.started_at,
        case_journeys.ended_at,
        case_journeys.last_activity_at,
        case_journeys.step_count,
        case_journeys.channel_count,
        case_journeys.channel_switch_count,
        case_journeys.start_channel,
        case_journeys.last_channel,
        case_journeys.last_contact_point,
        case_journeys.has_reached_checkout,
        case_journeys.order_no,
        case_journeys.case_id,
        case_journeys.case_priority,
        case_journeys.case_reopen_count,
        case_journeys.data_horizon_at,
        cast(null as text) as shipment_id
    from case_journeys

    union all

    select * from delivery_journeys

)

select * from unioned
