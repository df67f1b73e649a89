-- Web/app events assigned to journeys: one row per event of a buying or account-access journey, plus
-- one row per error_shown event (attached to a journey when it can be, else journey_id is null).
--
-- Splitting, per customer and journey type, in corrected event time order: an event starts a new
-- journey when it is the customer's first of that type, when more than its type's inactivity_minutes
-- (seed journey_type_rules) passed since the previous one, or when the previous one was its type's goal
-- (order_completed for buying, a successful login for account access). An account-access "journey" made only of a
-- successful login (nothing went wrong) is not a customer need and is dropped.
--
-- error_shown is a friction signal of whatever the customer was doing: it joins the customer's journey of
-- the nearest preceding journey event in the same device session, else of the nearest following one.
--
-- Every row depends on its customer's events alone. Incremental: a night recomputes, from their whole
-- history, the customers of the devices attributed since the last build and the customers whose steps lost
-- an event (gone, or moved to another customer by a login) (strategy replace_touched). A change to
-- journey_type_rules needs a --full-refresh.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_touched',
        unique_key='customer_id',
        touched_row_key='event_id',
        on_schema_change='fail',
    )
}}

with

{% if is_incremental() %}
    touched_customers as (

        -- Every event of a device attributed again carries the new attributed_at.
        select attributed.customer_id
        from {{ ref('int_web_events_attributed') }} as attributed
        where attributed.attributed_at > {{ incremental_watermark('attributed_at') }}

        union

        -- A step whose event is gone, or now someone else's (a login re-attributed its device).
        select steps.customer_id
        from {{ this }} as steps
        where not exists (
            select 1 from {{ ref('int_web_events_attributed') }} as attributed
            where attributed.event_id = steps.event_id and attributed.customer_id = steps.customer_id
        )

    ),
{% endif %}

events as (

    select attributed.*
    from {{ ref('int_web_events_attributed') }} as attributed
    {% if is_incremental() %}
        where attributed.customer_id in (select touched_customers.customer_id from touched_customers)
    {% endif %}

),

journey_type_rules as (

    select * from {{ ref('journey_type_rules') }}

),

-- Every web journey type has a rule (a relationships test on int_web_events_attributed guards the join).
journey_events as (

    select
        events.*,
        journey_type_rules.inactivity_minutes,
        journey_type_rules.goal_event_name
    from events
    inner join journey_type_rules
        on events.journey_type = journey_type_rules.journey_type

),

compared as (

    select
        journey_events.*,
        lag(journey_events.event_at) over customer_stream as previous_event_at,
        lag(journey_events.event_name) over customer_stream as previous_event_name
    from journey_events
    window customer_stream as (
        partition by journey_events.customer_id, journey_events.journey_type
        order by journey_events.event_at asc, journey_events.received_at asc, journey_events.event_id asc
    )

),

split as (

    select
        compared.*,
        case
            when compared.previous_event_at is null then 1
            when
                compared.event_at - compared.previous_event_at
                > {{ minutes_interval('compared.inactivity_minutes') }}
                then 1
            when compared.previous_event_name = compared.goal_event_name then 1
            else 0
        end as is_journey_start
    from compared

),

numbered as (

    select
        split.*,
        sum(split.is_journey_start) over (
            partition by split.customer_id, split.journey_type
            order by split.event_at asc, split.received_at asc, split.event_id asc
            rows between unbounded preceding and current row
        ) as journey_number
    from split

),

identified as (

    select
        numbered.*,
        first_value(numbered.event_id) over (
            partition by numbered.customer_id, numbered.journey_type, numbered.journey_number
            order by numbered.event_at asc, numbered.received_at asc, numbered.event_id asc
        ) as first_event_id,
        bool_or(numbered.event_name != 'login') over (
            partition by numbered.customer_id, numbered.journey_type, numbered.journey_number
        ) as has_customer_need
    from numbered

),

journey_steps as (

    select
        {{ surrogate_key(["'web'", 'journey_type', 'first_event_id']) }} as journey_id,
        journey_type,
        customer_id,
        customer_type,
        event_id,
        event_name,
        event_at,
        event_date,
        received_at,
        anonymous_id,
        session_id,
        channel,
        page_path,
        friction_type,
        order_no,
        attributed_at
    from identified
    where has_customer_need

),

