-- Friction seen by the contact centre, one row per occurrence (taxonomy: seeds/friction_taxonomy.csv):
--   queue_abandoned  an inbound voice call or chat the customer gave up in the queue (disposition
--                    abandoned; before wrap-up: ended unanswered, not a callback taken, not the bot's);
--   bot_dead_end     a chatbot conversation where the bot had no answer (bot_outcome no_match);
--   repeat_contact   an inbound contact for the same need as an earlier inbound contact less than
--                    var repeat_contact_days before it: the same case, the same order, or the same
--                    customer (identity resolution's) in the same queue, unless the two contacts
--                    name different cases or orders (two needs).
-- The customer is the linked CRM contact, else the captured phone, else the email: the identifier the
-- marts resolve to a customer_key through int_identity__customer_map.
with

interactions as (

    select * from {{ ref('stg_contact_center__interactions') }}

),

identified as (

    select
        interactions.*,
        {{ contact_center_customer_identifier('interactions') }},
        'contact_center/' || interactions.channel || '/' || interactions.queue as contact_point
    from interactions

),

abandoned as (

    select
        identified.interaction_id,
        'queue_abandoned' as friction_type,
        coalesce(identified.ended_at, identified.started_at) as occurred_at
    from identified
    where
        identified.disposition = 'abandoned'
        -- before the agent's wrap-up brings the disposition: an inbound call or chat (past the bot) that
        -- ended unanswered, but not a caller who took a callback instead
        or (
            identified.disposition is null
            and identified.direction = 'inbound'
            and identified.channel in ('voice', 'chat')
            and identified.answered_at is null
            and identified.ended_at is not null
            and coalesce(identified.bot_outcome, 'escalated') = 'escalated'
        )

),

bot_dead_ends as (

    select
        identified.interaction_id,
        'bot_dead_end' as friction_type,
        coalesce(identified.ended_at, identified.started_at) as occurred_at
    from identified
    where identified.bot_outcome = 'no_match'

),

customer_map as (

    select * from {{ ref('int_identity__customer_map') }}

),

-- Who called: identity resolution's customer of the linked contact, else of the phone, else of the email
-- (a customer may call from a number and write from an address identity resolution could not tie).
inbound as (

    select
        identified.interaction_id,
        identified.started_at,
        identified.queue,
        identified.case_id,
        identified.order_no,
        coalesce(by_contact.customer_key, by_phone.customer_key, by_email.customer_key) as customer_key
    from identified
    left join customer_map as by_contact
        on by_contact.identifier_type = 'crm_contact_id' and identified.crm_contact_id = by_contact.identifier_value
    left join customer_map as by_phone
        on by_phone.identifier_type = 'phone' and identified.customer_phone_e164 = by_phone.identifier_value
    left join customer_map as by_email
        on by_email.identifier_type = 'email' and identified.customer_email = by_email.identifier_value
    where identified.direction = 'inbound'

),

-- The same need, seen three ways: the same case, the same order, or the same customer in the same queue.
inbound_sequence as (

    select
        inbound.interaction_id,
        inbound.started_at,
        inbound.case_id,
        inbound.order_no,
        case when inbound.case_id is not null then lag(inbound.started_at) over same_case end as previous_on_case_at,
        case when inbound.order_no is not null then lag(inbound.started_at) over same_order end as previous_on_order_at,
        case
            when inbound.customer_key is not null then lag(inbound.started_at) over same_customer_queue
        end as previous_in_queue_at,
        lag(inbound.case_id) over same_customer_queue as previous_in_queue_case_id,
        lag(inbound.order_no) over same_customer_queue as previous_in_queue_order_no
    from inbound
    window
        same_case as (partition by inbound.case_id order by inbound.started_at asc, inbound.interaction_id asc),
        same_order as (partition by inbound.order_no order by inbound.started_at asc, inbound.interaction_id asc),
        same_customer_queue as (
            partition by inbound.customer_key, inbound.queue
            order by inbound.started_at asc, inbound.interaction_id asc
        )

),

repeats as (

    select
        inbound_sequence.interaction_id,
        'repeat_contact' as friction_type,
        inbound_sequence.started_at as occurred_at
    from inbound_sequence
    where
        inbound_sequence.started_at
        - greatest(
            inbound_sequence.previous_on_case_at,
            inbound_sequence.previous_on_order_at,
            -- the same customer in the same queue, unless the two name different cases or orders
            case
                when
                    inbound_sequence.case_id is distinct from inbound_sequence.previous_in_queue_case_id
                    and inbound_sequence.case_id is not null
                    and inbound_sequence.previous_in_queue_case_id is not null
                    then null
                when
                    inbound_sequence.order_no is distinct from inbound_sequence.previous_in_queue_order_no
                    and inbound_sequence.order_no is not null
                    and inbound_sequence.previous_in_queue_order_no is not null
                    then null
                else inbound_sequence.previous_in_queue_at
            end
        )
        < {{ var('repeat_contact_days') }} * interval '1 day'

),

frictions as (

    select * from abandoned
    union all
    select * from bot_dead_ends
    union all
    select * from repeats

),

final as (

    select
        {{ surrogate_key(['frictions.interaction_id', 'frictions.friction_type']) }} as friction_event_id,
        frictions.friction_type,
        frictions.occurred_at,
        -- the channel as the rest of the warehouse names it (dim_customer_context): calls are phone
        case when identified.channel in ('voice', 'callback') then 'phone' else identified.channel end as channel,
        identified.contact_point,
        identified.customer_identifier_type,
        identified.customer_identifier,
        frictions.interaction_id as source_record_key,
        identified.case_id,
        identified.order_no
    from frictions
    inner join identified
        on frictions.interaction_id = identified.interaction_id

)

select * from final
