{#- An email address as typed (any case, surrounding whitespace) to its comparable form; blank -> null. -#}
{% macro normalise_email(column) -%}
    nullif(lower(regexp_replace({{ column }}, '^\s+|\s+$', '', 'g')), '')
{%- endmacro %}