errors as (

    select * from events
    where event_name = 'error_shown'

),

error_sessions as (

    select distinct
        errors.anonymous_id,
        errors.session_id,
        errors.customer_id
    from errors

),

-- Only the sessions with an error need the nearest-journey search.
session_stream as (

    select
        journey_steps.event_id,
        journey_steps.anonymous_id,
        journey_steps.session_id,
        journey_steps.event_at,
        journey_steps.received_at,
        journey_steps.journey_id,
        journey_steps.journey_type,
        journey_steps.customer_id
    from journey_steps
    inner join error_sessions
        on
            journey_steps.anonymous_id = error_sessions.anonymous_id
            and journey_steps.session_id = error_sessions.session_id
            and journey_steps.customer_id = error_sessions.customer_id

    union all

    select
        errors.event_id,
        errors.anonymous_id,
        errors.session_id,
        errors.event_at,
        errors.received_at,
        null as journey_id,
        null as journey_type,
        errors.customer_id
    from errors

),

session_stretches as (

    select
        session_stream.*,
        count(session_stream.journey_id) over (
            partition by session_stream.anonymous_id, session_stream.session_id, session_stream.customer_id
            order by session_stream.event_at asc, session_stream.received_at asc, session_stream.event_id asc
            rows between unbounded preceding and current row
        ) as stretch_forward,
        count(session_stream.journey_id) over (
            partition by session_stream.anonymous_id, session_stream.session_id, session_stream.customer_id
            order by session_stream.event_at desc, session_stream.received_at desc, session_stream.event_id desc
            rows between unbounded preceding and current row
        ) as stretch_backward
    from session_stream

),

nearest_journeys as (

    -- Within a stretch only its first row is a journey step: max() returns that step's values.
    select
        session_stretches.event_id,
        session_stretches.journey_id is null as is_error,
        max(session_stretches.journey_id) over stretch_after_step as previous_journey_id,
        max(session_stretches.journey_type) over stretch_after_step as previous_journey_type,
        max(session_stretches.journey_id) over stretch_before_step as next_journey_id,
        max(session_stretches.journey_type) over stretch_before_step as next_journey_type
    from session_stretches
    window
        stretch_after_step as (
            partition by
                session_stretches.anonymous_id,
                session_stretches.session_id,
                session_stretches.customer_id,
                session_stretches.stretch_forward
        ),
        stretch_before_step as (
            partition by
                session_stretches.anonymous_id,
                session_stretches.session_id,
                session_stretches.customer_id,
                session_stretches.stretch_backward
        )

),

attached_errors as (

    select
        coalesce(nearest_journeys.previous_journey_id, nearest_journeys.next_journey_id) as journey_id,
        case
            when nearest_journeys.previous_journey_id is not null then nearest_journeys.previous_journey_type
            else nearest_journeys.next_journey_type
        end as journey_type,
        errors.customer_id,
        errors.customer_type,
        errors.event_id,
        errors.event_name,
        errors.event_at,
        errors.event_date,
        errors.received_at,
        errors.anonymous_id,
        errors.session_id,
        errors.channel,
        errors.page_path,
        errors.friction_type,
        errors.order_no,
        errors.attributed_at
    from errors
    inner join nearest_journeys
        on errors.event_id = nearest_journeys.event_id
    where nearest_journeys.is_error

),

all_steps as (

    select * from journey_steps

    union all

    select * from attached_errors

),

sequenced as (

    select
        all_steps.*,
        case
            when all_steps.journey_id is not null
                then row_number() over journey_order
        end as step_number,
        all_steps.journey_id is not null
        and coalesce(all_steps.channel != lag(all_steps.channel) over journey_order, false) as is_channel_switch,
        all_steps.journey_id is not null and lead(all_steps.event_id) over journey_order is null as is_last_step
    from all_steps
    window journey_order as (
        partition by all_steps.journey_id
        order by all_steps.event_at asc, all_steps.received_at asc, all_steps.event_id asc
    )

)

{% if is_incremental() %}
    select * from touched_customers left join sequenced using (customer_id)
{% else %}
    select * from sequenced
{% endif %}
