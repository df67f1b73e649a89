-- Published: every customer-relevant interaction from every system, in one grain - one row per event at a
-- contact point, keyed to identity resolution's customer (pseudonymised as in dim_customer_context).
--   web_analytics   non-bot web/app events, deduplicated, event time corrected (int_web_events_attributed);
--   erp             orders placed and payment attempts;
--   logistics       carrier scans of shipments;
--   crm             case status changes (a case created is its first);
--   contact_center  interactions (the latest version of each);
--   marketing       email engagement by the customer (sends, deliveries and machine opens are not).
with

web_events as (

    select * from {{ ref('int_web_events_attributed') }}

),

web_steps as (

    select * from {{ ref('int_web_journey_steps') }}
    where journey_id is not null

),

sales_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}

),

payments as (

    select * from {{ ref('stg_erp__payments') }}

),

shipments as (

    select * from {{ ref('stg_logistics__shipments') }}

),

shipment_events as (

    select * from {{ ref('stg_logistics__shipment_events') }}

),

cases as (

    select * from {{ ref('stg_crm__cases') }}
    where not is_deleted

),

case_status_changes as (

    select * from {{ ref('stg_crm__case_status_changes') }}

),

interactions as (

    select * from {{ ref('stg_contact_center__interactions') }}

),

email_events as (

    select * from {{ ref('stg_marketing__email_events') }}
    where is_customer_interaction and not is_machine_open

),

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

customer_map as (

    select * from {{ ref('int_identity__customer_map') }}

),

web as (

    select
        'web_analytics' as source_system,
        web_events.event_id as source_record_key,
        web_events.event_name as event_type,
        web_events.event_at as occurred_at,
        web_events.channel,
        coalesce(web_events.page_path, web_events.event_name) as contact_point,
        {{ customer_identifier_type('web_events.customer_type') }} as customer_identifier_type,
        web_events.customer_id as customer_identifier,
        web_steps.journey_id,
        web_events.order_no,
        cast(null as text) as case_id,
        cast(null as text) as shipment_id
    from web_events
    left join web_steps
        on web_events.event_id = web_steps.event_id

),

orders as (

    select
        'erp' as source_system,
        sales_orders.order_no as source_record_key,
        'order_placed' as event_type,
        sales_orders.ordered_at as occurred_at,
        sales_orders.channel,
        'erp/order/' || sales_orders.channel as contact_point,
        {{ erp_order_customer_identifier('sales_orders') }},
        cast(null as text) as journey_id,
        sales_orders.order_no,
        cast(null as text) as case_id,
        cast(null as text) as shipment_id
    from sales_orders

),

payment_attempts as (

    select
        'erp' as source_system,
        payments.payment_id as source_record_key,
        'payment_' || payments.payment_status as event_type,
        payments.attempted_at as occurred_at,
        coalesce(sales_orders.channel, 'unknown') as channel,
        'erp/payment/' || payments.payment_method as contact_point,
        {{ erp_order_customer_identifier('sales_orders') }},
        cast(null as text) as journey_id,
        payments.order_no,
        cast(null as text) as case_id,
        cast(null as text) as shipment_id
    from payments
    left join sales_orders
        on payments.order_no = sales_orders.order_no

),

scans as (

    select
        'logistics' as source_system,
        shipment_events.shipment_event_id as source_record_key,
        'shipment_' || shipment_events.shipment_status as event_type,
        shipment_events.event_at as occurred_at,
        'delivery' as channel,
        'logistics/' || coalesce(shipments.carrier || '/' || shipments.service_level, 'unknown') as contact_point,
        {{ erp_order_customer_identifier('sales_orders') }},
        journeys.journey_id,
        shipments.order_no,
        cast(null as text) as case_id,
        shipment_events.shipment_id
    from shipment_events
    left join shipments
        on shipment_events.shipment_id = shipments.shipment_id
    left join sales_orders
        on shipments.order_no = sales_orders.order_no
    left join journeys
        on journeys.journey_type = 'delivery' and shipment_events.shipment_id = journeys.shipment_id

),

case_changes as (

    select
        'crm' as source_system,
        case_status_changes.case_status_change_id as source_record_key,
        'case_' || case_status_changes.status as event_type,
        case_status_changes.changed_at as occurred_at,
        cases.origin as channel,
        'crm/case/' || cases.category as contact_point,
        case when cases.contact_id is not null then 'crm_contact_id' end as customer_identifier_type,
        cases.contact_id as customer_identifier,
        journeys.journey_id,
        cases.order_no,
        cases.case_id,
        cast(null as text) as shipment_id
    from case_status_changes
    inner join cases
        on case_status_changes.case_id = cases.case_id
    left join journeys
        on journeys.journey_type = 'issue_resolution' and cases.case_id = journeys.case_id

),

contacts as (

    select
        'contact_center' as source_system,
        interactions.interaction_id as source_record_key,
        'contact_' || interactions.direction as event_type,
        interactions.started_at as occurred_at,
        case when interactions.channel in ('voice', 'callback') then 'phone' else interactions.channel end as channel,
        'contact_center/' || interactions.channel || '/' || interactions.queue as contact_point,
        {{ contact_center_customer_identifier('interactions') }},
        journeys.journey_id,
        interactions.order_no,
        interactions.case_id,
        cast(null as text) as shipment_id
    from interactions
    left join journeys
        on journeys.journey_type = 'issue_resolution' and interactions.case_id = journeys.case_id

),

emails as (

    select
        'marketing' as source_system,
        email_events.email_event_id as source_record_key,
        'email_' || email_events.event_type as event_type,
        email_events.event_at as occurred_at,
        'email_marketing' as channel,
        'marketing/' || email_events.campaign_id as contact_point,
        'email' as customer_identifier_type,
        email_events.email as customer_identifier,
        cast(null as text) as journey_id,
        cast(null as text) as order_no,
        cast(null as text) as case_id,
        cast(null as text) as shipment_id
    from email_events

),

unioned as (

    select * from web
    union all
    select * from orders
    union all
    select * from payment_attempts
    union all
    select * from scans
    union all
    select * from case_changes
    union all
    select * from contacts
    union all
    select * from emails

),

final as (

    select
        {{ surrogate_key(['unioned.source_system', 'unioned.source_record_key']) }} as contact_point_event_id,
        customer_map.customer_key_pseudonym as customer_key,
        unioned.source_system,
        unioned.event_type,
        unioned.occurred_at,
        {{ reporting_date('unioned.occurred_at') }} as occurred_date,
        unioned.channel,
        unioned.contact_point,
        unioned.journey_id,
        unioned.order_no,
        unioned.case_id,
        unioned.shipment_id
    from unioned
    left join customer_map
        on
            unioned.customer_identifier_type = customer_map.identifier_type
            and unioned.customer_identifier = customer_map.identifier_value

)

select * from final
