-- The latest version of each CRM service case, soft-deleted ones included (flagged).
with

source as (

    select * from {{ source('crm', 'case') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('case_id') }} as version_rank,
        -- How far the CRM has been extracted: the end of the latest data interval loaded.
        max(source._data_interval_end) over () as extracted_until_at
    from source

),

renamed as (

    select
        case_id,
        contact_id,
        origin,
        category,
        priority,
        status,
        order_ref as order_no,
        created_at,
        first_response_at,
        resolved_at,
        closed_at,
        reopen_count,
        system_modstamp as modified_at,
        is_deleted,
        extracted_until_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        -- closed without a resolution: the CRM's nightly job closed a case the customer never answered
        status = 'resolved' or (status = 'closed' and resolved_at is not null) as is_resolved
    from latest_versions
    where version_rank = 1

)

select * from renamed
