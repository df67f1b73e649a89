{#-
    Journeys and frictions name their customer by the identifier their source knows (customer_type says
    which); identity resolution's int_identity__customer_map resolves (identifier_type, value) to the
    customer_key. These two macros translate between the two vocabularies.
-#}
{% macro customer_identifier_type(customer_type) -%}
    case {{ customer_type }}
        when 'contact' then 'crm_contact_id'
        when 'anonymous' then 'anonymous_id'
        when 'erp_customer' then 'erp_customer_no'
        when 'phone' then 'phone'
        when 'email' then 'email'
    end
{%- endmacro %}

{#- `otherwise`: the customer_type of an occurrence whose source names no customer ('guest', 'none'). -#}
{% macro customer_type_of_identifier(identifier_type, otherwise) -%}
    case {{ identifier_type }}
        when 'crm_contact_id' then 'contact'
        when 'anonymous_id' then 'anonymous'
        when 'erp_customer_no' then 'erp_customer'
        when 'phone' then 'phone'
        when 'email' then 'email'
        else {{ otherwise }}
    end
{%- endmacro %}

{#-
    The identifier a contact-centre interaction names its customer by: the CRM contact the agent linked, else
    the captured phone, else the email. Renders `<type> as customer_identifier_type, <value> as
    customer_identifier` for the relation `interactions` (stg_contact_center__interactions).
-#}
{% macro contact_center_customer_identifier(interactions) -%}
    case
            when {{ interactions }}.crm_contact_id is not null then 'crm_contact_id'
            when {{ interactions }}.customer_phone_e164 is not null then 'phone'
            when {{ interactions }}.customer_email is not null then 'email'
        end as customer_identifier_type,
        coalesce({{ interactions }}.crm_contact_id, {{ interactions }}.customer_phone_e164, {{ interactions }}.customer_email)
            as customer_identifier
{%- endmacro %}

{#-
    The identifier an ERP order names its customer by: its customer_no; a guest order names none. Renders
    `<type> as customer_identifier_type, <value> as customer_identifier` for the relation `sales_orders`
    (stg_erp__sales_orders).
-#}
{% macro erp_order_customer_identifier(sales_orders) -%}
    case when {{ sales_orders }}.customer_no is not null then 'erp_customer_no' end as customer_identifier_type,
        {{ sales_orders }}.customer_no as customer_identifier
{%- endmacro %}
