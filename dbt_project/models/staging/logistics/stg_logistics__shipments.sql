-- One row per shipment (the first delivery of it: parts are never rewritten, a shipment row is not
-- expected twice, and the loader drops a second copy; this guards the grain all the same).
with

source as (

    select * from {{ source('logistics', 'shipments') }}

),

first_deliveries as (

    select
        source.*,
        row_number() over (
            partition by source.shipment_id
            order by source._loaded_at asc, source._source_location asc, source._record_number asc
        ) as delivery_number
    from source

),

renamed as (

    select
        shipment_id,
        order_no,
        warehouse_id,
        carrier,
        service_level,
        promised_delivery_date,
        created_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from first_deliveries
    where delivery_number = 1

)

select * from renamed
