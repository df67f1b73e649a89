-- Tonight's identity map: every usable identifier with its stable customer_key (the current versions of
-- int_identity__customer_key_history), and the size of its customer.
with

history as (

    select * from {{ ref('int_identity__customer_key_history') }}
    where is_current

),

components as (

    select * from {{ ref('int_identity__components') }}

),

final as (

    select
        history.identifier_id,
        history.identifier_type,
        history.identifier_value,
        history.customer_key,
        -- The published form, hashed here once per identifier rather than once per event in each mart.
        {{ pseudonymise('history.customer_key') }} as customer_key_pseudonym,
        history.customer_key_created_date,
        history.valid_from_date as customer_key_since_date,
        components.component_size as customer_identifier_count,
        components.is_size_capped,
        components.first_seen_at,
        components.last_seen_at
    from history
    inner join components
        on history.identifier_id = components.identifier_id

)

select * from final
