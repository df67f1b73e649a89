-- Which golden record each CRM contact and ERP customer belongs to, as far as identity resolution trusts
-- MDM: one row per golden record x source key.
--
--   1. Latest link wins: a key belongs to the golden record(s) listing it in the latest snapshot that lists
--      it at all. A key MDM moved to another record (a split corrected) leaves its old record; a retired
--      record that was merged lists no keys, so its keys follow the survivor.
--   2. Contradicted links are not trusted (a wrong link MDM has not corrected yet): a key of a golden
--      record with other keys, whose own record's email and phone match neither the golden record's primary
--      email or phone nor the record of any other key of it, while matching the record of a key linked to
--      another golden record.
with

source_keys as (

    select * from {{ ref('stg_mdm__golden_customer_source_keys') }}

),

golden_customers as (

    select * from {{ ref('stg_mdm__golden_customers') }}

),

crm_contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

erp_customers as (

    select * from {{ ref('stg_erp__customers') }}

),

key_snapshots as (

    select
        source_keys.golden_id,
        source_keys.source_system,
        source_keys.source_key,
        min(source_keys.snapshot_date) as first_snapshot_date,
        max(source_keys.snapshot_date) as last_snapshot_date
    from source_keys
    group by source_keys.golden_id, source_keys.source_system, source_keys.source_key

),

latest_snapshot_of_key as (

    select
        key_snapshots.source_system,
        key_snapshots.source_key,
        max(key_snapshots.last_snapshot_date) as last_snapshot_date
    from key_snapshots
    group by key_snapshots.source_system, key_snapshots.source_key

),

current_links as (

    select key_snapshots.*
    from key_snapshots
    inner join latest_snapshot_of_key
        on
            key_snapshots.source_system = latest_snapshot_of_key.source_system
            and key_snapshots.source_key = latest_snapshot_of_key.source_key
            and key_snapshots.last_snapshot_date = latest_snapshot_of_key.last_snapshot_date

),

key_details as (

    select
        'crm' as source_system,
        crm_contacts.contact_id as source_key,
        'email' as detail_type,
        crm_contacts.email as detail_value
    from crm_contacts
    where crm_contacts.email is not null

    union all

    select
        'crm' as source_system,
        crm_contacts.contact_id as source_key,
        'phone' as detail_type,
        crm_contacts.phone_e164 as detail_value
    from crm_contacts
    where crm_contacts.phone_e164 is not null

    union all

    select
        'erp' as source_system,
        erp_customers.customer_no as source_key,
        'email' as detail_type,
        erp_customers.email as detail_value
    from erp_customers
    where erp_customers.email is not null

    union all

    select
        'erp' as source_system,
        erp_customers.customer_no as source_key,
        'phone' as detail_type,
        erp_customers.phone_e164 as detail_value
    from erp_customers
    where erp_customers.phone_e164 is not null

),

golden_primary_details as (

    select
        golden_customers.golden_id,
        'email' as detail_type,
        golden_customers.primary_email as detail_value
    from golden_customers
    where golden_customers.primary_email is not null

    union all

    select
        golden_customers.golden_id,
        'phone' as detail_type,
        golden_customers.primary_phone_e164 as detail_value
    from golden_customers
    where golden_customers.primary_phone_e164 is not null

),

link_details as (

    select
        current_links.golden_id,
        current_links.source_system,
        current_links.source_key,
        key_details.detail_type,
        key_details.detail_value
    from current_links
    inner join key_details
        on
            current_links.source_system = key_details.source_system
            and current_links.source_key = key_details.source_key

),

supported_links as (

    select
        link_details.golden_id,
        link_details.source_system,
        link_details.source_key
    from link_details
    inner join link_details as other_keys
        on
            link_details.golden_id = other_keys.golden_id
            and link_details.detail_type = other_keys.detail_type
            and link_details.detail_value = other_keys.detail_value
            and (link_details.source_system, link_details.source_key)
            <> (other_keys.source_system, other_keys.source_key)

    union

    select
        link_details.golden_id,
        link_details.source_system,
        link_details.source_key
    from link_details
    inner join golden_primary_details
        on
            link_details.golden_id = golden_primary_details.golden_id
            and link_details.detail_type = golden_primary_details.detail_type
            and link_details.detail_value = golden_primary_details.detail_value

),

claimed_elsewhere as (

    select
        link_details.golden_id,
        link_details.source_system,
        link_details.source_key
    from link_details
    inner join link_details as elsewhere
        on
            link_details.detail_type = elsewhere.detail_type
            and link_details.detail_value = elsewhere.detail_value
            and link_details.golden_id <> elsewhere.golden_id

    union

    select
        link_details.golden_id,
        link_details.source_system,
        link_details.source_key
    from link_details
    inner join golden_primary_details
        on
            link_details.detail_type = golden_primary_details.detail_type
            and link_details.detail_value = golden_primary_details.detail_value
            and link_details.golden_id <> golden_primary_details.golden_id

),

key_counts as (

    select
        current_links.golden_id,
        count(*) as golden_key_count
    from current_links
    group by current_links.golden_id

),

final as (

    select
        current_links.golden_id,
        current_links.source_system,
        current_links.source_key,
        current_links.first_snapshot_date,
        current_links.last_snapshot_date,
        key_counts.golden_key_count,
        supported_links.source_key is not null as is_supported,
        key_counts.golden_key_count > 1
        and supported_links.source_key is null
        and claimed_elsewhere.source_key is not null as is_contradicted
    from current_links
    inner join key_counts
        on current_links.golden_id = key_counts.golden_id
    left join supported_links
        on
            current_links.golden_id = supported_links.golden_id
            and current_links.source_system = supported_links.source_system
            and current_links.source_key = supported_links.source_key
    left join claimed_elsewhere
        on
            current_links.golden_id = claimed_elsewhere.golden_id
            and current_links.source_system = claimed_elsewhere.source_system
            and current_links.source_key = claimed_elsewhere.source_key

)

select * from final
