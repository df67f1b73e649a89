-- Friction in paying for and receiving an order, one row per occurrence (seeds/friction_taxonomy.csv):
--   payment_failed   an ERP payment attempt declined or in error;
--   late_delivery    a shipment not delivered by the end of its promised day (London): delivered later, or
--                    still undelivered at the data horizon once that day has ended (a shipment returned or
--                    lost is a failed delivery, not a late one); it occurs when the promised day ends;
--   failed_delivery  each failed attempt, return to sender or loss scanned by the carrier;
--   stockout         a stock-out of a SKU at a store or warehouse: a contact point no single customer owns.
-- The customer is the ERP order's customer_no (null for a guest checkout).
with

payments as (

    select * from {{ ref('stg_erp__payments') }}

),

sales_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}

),

shipments as (

    select * from {{ ref('stg_logistics__shipments') }}

),

shipment_events as (

    select * from {{ ref('stg_logistics__shipment_events') }}

),

stockouts as (

    select * from {{ ref('stg_logistics__stockouts') }}

),

night as (

    select * from {{ ref('int_identity__night') }}

),

failed_payments as (

    select
        {{ surrogate_key(['payments.payment_id', "'payment_failed'"]) }} as friction_event_id,
        'payment_failed' as friction_type,
        payments.attempted_at as occurred_at,
        coalesce(sales_orders.channel, 'unknown') as channel,
        'erp/payment/' || payments.payment_method as contact_point,
        payments.payment_id as source_record_key,
        cast(null as text) as shipment_id,
        payments.order_no
    from payments
    left join sales_orders
        on payments.order_no = sales_orders.order_no
    where payments.is_failed

),

shipment_outcomes as (

    select
        shipment_events.shipment_id,
        min(case when shipment_events.shipment_status = 'delivered' then shipment_events.event_at end)
            as delivered_at,
        bool_or(shipment_events.shipment_status in ('returned_to_sender', 'lost')) as has_final_failure
    from shipment_events
    group by 1

),

promises as (

    select
        shipments.shipment_id,
        shipments.order_no,
        shipments.carrier,
        shipments.service_level,
        -- the end of the promised London day, as a timestamptz
        cast(shipments.promised_delivery_date + 1 as timestamp)
        at time zone '{{ var("reporting_time_zone") }}' as promised_by_at,
        shipment_outcomes.delivered_at,
        coalesce(shipment_outcomes.has_final_failure, false) as has_final_failure
    from shipments
    left join shipment_outcomes
        on shipments.shipment_id = shipment_outcomes.shipment_id

),

late_deliveries as (

    select
        {{ surrogate_key(['promises.shipment_id', "'late_delivery'"]) }} as friction_event_id,
        'late_delivery' as friction_type,
        promises.promised_by_at as occurred_at,
        'delivery' as channel,
        'logistics/' || promises.carrier || '/' || promises.service_level as contact_point,
        promises.shipment_id as source_record_key,
        promises.shipment_id,
        promises.order_no
    from promises
    cross join night
    where
        promises.promised_by_at < night.data_horizon_at  -- the horizon itself belongs to the next night
        and (
            promises.delivered_at >= promises.promised_by_at
            or (promises.delivered_at is null and not promises.has_final_failure)
        )

),

failed_deliveries as (

    select
        {{ surrogate_key(['shipment_events.shipment_event_id', "'failed_delivery'"]) }} as friction_event_id,
        'failed_delivery' as friction_type,
        shipment_events.event_at as occurred_at,
        'delivery' as channel,
        -- a scan can arrive before its shipment row (or its row before the loaded history): carrier unknown
        'logistics/' || coalesce(shipments.carrier || '/' || shipments.service_level, 'unknown') as contact_point,
        shipment_events.shipment_event_id as source_record_key,
        shipment_events.shipment_id,
        shipments.order_no
    from shipment_events
    left join shipments
        on shipment_events.shipment_id = shipments.shipment_id
    where shipment_events.is_exception

),

warehouses as (

    select distinct shipments.warehouse_id
    from shipments

),

stockout_frictions as (

    select
        {{ surrogate_key(['stockouts.stockout_id', "'stockout'"]) }} as friction_event_id,
        'stockout' as friction_type,
        stockouts.started_at as occurred_at,
        -- a location that ships parcels is a warehouse; any other is a store
        case when warehouses.warehouse_id is not null then 'warehouse' else 'store' end as channel,
        'logistics/stock/' || stockouts.location_id as contact_point,
        stockouts.sku || '@' || stockouts.location_id as source_record_key,
        cast(null as text) as order_no
    from stockouts
    left join warehouses
        on stockouts.location_id = warehouses.warehouse_id

),

order_frictions as (

    select * from failed_payments
    union all
    select * from late_deliveries
    union all
    select * from failed_deliveries

),

final as (

    select
        order_frictions.friction_event_id,
        order_frictions.friction_type,
        order_frictions.occurred_at,
        order_frictions.channel,
        order_frictions.contact_point,
        {{ erp_order_customer_identifier('sales_orders') }},
        order_frictions.source_record_key,
        order_frictions.shipment_id,
        cast(null as text) as case_id,
        order_frictions.order_no
    from order_frictions
    left join sales_orders
        on order_frictions.order_no = sales_orders.order_no

    union all

    select
        stockout_frictions.friction_event_id,
        stockout_frictions.friction_type,
        stockout_frictions.occurred_at,
        stockout_frictions.channel,
        stockout_frictions.contact_point,
        cast(null as text) as customer_identifier_type,
        cast(null as text) as customer_identifier,
        stockout_frictions.source_record_key,
        cast(null as text) as shipment_id,
        cast(null as text) as case_id,
        stockout_frictions.order_no
    from stockout_frictions

)

select * from final
