-- One row per stock-out (sku, location_id, started_at). An open stock-out arrives with ended_at null and
-- a later part repeats the row with ended_at set: the version with the latest ended_at wins (an ended
-- version over the open one, whatever order the parts were loaded in).
with

source as (

    select * from {{ source('logistics', 'stockouts') }}

),

latest_versions as (

    select
        source.*,
        row_number() over (
            partition by source.sku, source.location_id, source.started_at
            order by
                source.ended_at desc nulls last,
                source._loaded_at desc,
                source._batch_id desc,
                source._record_number desc
        ) as version_rank
    from source

),

renamed as (

    select
        {{ surrogate_key(['sku', 'location_id', 'started_at']) }} as stockout_id,
        sku,
        location_id,
        started_at,
        ended_at,
        ended_at is null as is_ongoing,
        case when ended_at is not null then {{ minutes_between('started_at', 'ended_at') }} end as duration_minutes,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest_versions
    where version_rank = 1

)

select * from renamed
