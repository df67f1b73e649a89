-- The latest version of each right-to-erasure request, soft-deleted ones included (flagged).
with

source as (

    select * from {{ source('crm', 'erasure_request') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('request_id') }} as version_rank
    from source

),

renamed as (

    select
        request_id as erasure_request_id,
        contact_id,
        requested_at,
        system_modstamp as modified_at,
        is_deleted,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest_versions
    where version_rank = 1

)

select * from renamed
