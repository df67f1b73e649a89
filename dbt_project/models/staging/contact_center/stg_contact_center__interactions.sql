-- The latest version of each contact-centre interaction (highest updated_at: the API returns an
-- interaction again each time it changes, as wrap-up, disposition and CSAT arrive; the last version
-- wins). The customer object is flattened: email normalised, the phone agents or telephony typed in
-- any format normalised to E.164, crm_contact_id as linked by the agent.
with

source as (

    select * from {{ source('contact_center', 'interaction') }}

),

latest_versions as (

    select
        source.*,
        {{ latest_version_rank('interaction_id', version_column='updated_at') }} as version_rank
    from source

),

renamed as (

    select
        interaction_id,
        channel,
        direction,
        {{ normalise_email("customer ->> 'email'") }} as customer_email,
        {{ normalise_phone_e164("customer ->> 'phone'") }} as customer_phone_e164,
        nullif(trim(customer ->> 'crm_contact_id'), '') as crm_contact_id,
        queue,
        started_at,
        {{ reporting_date('started_at') }} as started_date,
        answered_at,
        ended_at,
        wait_seconds,
        handle_seconds,
        transfers as transfer_count,
        bot_handled as is_bot_handled,
        bot_outcome,
        disposition,
        case_id,
        order_ref as order_no,
        csat as csat_score,
        updated_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        answered_at is not null as is_answered
    from latest_versions
    where version_rank = 1

)

select * from renamed
