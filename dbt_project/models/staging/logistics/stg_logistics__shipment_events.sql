-- One row per carrier scan (event_id): a scan delivered in two parts counts once (the first delivery).
-- Scans arrive out of order and up to 72 hours late: event_number orders a shipment's scans by when
-- they happened (event_ts), not by when they arrived. A shipment's scans can arrive before the
-- shipment row itself.
with

source as (

    select * from {{ source('logistics', 'shipment_events') }}

),

first_deliveries as (

    select
        source.*,
        row_number() over (
            partition by source.event_id
            order by source._loaded_at asc, source._source_location asc, source._record_number asc
        ) as delivery_number
    from source

),

renamed as (

    select
        event_id as shipment_event_id,
        shipment_id,
        event_ts as event_at,
        status as shipment_status,
        location,
        reason as exception_reason,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        status in ('delivery_failed', 'returned_to_sender', 'lost') as is_exception
    from first_deliveries
    where delivery_number = 1

),

sequenced as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.shipment_id
            order by renamed.event_at asc, renamed.shipment_event_id asc
        ) as event_number
    from renamed

)

select * from sequenced
