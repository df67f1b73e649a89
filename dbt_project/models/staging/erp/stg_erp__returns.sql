-- The latest version of each return (highest changed_at): requested, then received, refunded or rejected.
with

source as (

    select * from {{ source('erp', 'returns') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('return_id', version_column='changed_at') }} as version_rank
    from source

),

renamed as (

    select
        return_id,
        order_no,
        requested_at,
        reason as return_reason,
        status as return_status,
        changed_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest_versions
    where version_rank = 1

)

select * from renamed
