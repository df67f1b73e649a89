{#-
    The two periods a shift report compares, as one row (current_from, current_to, baseline_from,
    baseline_to: dates in the reporting time zone, inclusive), from the vars friction_shift_current_from/_to
    and friction_shift_baseline_from/_to, each optional: current_to defaults to the night's business date,
    each period to friction_shift_days days, the baseline to the days just before the current period.
    `night`: the relation holding business_date (int_identity__night).
-#}
{% macro shift_periods(night) -%}
    {%- set days = var('friction_shift_days') -%}
    {%- set current_to = var('friction_shift_current_to', none) -%}
    {%- set current_from = var('friction_shift_current_from', none) -%}
    {%- set baseline_to = var('friction_shift_baseline_to', none) -%}
    {%- set baseline_from = var('friction_shift_baseline_from', none) -%}
    select
        ends.current_from,
        ends.current_to,
        ends.baseline_from,
        ends.baseline_to
    from (
        select
            current_end.current_to,
            current_end.current_from,
            current_end.baseline_to,
            {% if baseline_from %}cast('{{ baseline_from }}' as date){% else %}current_end.baseline_to - {{ days - 1 }}{% endif %}
                as baseline_from
        from (
            select
                current_start.*,
                {% if baseline_to %}cast('{{ baseline_to }}' as date){% else %}current_start.current_from - 1{% endif %}
                    as baseline_to
            from (
                select
                    night_end.current_to,
                    {% if current_from %}cast('{{ current_from }}' as date){% else %}night_end.current_to - {{ days - 1 }}{% endif %}
                        as current_from
                from (
                    select
                        {% if current_to %}cast('{{ current_to }}' as date){% else %}{{ night }}.business_date{% endif %}
                            as current_to
                    from {{ night }}
                ) as night_end
            ) as current_start
        ) as current_end
    ) as ends
{%- endmacro %}
