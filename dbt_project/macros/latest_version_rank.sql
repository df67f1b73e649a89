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
