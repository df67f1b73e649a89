{#-
    A stable text key (md5 hex) from several expressions; nulls are spelt out so that (a, null) and
    (null, a) differ. Same idea as dbt_utils.generate_surrogate_key, which cannot be installed here.
-#}
{% macro surrogate_key(expressions) -%}
    md5(
        {%- for expression in expressions %}
        coalesce(cast({{ expression }} as text), '_null_'){% if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}
