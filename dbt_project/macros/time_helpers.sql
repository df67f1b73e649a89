{#- `n` minutes as an interval (n may be a var, a literal or a numeric column). -#}
{% macro minutes_interval(n) -%}
    ({{ n }} * interval '1 minute')
{%- endmacro %}

{#-
    Whole minutes from `start_at` to `end_at` (bigint, truncated). Computed from the epoch difference,
    so independent of the session time zone (dbt.datediff on PostgreSQL goes through local dates and
    hours, which shifts by an hour across a daylight-saving change when the session is not in UTC).
-#}
{% macro minutes_between(start_at, end_at) -%}
    cast(floor(extract(epoch from ({{ end_at }} - {{ start_at }})) / 60) as bigint)
{%- endmacro %}

{#- The calendar date of a timestamptz in the reporting time zone (var reporting_time_zone). -#}
{% macro reporting_date(column) -%}
    cast(({{ column }} at time zone '{{ var("reporting_time_zone") }}') as date)
{%- endmacro %}
