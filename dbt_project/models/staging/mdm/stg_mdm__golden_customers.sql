-- The golden customer records of the latest MDM snapshot: every active record, plus the retired ones
-- that were merged into a survivor in the last 30 days (merged_into set, is_retired true). A record
-- absent from the latest snapshot was deleted or merged more than 30 days ago: it is not here.
-- Primary email and phone normalised for matching; every email and phone is in
-- stg_mdm__golden_customer_identifiers, the key links of every snapshot in
-- stg_mdm__golden_customer_source_keys.
with

source as (

    {{ latest_mdm_snapshot_rows() }}

),

snapshots as (

    select
        source.*,
        -- The business date the snapshot is for (the date in its path): its data interval's start in London.
        {{ reporting_date('source._data_interval_start') }} as snapshot_date,
        -- The loader keeps one copy per golden_id and snapshot; this guards the grain all the same.
        row_number() over (
            partition by source.golden_id, source._data_interval_start
            order by source.updated_at desc, source._loaded_at desc, source._record_number desc
        ) as copy_number,
        max({{ reporting_date('source._data_interval_start') }}) over () as latest_snapshot_date
    from source

),

latest_snapshot as (

    select snapshots.*
    from snapshots
    where
        snapshots.copy_number = 1
        and snapshots.snapshot_date = snapshots.latest_snapshot_date

),

renamed as (

    select
        golden_id,
        full_name,
        {{ normalise_email('primary_email') }} as primary_email,
        {{ normalise_phone_e164('primary_phone') }} as primary_phone_e164,
        birth_year,
        upper(country_code) as country_code,
        segment,
        merged_into,
        merged_into is not null as is_retired,
        updated_at,
        snapshot_date,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest_snapshot

)

select * from renamed
