{#- Rank the versions of a CRM row, newest first: the highest system_modstamp wins; ties (the same
    version delivered twice, in the lookback window) fall to the latest load. 1 = the current version. -#}
{% macro latest_version_rank(key_column, relation_alias='source') -%}
row_number() over (
            partition by {{ relation_alias }}.{{ key_column }}
            order by
                {{ relation_alias }}.system_modstamp desc,
                {{ relation_alias }}._loaded_at desc,
                {{ relation_alias }}._batch_id desc,
                {{ relation_alias }}._record_number desc
        )
{%- endmacro %}
