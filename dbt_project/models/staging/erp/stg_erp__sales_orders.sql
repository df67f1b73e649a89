-- The latest version of each ERP sales order (highest changed_at: a changed order reappears in the
-- file set of the day it changed). Order times carry their London offset in the files, so the hour
-- that repeats when the clocks go back stays in order here.
with

source as (

    select * from {{ source('erp', 'sales_orders') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('order_no', version_column='changed_at') }} as version_rank
    from source

),

renamed as (

    select
        order_no,
        customer_no,
        order_ts as ordered_at,
        {{ reporting_date('order_ts') }} as order_date,
        channel,
        store_id,
        status as order_status,
        upper(currency) as currency_code,
        total_amount,
        changed_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        customer_no is null as is_guest_checkout
    from latest_versions
    where version_rank = 1

)

select * from renamed
