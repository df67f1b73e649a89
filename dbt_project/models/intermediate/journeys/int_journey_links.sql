-- One row per follow-up journey: the journey it follows up, so that one customer need told across systems
-- (a purchase, its delivery, a case about it) reads as one chain.
--
--   delivery          follows the buying journey that placed its order (order_no);
--   issue_resolution  about an order (order_ref): follows the order's journey of the type its category
--                     names (seed case_follow_up_intents: delivery -> the shipment, product, returns and
--                     billing -> the purchase) begun before the case, else the order's latest journey;
--                     about no order: by intent, the same CRM contact's latest journey of that type
--                     abandoned in the category's `within_hours` before the case (a billing case after a
--                     buying journey given up, an account case after a failed login).
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

-- A case about an order follows one of the order's journeys begun before it: the type its category names
-- (seed case_follow_up_intents: a delivery case the shipment, a product or returns case the purchase),
-- else the order's latest journey of any type.
case_order_links as (

    select distinct on (case_journeys.journey_id)
        case_journeys.journey_id,
        order_journeys.journey_id as parent_journey_id,
        'order_no' as linked_by
    from case_journeys
    inner join journeys as order_journeys
        on
            case_journeys.order_no = order_journeys.order_no
            and order_journeys.journey_type in ('buying', 'delivery')
            and case_journeys.started_at >= order_journeys.started_at
    left join case_follow_up_intents
        on case_journeys.category = case_follow_up_intents.case_category
    order by
        case_journeys.journey_id asc,
        (order_journeys.journey_type = case_follow_up_intents.follows_journey_type) desc nulls last,
        order_journeys.started_at desc,
        order_journeys.journey_id desc

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
        and case_follow_up_intents.within_hours is not null
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
