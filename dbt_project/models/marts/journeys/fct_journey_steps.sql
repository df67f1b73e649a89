-- Published: the steps of every journey, from every system - one row per contact-point event that belongs
-- to a journey (fct_contact_point_events.journey_id): a web journey's events, a case's status changes and
-- the contact-centre contacts about it, a delivery's carrier scans. In journey order, with the channel
-- switches and the time between steps.
with

contact_point_events as (

    select * from {{ ref('fct_contact_point_events') }}
    where journey_id is not null

),

sequenced as (

    select
        contact_point_events.journey_id,
        contact_point_events.contact_point_event_id,
        contact_point_events.customer_key,
        contact_point_events.source_system,
        contact_point_events.event_type,
        contact_point_events.occurred_at,
        contact_point_events.channel,
        contact_point_events.contact_point,
        row_number() over journey_order as step_number,
        lag(contact_point_events.channel) over journey_order as previous_channel,
        lag(contact_point_events.occurred_at) over journey_order as previous_occurred_at
    from contact_point_events
    window journey_order as (
        partition by contact_point_events.journey_id
        order by contact_point_events.occurred_at asc, contact_point_events.contact_point_event_id asc
    )

),

final as (

    select
        sequenced.journey_id,
        cast(sequenced.step_number as bigint) as step_number,
        sequenced.contact_point_event_id,
        sequenced.customer_key,
        sequenced.source_system,
        sequenced.event_type,
        sequenced.occurred_at,
        sequenced.channel,
        sequenced.contact_point,
        coalesce(sequenced.channel != sequenced.previous_channel, false) as is_channel_switch,
        {{ minutes_between('sequenced.previous_occurred_at', 'sequenced.occurred_at') }} as minutes_since_previous_step
    from sequenced

)

select * from final
