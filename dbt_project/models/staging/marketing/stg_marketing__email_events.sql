-- One row per email event (event_id; the first delivery if one were delivered twice), with the
-- recipient's address normalised. Machine opens (mail privacy proxies) are kept and flagged; they are
-- not customer interactions. Sends stay whatever the recipient's consent: a send after a withdrawal is
-- a compliance breach to be counted (frictionflow.compliance), never dropped.
with

source as (

    select * from {{ source('marketing', 'email_events') }}

),

first_deliveries as (

    select
        source.*,
        row_number() over (
            partition by source.event_id
            order by source._loaded_at asc, source._source_location asc, source._record_number asc
        ) as delivery_number
    from source

),

renamed as (

    select
        event_id as email_event_id,
        campaign_id,
        campaign_name,
        message_id,
        {{ normalise_email('email') }} as email,
        event_type,
        event_ts as event_at,
        {{ reporting_date('event_ts') }} as event_date,
        link_url,
        bounce_type,
        is_machine_open,
        -- Something the recipient did (sends, deliveries and bounces are the provider's doing).
        event_type in ('opened', 'clicked', 'unsubscribed', 'spam_report')
        and not coalesce(is_machine_open, false) as is_customer_interaction,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from first_deliveries
    where delivery_number = 1

)

select * from renamed
