{{
    config(
        materialized='incremental',
        unique_key=['identifier_id', 'valid_from_date'],
        incremental_strategy='delete+insert',
        full_refresh=false,
        pre_hook=[
            "{% if is_incremental() %}delete from {{ this }} where valid_from_date >= (select coalesce(business_date, date '1970-01-01') from {{ ref('int_identity__night') }}){% endif %}"
        ],
    )
}}
-- full_refresh=false: the memory of keys cannot be rebuilt from the sources, so --full-refresh leaves it alone.
--
-- The memory of identity resolution: which customer_key each identifier belonged to, night after night
-- (SCD type 2, one row per identifier and version; valid_to_date exclusive, null while current).
--
-- The stable key rule, applied to tonight's components given last night's keys:
--   1. A previous key is owned by the component now holding its oldest identifier still present (first
--      seen first, then identifier_id).
--   2. A component keeps the oldest key it owns (earliest customer_key_created_date, then the key):
--      on a merge the oldest customer's key survives; the other keys it owns are retired.
--   3. On a split the part holding the key's oldest identifier keeps the key; the other parts keep
--      another key they own, else get a new one.
--   4. A new key is md5('customer' | anchor identifier_id) of the component (its oldest identifier), or,
--      if that key is still alive elsewhere, md5 of that and the business date.
-- Idempotent: a night re-run first deletes what that night (and any later one) wrote, then rebuilds
-- from the versions open before it. Running an older night after newer ones rewinds history to it.
with

night as (

    select coalesce(business_date, date '1970-01-01') as business_date
    from {{ ref('int_identity__night') }}

),

components as (

    select * from {{ ref('int_identity__components') }}

),

previous as (

    {% if is_incremental() %}
        select
            history.identifier_id,
            history.identifier_type,
            history.identifier_value,
            history.customer_key,
            history.customer_key_created_date,
            history.previous_customer_key,
            history.valid_from_date,
            history.valid_to_date
        from {{ this }} as history
        cross join night
        where
            history.valid_from_date < night.business_date
            and (history.valid_to_date is null or history.valid_to_date >= night.business_date)
    {% else %}
        select
            cast(null as text) as identifier_id,
            cast(null as text) as identifier_type,
            cast(null as text) as identifier_value,
            cast(null as text) as customer_key,
            cast(null as date) as customer_key_created_date,
            cast(null as text) as previous_customer_key,
            cast(null as date) as valid_from_date,
            cast(null as date) as valid_to_date
        where false
    {% endif %}

),

previous_members as (

    select
        previous.customer_key,
        previous.customer_key_created_date,
        components.identifier_id,
        components.component_id,
        components.first_seen_at
    from previous
    inner join components
        on previous.identifier_id = components.identifier_id

),

key_owners as (

    select
        previous_members.customer_key,
        previous_members.customer_key_created_date,
        previous_members.component_id,
        row_number() over (
            partition by previous_members.customer_key
            order by previous_members.first_seen_at asc nulls last, previous_members.identifier_id asc
        ) as member_rank
    from previous_members

),

kept_keys as (

    select
        key_owners.component_id,
        key_owners.customer_key,
        key_owners.customer_key_created_date,
        row_number() over (
            partition by key_owners.component_id
            order by key_owners.customer_key_created_date asc, key_owners.customer_key asc
        ) as key_rank
    from key_owners
    where key_owners.member_rank = 1

),

component_keys as (

    select distinct
        components.component_id,
        kept_keys.customer_key as kept_customer_key,
        kept_keys.customer_key_created_date as kept_created_date,
        {{ surrogate_key(["'customer'", 'components.component_id']) }} as new_customer_key
    from components
    left join kept_keys
        on components.component_id = kept_keys.component_id and kept_keys.key_rank = 1

),

alive_kept_keys as (

    select component_keys.kept_customer_key as customer_key
    from component_keys
    where component_keys.kept_customer_key is not null

),

assigned_keys as (

    select
        component_keys.component_id,
        coalesce(
            component_keys.kept_customer_key,
            case
                when alive_kept_keys.customer_key is not null
                    then {{ surrogate_key(['component_keys.new_customer_key', 'night.business_date']) }}
                else component_keys.new_customer_key
            end
        ) as customer_key,
        coalesce(component_keys.kept_created_date, night.business_date) as customer_key_created_date
    from component_keys
    cross join night
    left join alive_kept_keys
        on component_keys.new_customer_key = alive_kept_keys.customer_key

),

tonight as (

    select
        components.identifier_id,
        components.identifier_type,
        components.identifier_value,
        assigned_keys.customer_key,
        assigned_keys.customer_key_created_date
    from components
    inner join assigned_keys
        on components.component_id = assigned_keys.component_id

),

previous_versions as (

    -- versions open before tonight: closed tonight if the key changed or the identifier is gone
    select
        previous.identifier_id,
        previous.identifier_type,
        previous.identifier_value,
        previous.customer_key,
        previous.customer_key_created_date,
        previous.previous_customer_key,
        previous.valid_from_date,
        previous.valid_to_date as stored_valid_to_date,
        case
            when tonight.customer_key is null or tonight.customer_key <> previous.customer_key
                then night.business_date
        end as valid_to_date
    from previous
    cross join night
    left join tonight
        on previous.identifier_id = tonight.identifier_id

),

changed_previous_versions as (

    -- only versions whose end changes are written (merged on the unique key): an unchanged night rewrites
    -- nothing but its new versions
    select
        previous_versions.identifier_id,
        previous_versions.identifier_type,
        previous_versions.identifier_value,
        previous_versions.customer_key,
        previous_versions.customer_key_created_date,
        previous_versions.previous_customer_key,
        previous_versions.valid_from_date,
        previous_versions.valid_to_date
    from previous_versions
    where
        coalesce(previous_versions.valid_to_date, date '9999-12-31')
        <> coalesce(previous_versions.stored_valid_to_date, date '9999-12-31')

),

new_versions as (

    select
        tonight.identifier_id,
        tonight.identifier_type,
        tonight.identifier_value,
        tonight.customer_key,
        tonight.customer_key_created_date,
        previous.customer_key as previous_customer_key,
        night.business_date as valid_from_date,
        cast(null as date) as valid_to_date
    from tonight
    cross join night
    left join previous
        on tonight.identifier_id = previous.identifier_id
    where previous.customer_key is null or previous.customer_key <> tonight.customer_key

),

unioned as (

    select * from changed_previous_versions
    union all
    select * from new_versions

),

final as (

    select
        {{ surrogate_key(['identifier_id', 'valid_from_date']) }} as identifier_version_id,
        identifier_id,
        identifier_type,
        identifier_value,
        customer_key,
        customer_key_created_date,
        previous_customer_key,
        valid_from_date,
        valid_to_date,
        valid_to_date is null as is_current
    from unioned

)

select * from final
