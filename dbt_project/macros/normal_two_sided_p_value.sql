{#-
    Two-sided p-value of a standard normal z: erfc(|z| / sqrt 2), by Abramowitz and Stegun 7.1.26
    (absolute error below 1.5e-7). PostgreSQL has no erf; a dbt package for one is not worth a dependency.
-#}
{% macro normal_two_sided_p_value(z) -%}
    (
        (
            0.254829592 * (1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)))
            - 0.284496736 * power(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 2)
            + 1.421413741 * power(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 3)
            - 1.453152027 * power(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 4)
            + 1.061405429 * power(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 5)
        )
        * exp(-power({{ z }}, 2) / 2.0)
    )
{%- endmacro %}
