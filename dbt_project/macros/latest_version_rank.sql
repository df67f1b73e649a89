{#- Rank the versions of a row, newest first: the highest version column (CRM system_modstamp, ERP
    changed_at, CCE updated_at) wins; ties (the same version delivered twice, in the lookback window or
    in two pages) fall to the latest load. 1 = the current version. -#}
{% macro latest_version_rank(key_column, relation_alias='source', version_column='system_modstamp') -%}
row_number() over (
            partition by {{ relation_alias }}.{{ key_column }}
            order by
                {{ relation_alias }}.{{ version_column }} desc,
                {{ relation_alias }}._loaded_at desc,
                {{ relation_alias }}._batch_id desc,
                {{ relation_alias }}._record_number desc
        )
{%- endmacro %}


{# The rows of the latest MDM snapshot only: filtered before any window, which would otherwise sort every
   snapshot ever loaded (a night's cost would grow with the history). #}
{% macro latest_mdm_snapshot_rows() %}
    select raw_snapshots.*
    from {{ source('mdm', 'golden_customer') }} as raw_snapshots
    where
        raw_snapshots._data_interval_start
        = (
            select max(all_snapshots._data_interval_start) as latest_interval_start
            from {{ source('mdm', 'golden_customer') }} as all_snapshots
        )
{% endmacro %}
