-- One row per golden record, source system and source key (CRM contact_id, ERP customer_no) in each
-- MDM snapshot, from the record's source_keys array. Kept per snapshot date, so that identity resolution
-- sees a key move: to a survivor when two records are merged (the retired record lists no key), to
-- another record when MDM corrects a wrong link (a split).
with

source as (

    select * from {{ source('mdm', 'golden_customer') }}

),

snapshots as (

    select
        source.*,
        {{ reporting_date('source._data_interval_start') }} as snapshot_date,
        row_number() over (
            partition by source.golden_id, source._data_interval_start
            order by source.updated_at desc, source._loaded_at desc, source._record_number desc
        ) as copy_number
    from source

),

flattened as (

    select
        snapshots.golden_id,
        snapshots.merged_into,
        snapshots.snapshot_date,
        snapshots._batch_id,
        snapshots._loaded_at,
        nullif(trim(source_key_elements.source_key ->> 'system'), '') as source_system,
        nullif(trim(source_key_elements.source_key ->> 'key'), '') as source_key
    from snapshots
    cross join
        lateral jsonb_array_elements(
            case when jsonb_typeof(snapshots.source_keys) = 'array' then snapshots.source_keys else '[]' end
        ) as source_key_elements (source_key)
    where snapshots.copy_number = 1

),

deduplicated as (

    select distinct on (golden_id, snapshot_date, source_system, source_key) *
    from flattened
    where source_system is not null and source_key is not null
    order by golden_id asc, snapshot_date asc, source_system asc, source_key asc

),

renamed as (

    select
        {{ surrogate_key(['snapshot_date', 'golden_id', 'source_system', 'source_key']) }}
            as golden_customer_source_key_id,
        snapshot_date,
        golden_id,
        source_system,
        source_key,
        merged_into,
        merged_into is not null as is_retired,
        snapshot_date = max(snapshot_date) over () as is_latest_snapshot,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from deduplicated

)

select * from renamed
