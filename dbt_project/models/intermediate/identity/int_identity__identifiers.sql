-- One row per source record x identifier it carries: the evidence of the identity graph. Two identifiers
-- on the same record belong to the same customer (unless one is a shared identifier, see
-- int_identity__shared_identifiers). Records:
--   crm             a contact: its id, email, phone (soft-deleted contacts too: a steward's duplicate is
--                   still the same person)
--   erp             a customer: its customer_no, email, phone
--   mdm             a golden record: its golden_id, the keys int_identity__mdm_links trusts, the survivor it
--                   was merged into, its emails and phones (those only a contradicted key brought excluded)
--   web_analytics   a device (anonymous_id) and every CRM contact it logged in as (user_id); bots excluded
--   contact_center  an interaction: the email and phone captured and the CRM contact the agent linked
--   marketing       an address the email service provider mailed (a single identifier: a node, no edge)
with

crm_contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

erp_customers as (

    select * from {{ ref('stg_erp__customers') }}

),

golden_customers as (

    select * from {{ ref('stg_mdm__golden_customers') }}

),

golden_identifiers as (

    select * from {{ ref('stg_mdm__golden_customer_identifiers') }}

),

mdm_links as (

    select * from {{ ref('int_identity__mdm_links') }}

),

web_events as (

    select * from {{ ref('stg_web_analytics__events') }}
    where not is_bot

),

interactions as (

    select * from {{ ref('stg_contact_center__interactions') }}

),

email_events as (

    select * from {{ ref('stg_marketing__email_events') }}

),

crm_identifiers as (

    select
        'crm' as source_system,
        crm_contacts.contact_id as source_record_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        crm_contacts.created_at as first_seen_at,
        crm_contacts.modified_at as last_seen_at
    from crm_contacts
    cross join lateral (
        values
        ('crm_contact_id', crm_contacts.contact_id),
        ('email', crm_contacts.email),
        ('phone', crm_contacts.phone_e164)
    ) as identifiers (identifier_type, identifier_value)

),

erp_identifiers as (

    select
        'erp' as source_system,
        erp_customers.customer_no as source_record_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        erp_customers.created_at as first_seen_at,
        erp_customers.changed_at as last_seen_at
    from erp_customers
    cross join lateral (
        values
        ('erp_customer_no', erp_customers.customer_no),
        ('email', erp_customers.email),
        ('phone', erp_customers.phone_e164)
    ) as identifiers (identifier_type, identifier_value)

),

golden_records as (

    select
        mdm_links.golden_id,
        min(mdm_links.first_snapshot_date) as first_snapshot_date,
        max(mdm_links.last_snapshot_date) as last_snapshot_date
    from mdm_links
    group by mdm_links.golden_id

    union all

    select
        golden_customers.golden_id,
        golden_customers.snapshot_date as first_snapshot_date,
        golden_customers.snapshot_date as last_snapshot_date
    from golden_customers

),

golden_record_spans as (

    select
        golden_records.golden_id,
        min(golden_records.first_snapshot_date) as first_snapshot_date,
        max(golden_records.last_snapshot_date) as last_snapshot_date
    from golden_records
    group by golden_records.golden_id

),

contradicted_details as (

    -- emails and phones that only a contradicted key brought to a golden record
    select
        mdm_links.golden_id,
        details.identifier_type,
        details.identifier_value
    from mdm_links
    inner join crm_identifiers as details
        on mdm_links.source_system = 'crm' and mdm_links.source_key = details.source_record_key
    where mdm_links.is_contradicted and details.identifier_type in ('email', 'phone')

    union

    select
        mdm_links.golden_id,
        details.identifier_type,
        details.identifier_value
    from mdm_links
    inner join erp_identifiers as details
        on mdm_links.source_system = 'erp' and mdm_links.source_key = details.source_record_key
    where mdm_links.is_contradicted and details.identifier_type in ('email', 'phone')

),

trusted_details as (

    select
        mdm_links.golden_id,
        details.identifier_type,
        details.identifier_value
    from mdm_links
    inner join crm_identifiers as details
        on mdm_links.source_system = 'crm' and mdm_links.source_key = details.source_record_key
    where not mdm_links.is_contradicted and details.identifier_type in ('email', 'phone')

    union

    select
        mdm_links.golden_id,
        details.identifier_type,
        details.identifier_value
    from mdm_links
    inner join erp_identifiers as details
        on mdm_links.source_system = 'erp' and mdm_links.source_key = details.source_record_key
    where not mdm_links.is_contradicted and details.identifier_type in ('email', 'phone')

),

