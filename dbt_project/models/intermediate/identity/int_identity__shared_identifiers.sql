-- Identifiers that do not identify one customer, and so link nothing (the over-merging guard). One row per
-- excluded identifier, with the reason:
--   generic_address   an email whose local part is a role, not a person (info@, sales@, ...):
--                     var identity_generic_email_local_parts
--   shared_by_many    an email or phone carried by, or linked to, more distinct customer keys (CRM contacts
--                     and ERP customers) than var identity_max_keys_per_identifier: a shop's own number
--                     typed into every customer it served, a family address used by many
--   shared_device     a web device (anonymous_id) logged in as more CRM contacts than that limit
--                     (a kiosk, a family tablet)
-- A person legitimately has up to about three such keys (a second CRM contact, an ERP account).
{%- set generic_local_parts = var('identity_generic_email_local_parts', [
    'info', 'sales', 'admin', 'office', 'contact', 'hello', 'support', 'enquiries', 'enquiry', 'accounts',
    'billing', 'orders', 'team', 'mail', 'noreply', 'no-reply', 'reception', 'service', 'help', 'shop',
]) %}
with

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

customer_keys_on_records as (

    select
        identifiers.record_id,
        identifiers.identifier_value as customer_key_value
    from identifiers
    where identifiers.identifier_type in ('crm_contact_id', 'erp_customer_no')

),

identifier_usage as (

    select
        identifiers.identifier_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        count(distinct identifiers.record_id) as record_count,
        count(distinct customer_keys_on_records.customer_key_value) as customer_key_count
    from identifiers
    left join customer_keys_on_records
        on identifiers.record_id = customer_keys_on_records.record_id
    where identifiers.identifier_type in ('email', 'phone', 'anonymous_id')
    group by identifiers.identifier_id, identifiers.identifier_type, identifiers.identifier_value

),

classified as (

    select
        identifier_usage.*,
        case
            when
                identifier_usage.identifier_type = 'email'
                and split_part(identifier_usage.identifier_value, '@', 1) in (
                    {%- for local_part in generic_local_parts %}
                        '{{ local_part }}'{% if not loop.last %},{% endif %}
                    {%- endfor %}
                )
                then 'generic_address'
            when
                identifier_usage.identifier_type in ('email', 'phone')
                and identifier_usage.customer_key_count > {{ var('identity_max_keys_per_identifier', 3) }}
                then 'shared_by_many'
            when
                identifier_usage.identifier_type = 'anonymous_id'
                and identifier_usage.customer_key_count > {{ var('identity_max_keys_per_identifier', 3) }}
                then 'shared_device'
        end as exclusion_reason
    from identifier_usage

),

final as (

    select
        identifier_id,
        identifier_type,
        identifier_value,
        exclusion_reason,
        record_count,
        customer_key_count
    from classified
    where exclusion_reason is not null

)

select * from final
