{#
    Custom incremental strategy `replace_touched`: replace every row of the touched keys.

    A night's new data touches some keys (a device, a customer, a shipment): the model's incremental branch
    recomputes those keys from their whole history and returns one row per recomputed row, LEFT JOINed from
    the touched keys, so that a touched key left with no rows (its events deleted from raw, re-attributed
    to someone else) still comes back once, with `touched_row_key` null. This strategy deletes every row of
    each touched key (`unique_key`), then inserts the recomputed rows, in one transaction. dbt's own
    delete+insert deletes only keys that still have rows, and would keep such a key's stale rows.
#}
{% macro get_incremental_replace_touched_sql(arg_dict) %}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set recomputed = arg_dict["temp_relation"] -%}
    {%- set key = arg_dict["unique_key"] -%}
    {%- set row_key = config.require("touched_row_key") -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    delete from {{ target }}
    where {{ key }} in (select {{ key }} from {{ recomputed }});

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ recomputed }}
    where {{ row_key }} is not null
{% endmacro %}


{# The latest value of `column` in this model's table: what the previous build already took in. #}
{% macro incremental_watermark(column) %}
    (select coalesce(max({{ column }}), '-infinity'::timestamptz) from {{ this }})
{% endmacro %}


{#
    The keys a staging model restages tonight: those of raw rows loaded since its last build (a first
    delivery, a re-delivery, a re-run night's reload), and those of staged rows whose raw row is gone.
#}
{% macro keys_loaded_or_gone_since_last_build(raw_relation, key, raw_row_key, staged_row_key) %}
    select raw_rows.{{ key }}
    from {{ raw_relation }} as raw_rows
    where raw_rows._loaded_at > {{ incremental_watermark('last_loaded_at') }}

    union

    select staged.{{ key }}
    from {{ this }} as staged
    where not exists (
        select 1 from {{ raw_relation }} as raw_rows
        where raw_rows.{{ raw_row_key }} = staged.{{ staged_row_key }}
    )
{% endmacro %}
