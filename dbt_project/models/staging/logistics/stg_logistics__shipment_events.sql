-- One row per carrier scan (event_id): a scan delivered in two parts counts once (the first delivery).
-- Scans arrive out of order and up to 72 hours late: event_number orders a shipment's scans by when
-- they happened (event_ts), not by when they arrived. A shipment's scans can arrive before the
-- shipment row itself.
--
-- Incremental: a night restages, with all their scans, the shipments that raw rows loaded since the last
-- build touch (a late scan renumbers its shipment's earlier ones), however late the scan came; a scan gone
-- from raw is deleted (strategy replace_touched).
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_touched',
        unique_key='shipment_id',
        touched_row_key='shipment_event_id',
        on_schema_change='fail',
    )
}}

with

{% if is_incremental() %}
    touched_shipments as (

        {{ keys_loaded_or_gone_since_last_build(
            source('logistics', 'shipment_events'), 'shipment_id', 'event_id', 'shipment_event_id'
        ) }}

    ),
{% endif %}

source as (

    select raw_scans.*
    from {{ source('logistics', 'shipment_events') }} as raw_scans
    {% if is_incremental() %}
        where raw_scans.shipment_id in (select touched_shipments.shipment_id from touched_shipments)
    {% endif %}

),

first_deliveries as (

    select
        source.*,
        row_number() over (
            partition by source.event_id
            order by source._loaded_at asc, source._source_location asc, source._record_number asc
        ) as delivery_number,
        max(source._loaded_at) over (partition by source.event_id) as last_loaded_at
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
        last_loaded_at,
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

{% if is_incremental() %}
    select * from touched_shipments left join sequenced using (shipment_id)
{% else %}
    select * from sequenced
{% endif %}
