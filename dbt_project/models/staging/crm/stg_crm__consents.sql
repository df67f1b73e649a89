-- The latest version of each consent record, soft-deleted ones included (flagged).
with

source as (

    select * from {{ source('crm', 'consent') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('consent_id') }} as version_rank
    from source

),

renamed as (

    select
        consent_id,
        contact_id,
        purpose,
        status as consent_status,
        channel,
        captured_at,
        system_modstamp as modified_at,
        is_deleted,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        status = 'granted' as is_granted
    from latest_versions
    where version_rank = 1

)

select * from renamed
