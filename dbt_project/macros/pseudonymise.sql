{#-
    The only way a customer identifier leaves the restricted layers: a keyed SHA-256 (hex) computed by
    the warehouse function restricted.pseudonymise, whose key never appears in SQL or in dbt.
-#}
{% macro pseudonymise(column) -%}
    restricted.pseudonymise(cast({{ column }} as text))
{%- endmacro %}
