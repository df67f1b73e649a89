{#-
    A free-text phone number to E.164 ('+' then 8 to 15 digits), or null when it cannot be one.

    '+44 20 7946 0018', '+44 (0)20 7946 0018', '0044 20 7946 0018', '(020) 7946-0018', '02079460018'
    and '442079460018' all give '+442079460018' with the default country code 44:
      1. an extension at the end ('ext. 12', 'x12', '#12') is dropped: it is not part of the number;
      2. a national trunk prefix written as '(0)' (or '( 0 )') after a country code is dropped;
      3. every character but digits is dropped; a leading '+' or '00' marks an international number;
         after the default country code, a '0' is the trunk prefix typed by mistake ('+44 020 ...'):
         dropped (no number of the default country starts with 0 after its country code);
      4. a leading single '0' is the national trunk prefix: replaced by the default country code;
      5. digits already starting with the default country code and long enough (11+) are international;
      6. any other digits are a national number without its trunk prefix.
    The result must look like E.164, otherwise null ('n/a', '12', numbers glued together, ...).
    Contact-centre agents type numbers in every one of these spellings (contact_center.yml quirks).
-#}
{% macro normalise_phone_e164(column, default_country_code='44') -%}
    {%- set without_extension -%}
        regexp_replace({{ column }}, '\s*(extension|extn|ext|x|#)[.:]?\s*[0-9]{1,6}\s*$', '', 'i')
    {%- endset -%}
    {%- set digits -%}
        regexp_replace(regexp_replace({{ without_extension }}, '[(]\s*0\s*[)]', '', 'g'), '[^0-9]', '', 'g')
    {%- endset -%}
    {%- set international -%}
        case
            when ltrim({{ column }}) like '+%' then {{ digits }}
            when {{ digits }} like '00%' then substr({{ digits }}, 3)
        end
    {%- endset -%}
    substring(
        case
            when {{ digits }} = '' then null
            when {{ international }} like '{{ default_country_code }}0%'
                then '+{{ default_country_code }}' || substr({{ international }}, {{ default_country_code | length + 2 }})
            when {{ international }} is not null then '+' || {{ international }}
            when {{ digits }} like '0%' then '+{{ default_country_code }}' || substr({{ digits }}, 2)
            when {{ digits }} like '{{ default_country_code }}%' and length({{ digits }}) >= 11
                then '+' || {{ digits }}
            else '+{{ default_country_code }}' || {{ digits }}
        end
        from '^\+[1-9][0-9]{7,14}$'
    )
{%- endmacro %}
