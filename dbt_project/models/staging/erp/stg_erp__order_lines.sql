-- The latest version of each ERP order line (highest changed_at per order_no and line_no): a line
-- changes, for example, when it is cancelled for a stock-out after the order was placed.
with

source as (

    select * from {{ source('erp', 'order_lines') }}

),

latest_versions as (

    select
        source.*,
        -- latest_version_rank with a two-column key
        row_number() over (
            partition by source.order_no, source.line_no
            order by
                source.changed_at desc,
                source._loaded_at desc,
                source._batch_id desc,
                source._record_number desc
        ) as version_rank
    from source

),

renamed as (

    select
        {{ surrogate_key(['order_no', 'line_no']) }} as order_line_id,
        order_no,
        line_no as line_number,
        sku,
        quantity,
        unit_price,
        quantity * unit_price as line_amount,
        line_status,
        changed_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        line_status = 'cancelled_stockout' as is_cancelled_for_stockout
    from latest_versions
    where version_rank = 1

)

select * from renamed
