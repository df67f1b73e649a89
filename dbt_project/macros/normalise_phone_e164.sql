{#-
    A free-text phone number to E.164 ('+' then 8 to 15 digits), or null when it cannot be one.

    '+44 20 7946 0018', '+44 (0)20 7946 0018', '0044 20 7946 0018', '(020) 7946-0018', '02079460018'
    and '442079460018' all give '+442079460018' with the default country code 44:
      1. a national trunk prefix written as '(0)' after a country code is dropped;
      2. every character but digits is dropped; a leading '+' or '00' marks an international number;
      3. a leading single '0' is the national trunk prefix: replaced by the default country code;
      4. digits already starting with the default country code and long enough (11+) are international;
      5. any other digits are a national number without its trunk prefix.
    The result must look like E.164, otherwise null ('n/a', '12', extensions glued to numbers, ...).
-#}
{% macro normalise_phone_e164(column, default_country_code='44') -%}
    {%- set digits -%}
        regexp_replace(regexp_replace({{ column }}, '[(]0[)]', '', 'g'), '[^0-9]', '', 'g')
    {%- endset -%}
    substring(
        case
            when {{ digits }} = '' then null
            when ltrim({{ column }}) like '+%' then '+' || {{ digits }}
            when {{ digits }} like '00%' then '+' || substr({{ digits }}, 3)
            when {{ digits }} like '0%' then '+{{ default_country_code }}' || substr({{ digits }}, 2)
            when {{ digits }} like '{{ default_country_code }}%' and length({{ digits }}) >= 11
                then '+' || {{ digits }}
            else '+{{ default_country_code }}' || {{ digits }}
        end
        from '^\+[1-9][0-9]{7,14}$'
    )
{%- endmacro %}
