-- The latest version of each ERP customer (highest changed_at: a changed customer reappears in the
-- file set of the day it changed), with the email and phone normalised for matching. A corrected file
-- set for a past date has already replaced that date's rows in raw (same batch).
with

source as (

    select * from {{ source('erp', 'customers') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('customer_no', version_column='changed_at') }} as version_rank
    from source

),

renamed as (

    select
        customer_no,
        name as customer_name,
        {{ normalise_email('email') }} as email,
        {{ normalise_phone_e164('phone') }} as phone_e164,
        upper(billing_country) as billing_country_code,
        -- timestamp_tz with the London offset in the file: timestamptz in raw, the same instant in UTC
        created_at,
        changed_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest_versions
    where version_rank = 1

)

select * from renamed
