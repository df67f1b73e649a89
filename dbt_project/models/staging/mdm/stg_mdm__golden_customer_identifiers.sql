-- One row per golden record of the latest MDM snapshot and normalised email address or E.164 phone
-- number it holds (its emails and phones arrays and its primary email and phone), so that golden
-- records can be matched on them: two unmerged records of one person share one here.
with

source as (

    {{ latest_mdm_snapshot_rows() }}

),

snapshots as (

    select
        source.*,
        {{ reporting_date('source._data_interval_start') }} as snapshot_date,
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

emails as (

    select
        latest_snapshot.golden_id,
        'email' as identifier_type,
        {{ normalise_email('email_elements.email_address') }} as identifier_value,
        false as is_primary
    from latest_snapshot
    cross join
        lateral jsonb_array_elements_text(
            case when jsonb_typeof(latest_snapshot.emails) = 'array' then latest_snapshot.emails else '[]' end
        ) as email_elements (email_address)

    union all

    select
        golden_id,
        'email' as identifier_type,
        {{ normalise_email('primary_email') }} as identifier_value,
        true as is_primary
    from latest_snapshot

),

phones as (

    select
        latest_snapshot.golden_id,
        'phone' as identifier_type,
        {{ normalise_phone_e164('phone_elements.phone_number') }} as identifier_value,
        false as is_primary
    from latest_snapshot
    cross join
        lateral jsonb_array_elements_text(
            case when jsonb_typeof(latest_snapshot.phones) = 'array' then latest_snapshot.phones else '[]' end
        ) as phone_elements (phone_number)

    union all

    select
        golden_id,
        'phone' as identifier_type,
        {{ normalise_phone_e164('primary_phone') }} as identifier_value,
        true as is_primary
    from latest_snapshot

),

identifiers as (

    select
        golden_id,
        identifier_type,
        identifier_value,
        bool_or(is_primary) as is_primary
    from (
        select * from emails
        union all
        select * from phones
    ) as all_identifiers
    where identifier_value is not null
    group by golden_id, identifier_type, identifier_value

),

renamed as (

    select
        {{ surrogate_key(['identifiers.golden_id', 'identifiers.identifier_type', 'identifiers.identifier_value']) }}
            as golden_customer_identifier_id,
        identifiers.golden_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        case when identifiers.identifier_type = 'email' then identifiers.identifier_value end as email,
        case when identifiers.identifier_type = 'phone' then identifiers.identifier_value end as phone_e164,
        identifiers.is_primary,
        latest_snapshot.merged_into is not null as is_retired,
        latest_snapshot.snapshot_date
    from identifiers
    inner join latest_snapshot on identifiers.golden_id = latest_snapshot.golden_id

)

select * from renamed
