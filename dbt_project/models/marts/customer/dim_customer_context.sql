-- Published: one row per current customer - the context a contact point needs to serve them now, within
-- their consent, and no more. Customers are identity resolution's customers (int_identity__customer_map),
-- appearing only as a pseudonymous customer_key.
--
-- Consent: the latest decision per purpose across the customer's CRM contacts (a withdrawal on one contact
-- after a grant on another is a withdrawal). Without personalisation consent (withdrawn, or never given),
-- every personalised column is null; friction also needs analytics consent. Service context (segment,
-- country, consents, open cases) is always there: a contact point needs it to serve the customer at all.
-- Erasure: a customer with an erasure request has no row.
-- Windows end at the data horizon (int_identity__night): no model calls now().
with

customer_map as (

    select * from {{ ref('int_identity__customer_map') }}

),

night as (

    select * from {{ ref('int_identity__night') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

erp_customers as (

    select * from {{ ref('stg_erp__customers') }}

),

golden_customers as (

    select * from {{ ref('stg_mdm__golden_customers') }}
    where not is_retired

),

consents as (

    select * from {{ ref('stg_crm__consents') }}
    where not is_deleted

),

erasure_requests as (

    select * from {{ ref('stg_crm__erasure_requests') }}

),

cases as (

    select * from {{ ref('stg_crm__cases') }}
    where not is_deleted

),

journeys as (

    select * from {{ ref('int_journeys_assembled') }}

),

friction_events as (

    select * from {{ ref('int_friction_events_identified') }}

),

journey_stuck_risks as (

    select * from {{ ref('fct_journey_stuck_risk') }}

),

interactions as (

    select * from {{ ref('stg_contact_center__interactions') }}

),

sales_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}
    where order_status != 'cancelled'

),

-- Who: every customer with a live CRM contact or an ERP account, unless one of their contacts asked for
-- erasure (the raw layer is scrubbed by the pipeline; the customer's context goes here).
customer_contacts as (

    select
        customer_map.customer_key,
        contacts.contact_id,
        contacts.country_code,
        contacts.modified_at,
        contacts.is_deleted
    from customer_map
    inner join contacts
        on
            customer_map.identifier_type = 'crm_contact_id'
            and customer_map.identifier_value = contacts.contact_id

),

customer_accounts as (

    select
        customer_map.customer_key,
        erp_customers.customer_no,
        erp_customers.billing_country_code,
        erp_customers.changed_at
    from customer_map
    inner join erp_customers
        on
            customer_map.identifier_type = 'erp_customer_no'
            and customer_map.identifier_value = erp_customers.customer_no

),

erased_customers as (

    select distinct customer_map.customer_key
    from erasure_requests
    inner join customer_map
        on
            customer_map.identifier_type = 'crm_contact_id'
            and erasure_requests.contact_id = customer_map.identifier_value

),

current_customers as (

    select customer_contacts.customer_key
    from customer_contacts
    where not customer_contacts.is_deleted

    union

    select customer_accounts.customer_key
    from customer_accounts

    except

    select erased_customers.customer_key
    from erased_customers

),

-- Profile: segment from MDM (its active golden record, the latest updated if unmerged duplicates remain);
-- country from the CRM contact last changed, else MDM, else the ERP billing country.
golden_profiles as (

    select distinct on (customer_map.customer_key)
        customer_map.customer_key,
        golden_customers.segment,
        golden_customers.country_code
    from customer_map
    inner join golden_customers
        on
            customer_map.identifier_type = 'golden_id'
            and customer_map.identifier_value = golden_customers.golden_id
    order by customer_map.customer_key asc, golden_customers.updated_at desc, golden_customers.golden_id asc

),

contact_countries as (

    select distinct on (customer_contacts.customer_key)
        customer_contacts.customer_key,
        customer_contacts.country_code
    from customer_contacts
    where not customer_contacts.is_deleted
    order by customer_contacts.customer_key asc, customer_contacts.modified_at desc, customer_contacts.contact_id asc

),

account_countries as (

    select distinct on (customer_accounts.customer_key)
        customer_accounts.customer_key,
        customer_accounts.billing_country_code
    from customer_accounts
    order by customer_accounts.customer_key asc, customer_accounts.changed_at desc, customer_accounts.customer_no asc

),

-- Consent: the customer's latest decision per purpose; on a tie, a withdrawal wins.
latest_consents as (

    select distinct on (customer_contacts.customer_key, consents.purpose)
        customer_contacts.customer_key,
        consents.purpose,
        consents.is_granted
    from consents
    inner join customer_contacts
        on consents.contact_id = customer_contacts.contact_id
    order by
        customer_contacts.customer_key asc,
        consents.purpose asc,
        consents.captured_at desc,
        consents.is_granted asc,
        consents.modified_at desc

),

consent_flags as (

    select
        latest_consents.customer_key,
        bool_or(latest_consents.purpose = 'marketing_email' and latest_consents.is_granted)
            as has_consented_to_mail_marketing,
        bool_or(latest_consents.purpose = 'marketing_sms' and latest_consents.is_granted)
            as has_consented_to_sms_marketing,
        bool_or(latest_consents.purpose = 'analytics' and latest_consents.is_granted)
            as has_consented_to_analytics,
        bool_or(latest_consents.purpose = 'personalisation' and latest_consents.is_granted)
            as has_consented_to_personalisation
    from latest_consents
    group by latest_consents.customer_key

),

-- Open cases: any case not resolved and not closed.
open_cases as (

    select
        customer_map.customer_key,
        count(*) as open_case_count
    from cases
    inner join customer_map
        on
            customer_map.identifier_type = 'crm_contact_id'
            and cases.contact_id = customer_map.identifier_value
    where not cases.is_resolved and cases.status != 'closed'
    group by customer_map.customer_key

),

-- Journeys and frictions of a contact, or of a device identity resolution tied to the customer.
customer_journeys as (

    select
        customer_map.customer_key,
        journeys.journey_type,
        journeys.state,
        journeys.start_channel,
        journeys.started_at,
        journeys.last_channel,
        journeys.last_contact_point,
        journeys.last_activity_at
    from journeys
    inner join customer_map
        on
            journeys.customer_id = customer_map.identifier_value
            and customer_map.identifier_type
            = case journeys.customer_type when 'contact' then 'crm_contact_id' when 'anonymous' then 'anonymous_id' end

),

open_journeys as (

    select
        customer_journeys.customer_key,
        count(*) as open_journey_count
    from customer_journeys
    where customer_journeys.state = 'open' and customer_journeys.journey_type != 'issue_resolution'
    group by customer_journeys.customer_key

),

recent_frictions as (

    select
        customer_map.customer_key,
        count(*) as friction_events_30d
    from friction_events
    cross join night
    inner join customer_map
        on
            friction_events.customer_identifier_type = customer_map.identifier_type
            and friction_events.customer_id = customer_map.identifier_value
    where
        friction_events.occurred_at > night.data_horizon_at - interval '30 days'
        and friction_events.occurred_at <= night.data_horizon_at
    group by customer_map.customer_key

),

-- The open journey most at risk of getting stuck (fct_journey_stuck_risk), with the reasons.
customer_stuck_risks as (

    select
        customer_map.customer_key,
        journey_stuck_risks.stuck_risk,
        journey_stuck_risks.reasons,
        row_number() over (
            partition by customer_map.customer_key
            order by journey_stuck_risks.stuck_risk desc, journey_stuck_risks.journey_id asc
        ) as risk_rank
    from journey_stuck_risks
    inner join journeys
        on journey_stuck_risks.journey_id = journeys.journey_id
    inner join customer_map
        on
            {{ customer_identifier_type('journeys.customer_type') }} = customer_map.identifier_type
            and journeys.customer_id = customer_map.identifier_value

),

-- Contact-centre interactions reach the customer by the contact the agent linked, or the email or phone
-- captured (normalised as identity resolution normalises them).
interaction_identifiers as (

    select
        interactions.interaction_id,
        identifiers.identifier_type,
        identifiers.identifier_value
    from interactions
    cross join
        lateral (
            values
            ('crm_contact_id', interactions.crm_contact_id),
            ('email', interactions.customer_email),
            ('phone', interactions.customer_phone_e164)
        ) as identifiers (identifier_type, identifier_value)
    where identifiers.identifier_value is not null

),

customer_interactions as (

    select distinct
        customer_map.customer_key,
        interactions.interaction_id,
        interactions.started_at,
        coalesce(interactions.ended_at, interactions.started_at) as contact_at,
        case when interactions.channel in ('voice', 'callback') then 'phone' else interactions.channel end as channel,
        'contact_center/' || interactions.channel || '/' || interactions.queue as contact_point
    from interaction_identifiers
    inner join customer_map
        on
            interaction_identifiers.identifier_type = customer_map.identifier_type
            and interaction_identifiers.identifier_value = customer_map.identifier_value
    inner join interactions
        on interaction_identifiers.interaction_id = interactions.interaction_id

),

-- Every contact point the customer used: web/app journeys and cases (started in one channel, last seen at
-- a page, screen or case), contact-centre interactions, and orders placed in a store or by phone (web and
-- app orders are already buying journeys).
contact_points as (

    select
        customer_journeys.customer_key,
        customer_journeys.started_at,
        customer_journeys.start_channel,
        customer_journeys.last_activity_at as contact_at,
        customer_journeys.last_channel as channel,
        customer_journeys.last_contact_point as contact_point
    from customer_journeys

    union all

    select
        customer_interactions.customer_key,
        customer_interactions.started_at,
        customer_interactions.channel as start_channel,
        customer_interactions.contact_at,
        customer_interactions.channel,
        customer_interactions.contact_point
    from customer_interactions

    union all

    select
        customer_map.customer_key,
        sales_orders.ordered_at as started_at,
        sales_orders.channel as start_channel,
        sales_orders.ordered_at as contact_at,
        sales_orders.channel,
        case
            when sales_orders.channel = 'store' then 'store/' || coalesce(sales_orders.store_id, 'unknown')
            else 'phone/order'
        end as contact_point
    from sales_orders
    inner join customer_map
        on
            customer_map.identifier_type = 'erp_customer_no'
            and sales_orders.customer_no = customer_map.identifier_value
    where sales_orders.channel in ('store', 'phone')

),

last_contact_points as (

    select distinct on (contact_points.customer_key)
        contact_points.customer_key,
        contact_points.contact_point as last_contact_point,
        contact_points.channel as last_contact_channel,
        contact_points.contact_at as last_contact_at
    from contact_points
    cross join night
    where contact_points.contact_at <= night.data_horizon_at
    order by contact_points.customer_key asc, contact_points.contact_at desc, contact_points.contact_point asc

),

-- The channel the customer chose most often to start a contact in the last 90 days; a tie goes to the
-- channel used last.
channel_use as (

    select
        contact_points.customer_key,
        contact_points.start_channel,
        count(*) as contact_count,
        max(contact_points.started_at) as last_started_at
    from contact_points
    cross join night
    where
        contact_points.started_at > night.data_horizon_at - interval '90 days'
        and contact_points.started_at <= night.data_horizon_at
    group by contact_points.customer_key, contact_points.start_channel

),

preferred_channels as (

    select distinct on (channel_use.customer_key)
        channel_use.customer_key,
        channel_use.start_channel as preferred_channel
    from channel_use
    order by
        channel_use.customer_key asc,
        channel_use.contact_count desc,
        channel_use.last_started_at desc,
        channel_use.start_channel asc

),

-- Orders (not cancelled) and their value, in the ERP's currency (GBP), over the last 30 and 365 days.
order_windows as (

    select
        customer_map.customer_key,
        count(*) filter (
            where sales_orders.ordered_at > night.data_horizon_at - interval '30 days'
        ) as orders_30d,
        coalesce(sum(sales_orders.total_amount) filter (
            where sales_orders.ordered_at > night.data_horizon_at - interval '30 days'
        ), 0) as order_value_30d,
        count(*) as orders_365d,
        coalesce(sum(sales_orders.total_amount), 0) as order_value_365d
    from sales_orders
    cross join night
    inner join customer_map
        on
            customer_map.identifier_type = 'erp_customer_no'
            and sales_orders.customer_no = customer_map.identifier_value
    where
        sales_orders.ordered_at > night.data_horizon_at - interval '365 days'
        and sales_orders.ordered_at <= night.data_horizon_at
    group by customer_map.customer_key

),

context as (

    select
        current_customers.customer_key,
        golden_profiles.segment,
        preferred_channels.preferred_channel,
        last_contact_points.last_contact_point,
        last_contact_points.last_contact_channel,
        last_contact_points.last_contact_at,
        customer_stuck_risks.stuck_risk,
        customer_stuck_risks.reasons as stuck_risk_reasons,
        coalesce(
            contact_countries.country_code, golden_profiles.country_code, account_countries.billing_country_code
        ) as country_code,
        coalesce(consent_flags.has_consented_to_mail_marketing, false) as has_consented_to_mail_marketing,
        coalesce(consent_flags.has_consented_to_sms_marketing, false) as has_consented_to_sms_marketing,
        coalesce(consent_flags.has_consented_to_analytics, false) as has_consented_to_analytics,
        coalesce(consent_flags.has_consented_to_personalisation, false) as has_consented_to_personalisation,
        coalesce(open_cases.open_case_count, 0) as open_case_count,
        coalesce(open_journeys.open_journey_count, 0) as open_journey_count,
        coalesce(order_windows.orders_30d, 0) as orders_30d,
        coalesce(order_windows.order_value_30d, 0) as order_value_30d,
        coalesce(order_windows.orders_365d, 0) as orders_365d,
        coalesce(order_windows.order_value_365d, 0) as order_value_365d,
        coalesce(recent_frictions.friction_events_30d, 0) as friction_events_30d
    from current_customers
    left join golden_profiles
        on current_customers.customer_key = golden_profiles.customer_key
    left join contact_countries
        on current_customers.customer_key = contact_countries.customer_key
    left join account_countries
        on current_customers.customer_key = account_countries.customer_key
    left join consent_flags
        on current_customers.customer_key = consent_flags.customer_key
    left join open_cases
        on current_customers.customer_key = open_cases.customer_key
    left join preferred_channels
        on current_customers.customer_key = preferred_channels.customer_key
    left join open_journeys
        on current_customers.customer_key = open_journeys.customer_key
    left join last_contact_points
        on current_customers.customer_key = last_contact_points.customer_key
    left join order_windows
        on current_customers.customer_key = order_windows.customer_key
    left join recent_frictions
        on current_customers.customer_key = recent_frictions.customer_key
    left join customer_stuck_risks
        on current_customers.customer_key = customer_stuck_risks.customer_key and customer_stuck_risks.risk_rank = 1

),

-- Consent honoured: personalised columns only with personalisation consent; friction and stuck risk
-- (tracked behaviour, read by contact points and analysts alike) also need analytics consent.
final as (

    select
        {{ pseudonymise('context.customer_key') }} as customer_key,
        context.segment,
        context.country_code,
        context.has_consented_to_mail_marketing,
        context.has_consented_to_sms_marketing,
        context.has_consented_to_analytics,
        context.has_consented_to_personalisation,
        cast(context.open_case_count as bigint) as open_case_count,
        case when context.has_consented_to_personalisation then context.preferred_channel end as preferred_channel,
        case
            when context.has_consented_to_personalisation then cast(context.open_journey_count as bigint)
        end as open_journey_count,
        case when context.has_consented_to_personalisation then context.last_contact_point end as last_contact_point,
        case
            when context.has_consented_to_personalisation then context.last_contact_channel
        end as last_contact_channel,
        case when context.has_consented_to_personalisation then context.last_contact_at end as last_contact_at,
        case when context.has_consented_to_personalisation then cast(context.orders_30d as bigint) end as orders_30d,
        case
            when context.has_consented_to_personalisation then cast(context.order_value_30d as numeric(14, 2))
        end as order_value_30d,
        case
            when context.has_consented_to_personalisation then cast(context.orders_365d as bigint)
        end as orders_365d,
        case
            when context.has_consented_to_personalisation then cast(context.order_value_365d as numeric(14, 2))
        end as order_value_365d,
        case
            when context.has_consented_to_personalisation and context.has_consented_to_analytics
                then cast(context.friction_events_30d as bigint)
        end as friction_events_30d,
        case
            when context.has_consented_to_personalisation and context.has_consented_to_analytics
                then cast(context.stuck_risk as numeric(5, 4))
        end as stuck_risk,
        case
            when context.has_consented_to_personalisation and context.has_consented_to_analytics
                then context.stuck_risk_reasons
        end as stuck_risk_reasons
    from context

)

select * from final
