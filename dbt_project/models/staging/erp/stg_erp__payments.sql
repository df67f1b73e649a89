-- The latest version of each payment attempt (highest changed_at): an authorised payment is captured,
-- later perhaps refunded, each change a new version.
with

source as (

    select * from {{ source('erp', 'payments') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('payment_id', version_column='changed_at') }} as version_rank
    from source

),

renamed as (

    select
        payment_id,
        order_no,
        attempt_ts as attempted_at,
        method as payment_method,
        amount,
        status as payment_status,
        decline_code,
        changed_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        status in ('declined', 'error') as is_failed
    from latest_versions
    where version_rank = 1

)

select * from renamed
