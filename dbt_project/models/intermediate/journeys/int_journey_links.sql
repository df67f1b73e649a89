-- One row per follow-up journey: the journey it follows up, so that one customer need told across systems
-- (a purchase, its delivery, a case about it) reads as one chain.
--
--   delivery          follows the buying journey that placed its order (order_no);
--   issue_resolution  about an order (order_ref): follows the order's latest delivery journey started
--                     before the case, else the buying journey that placed the order;
--                     about no order: by intent (seed case_follow_up_intents), the same CRM contact's
--                     latest journey of the intent's type abandoned in the `within_hours` before the case
--                     (a billing case after a buying journey given up, an account case after a failed
--                     login).
-- A parent never starts after its follow-up (a case logged before the order it names follows nothing). A
-- journey that follows nothing has no row. Ties go to the later-started journey, then the larger key.
with

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

cases as (

    select * from {{ ref('stg_crm__cases') }}

),

case_follow_up_intents as (

    select * from {{ ref('case_follow_up_intents') }}

),

-- The buying journey that placed each order: the first, should a source ever tell it twice.
order_placements as (

    select distinct on (journeys.order_no)
        journeys.order_no,
        journeys.journey_id,
        journeys.started_at
    from journeys
    where journeys.journey_type = 'buying' and journeys.order_no is not null
    order by journeys.order_no asc, journeys.started_at asc, journeys.journey_id asc

),

delivery_links as (

    select
        deliveries.journey_id,
        order_placements.journey_id as parent_journey_id,
        'order_no' as linked_by
    from journeys as deliveries
    inner join order_placements
        on
            deliveries.order_no = order_placements.order_no
            and deliveries.started_at >= order_placements.started_at
    where deliveries.journey_type = 'delivery'

),

case_journeys as (

    select
        journeys.journey_id,
        journeys.customer_id,
        journeys.customer_type,
        journeys.started_at,
        journeys.order_no,
        cases.category
    from journeys
    inner join cases
        on journeys.case_id = cases.case_id
    where journeys.journey_type = 'issue_resolution'

),

case_delivery_parents as (

    select distinct on (case_journeys.journey_id)
        case_journeys.journey_id,
        deliveries.journey_id as parent_journey_id
    from case_journeys
    inner join journeys as deliveries
        on
            case_journeys.order_no = deliveries.order_no
            and deliveries.journey_type = 'delivery'
            and case_journeys.started_at >= deliveries.started_at
    order by case_journeys.journey_id asc, deliveries.started_at desc, deliveries.journey_id desc

),

case_order_links as (

    select
        case_journeys.journey_id,
        coalesce(case_delivery_parents.parent_journey_id, order_placements.journey_id) as parent_journey_id,
        'order_no' as linked_by
    from case_journeys
    left join case_delivery_parents
        on case_journeys.journey_id = case_delivery_parents.journey_id
    left join order_placements
        on
            case_journeys.order_no = order_placements.order_no
            and case_journeys.started_at >= order_placements.started_at
    where coalesce(case_delivery_parents.parent_journey_id, order_placements.journey_id) is not null

),

case_intent_links as (

    select distinct on (case_journeys.journey_id)
        case_journeys.journey_id,
        given_up.journey_id as parent_journey_id,
        'intent' as linked_by
    from case_journeys
    inner join case_follow_up_intents
        on case_journeys.category = case_follow_up_intents.case_category
    inner join journeys as given_up
        on
            case_follow_up_intents.follows_journey_type = given_up.journey_type
            and case_journeys.customer_type = given_up.customer_type
            and case_journeys.customer_id = given_up.customer_id
            and case_journeys.started_at >= given_up.ended_at
            and case_journeys.started_at
            < given_up.ended_at + case_follow_up_intents.within_hours * interval '1 hour'
    where
        case_journeys.order_no is null
        and case_journeys.customer_type = 'contact'
        and given_up.state = 'abandoned'
    order by case_journeys.journey_id asc, given_up.ended_at desc, given_up.journey_id desc

),

links as (

    select * from delivery_links
    union all
    select * from case_order_links
    union all
    select * from case_intent_links

)

select
    links.journey_id,
    links.parent_journey_id,
    links.linked_by
from links
