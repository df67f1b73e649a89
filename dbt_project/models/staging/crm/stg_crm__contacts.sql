-- The latest version of each CRM contact, soft-deleted ones included (flagged), with the email and
-- phone normalised for matching.
with

source as (

    select * from {{ source('crm', 'contact') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('contact_id') }} as version_rank
    from source

),

renamed as (

    select
        contact_id,
        first_name,
        last_name,
        {{ normalise_email('email') }} as email,
        {{ normalise_phone_e164('phone') }} as phone_e164,
        upper(country_code) as country_code,
        created_at,
        system_modstamp as modified_at,
        is_deleted,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest_versions
    where version_rank = 1

)

select * from renamed