mdm_identifiers as (

    select
        'mdm' as source_system,
        golden_record_spans.golden_id as source_record_key,
        'golden_id' as identifier_type,
        golden_record_spans.golden_id as identifier_value,
        cast(golden_record_spans.first_snapshot_date as timestamptz) as first_seen_at,
        cast(golden_record_spans.last_snapshot_date as timestamptz) as last_seen_at
    from golden_record_spans

    union all

    select
        'mdm' as source_system,
        mdm_links.golden_id as source_record_key,
        case mdm_links.source_system when 'crm' then 'crm_contact_id' else 'erp_customer_no' end as identifier_type,
        mdm_links.source_key as identifier_value,
        cast(mdm_links.first_snapshot_date as timestamptz) as first_seen_at,
        cast(mdm_links.last_snapshot_date as timestamptz) as last_seen_at
    from mdm_links
    where not mdm_links.is_contradicted

    union all

    select
        'mdm' as source_system,
        golden_customers.golden_id as source_record_key,
        'golden_id' as identifier_type,
        golden_customers.merged_into as identifier_value,
        cast(golden_customers.snapshot_date as timestamptz) as first_seen_at,
        cast(golden_customers.snapshot_date as timestamptz) as last_seen_at
    from golden_customers
    where golden_customers.merged_into is not null

    union all

    select
        'mdm' as source_system,
        golden_identifiers.golden_id as source_record_key,
        golden_identifiers.identifier_type,
        golden_identifiers.identifier_value,
        cast(golden_identifiers.snapshot_date as timestamptz) as first_seen_at,
        cast(golden_identifiers.snapshot_date as timestamptz) as last_seen_at
    from golden_identifiers
    left join contradicted_details
        on
            golden_identifiers.golden_id = contradicted_details.golden_id
            and golden_identifiers.identifier_type = contradicted_details.identifier_type
            and golden_identifiers.identifier_value = contradicted_details.identifier_value
    left join trusted_details
        on
            golden_identifiers.golden_id = trusted_details.golden_id
            and golden_identifiers.identifier_type = trusted_details.identifier_type
            and golden_identifiers.identifier_value = trusted_details.identifier_value
    where contradicted_details.golden_id is null or trusted_details.golden_id is not null

),

web_identifiers as (

    select
        'web_analytics' as source_system,
        web_events.anonymous_id as source_record_key,
        'anonymous_id' as identifier_type,
        web_events.anonymous_id as identifier_value,
        min(web_events.event_at) as first_seen_at,
        max(web_events.event_at) as last_seen_at
    from web_events
    group by web_events.anonymous_id

    union all

    select
        'web_analytics' as source_system,
        web_events.anonymous_id as source_record_key,
        'crm_contact_id' as identifier_type,
        web_events.user_id as identifier_value,
        min(web_events.event_at) as first_seen_at,
        max(web_events.event_at) as last_seen_at
    from web_events
    where web_events.user_id is not null
    group by web_events.anonymous_id, web_events.user_id

),

contact_center_identifiers as (

    select
        'contact_center' as source_system,
        interactions.interaction_id as source_record_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        interactions.started_at as first_seen_at,
        interactions.updated_at as last_seen_at
    from interactions
    cross join lateral (
        values
        ('crm_contact_id', interactions.crm_contact_id),
        ('email', interactions.customer_email),
        ('phone', interactions.customer_phone_e164)
    ) as identifiers (identifier_type, identifier_value)

),

marketing_identifiers as (

    select
        'marketing' as source_system,
        email_events.email as source_record_key,
        'email' as identifier_type,
        email_events.email as identifier_value,
        min(email_events.event_at) as first_seen_at,
        max(email_events.event_at) as last_seen_at
    from email_events
    where email_events.email is not null
    group by email_events.email

),

unioned as (

    select * from crm_identifiers
    union all
    select * from erp_identifiers
    union all
    select * from mdm_identifiers
    union all
    select * from web_identifiers
    union all
    select * from contact_center_identifiers
    union all
    select * from marketing_identifiers

),

final as (

    select
        {{ surrogate_key(['unioned.source_system', 'unioned.source_record_key']) }} as record_id,
        {{ surrogate_key(['unioned.identifier_type', 'unioned.identifier_value']) }} as identifier_id,
        unioned.source_system,
        unioned.source_record_key,
        unioned.identifier_type,
        unioned.identifier_value,
        min(unioned.first_seen_at) as first_seen_at,
        max(unioned.last_seen_at) as last_seen_at
    from unioned
    where unioned.identifier_value is not null and unioned.source_record_key is not null
    group by unioned.source_system, unioned.source_record_key, unioned.identifier_type, unioned.identifier_value

)

select * from final
