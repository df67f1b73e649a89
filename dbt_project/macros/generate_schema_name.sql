{#-
    Custom schemas are used verbatim (staging, intermediate, audit) instead of dbt's default
    `<target_schema>_<custom_schema>`: the warehouse's schemas are fixed by docs/architecture.md.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
