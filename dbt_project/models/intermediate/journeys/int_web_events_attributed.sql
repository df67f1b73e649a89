-- Every non-bot web/app event, attributed to a customer and classified for journey assembly.
--
-- Attribution (anonymous_id -> CRM contact): an event carries its own user_id once logged in. Any other
-- event of a device that ever logged in is attributed, before and after the login, to (in order):
--   1. the next login in the same session (browsing, then logging in to buy);
--   2. the previous login on the same device (still the same person after the session ended);
--   3. the next login on the same device (a device first used anonymously).
-- A device that never logged in stays anonymous: its customer is the anonymous_id.
-- The "nearest login" is found without correlated subqueries: a running count of logins numbers the
-- stretches between logins, and the one login inside each stretch is that stretch's maximum.
--
-- Incremental: attribution is a device's whole history (a login tonight re-attributes the device's
-- anonymous events of any age), so a night recomputes every device that an event staged since the last
-- build (or an event gone from staging) belongs to, with all its events (strategy replace_touched).
-- attributed_at stamps the rows of each recomputation: the journey steps take in the devices stamped
-- after their own last build.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_touched',
        unique_key='anonymous_id',
        touched_row_key='event_id',
        on_schema_change='fail',
    )
}}

with

{% if is_incremental() %}
    touched_devices as (

        select staged_events.anonymous_id
        from {{ ref('stg_web_analytics__events') }} as staged_events
        where staged_events.last_loaded_at > {{ incremental_watermark('last_loaded_at') }}

        union

        select attributed.anonymous_id
        from {{ this }} as attributed
        where not exists (
            select 1 from {{ ref('stg_web_analytics__events') }} as staged_events
            where staged_events.event_id = attributed.event_id and not staged_events.is_bot
        )

    ),
{% endif %}

events as (

    select staged_events.*
    from {{ ref('stg_web_analytics__events') }} as staged_events
    where
        not staged_events.is_bot
    {% if is_incremental() %}
        and staged_events.anonymous_id in (select touched_devices.anonymous_id from touched_devices)
    {% endif %}

),

login_stretches as (

    select
        events.*,
        count(events.user_id) over (
            partition by events.anonymous_id
            order by events.event_at asc, events.received_at asc, events.event_id asc
            rows between unbounded preceding and current row
        ) as device_stretch_forward,
        count(events.user_id) over (
            partition by events.anonymous_id
            order by events.event_at desc, events.received_at desc, events.event_id desc
            rows between unbounded preceding and current row
        ) as device_stretch_backward,
        count(events.user_id) over (
            partition by events.anonymous_id, events.session_id
            order by events.event_at desc, events.received_at desc, events.event_id desc
            rows between unbounded preceding and current row
        ) as session_stretch_backward
    from events

),

nearest_logins as (

    select
        login_stretches.*,
        max(login_stretches.user_id) over (
            partition by
                login_stretches.anonymous_id,
                login_stretches.session_id,
                login_stretches.session_stretch_backward
        ) as next_session_user_id,
        max(login_stretches.user_id) over (
            partition by login_stretches.anonymous_id, login_stretches.device_stretch_forward
        ) as previous_device_user_id,
        max(login_stretches.user_id) over (
            partition by login_stretches.anonymous_id, login_stretches.device_stretch_backward
        ) as next_device_user_id
    from login_stretches

),

attributed as (

    select
        event_id,
        event_name,
        event_at,
        event_date,
        received_at,
        anonymous_id,
        session_id,
        user_id,
        platform,
        page_path,
        search_results_count,
        order_no,
        failure_reason,
        error_code,
        last_loaded_at,
        now() as attributed_at,
        coalesce(user_id, next_session_user_id, previous_device_user_id, next_device_user_id) as contact_id,
        case
            when user_id is not null then 'logged_in'
            when next_session_user_id is not null then 'session_login'
            when previous_device_user_id is not null or next_device_user_id is not null then 'device_login'
            else 'unattributed'
        end as attribution_method,
        case when platform = 'web' then 'web' else 'app' end as channel
    from nearest_logins

),

classified as (

    select
        attributed.*,
        coalesce(attributed.contact_id, attributed.anonymous_id) as customer_id,
        case when attributed.contact_id is not null then 'contact' else 'anonymous' end as customer_type,
        case
            when attributed.event_name in (
                'search',
                'product_view',
                'add_to_cart',
                'checkout_started',
                'payment_submitted',
                'checkout_failed',
                'order_completed'
            ) then 'buying'
            when attributed.event_name in ('login_failed', 'password_reset', 'login') then 'account_access'
        end as journey_type,
        case
            when attributed.event_name = 'search' and attributed.search_results_count = 0 then 'dead_end_search'
            when attributed.event_name in ('checkout_failed', 'login_failed', 'error_shown') then attributed.event_name
        end as friction_type
    from attributed

)

{% if is_incremental() %}
    select * from touched_devices left join classified using (anonymous_id)
{% else %}
    select * from classified
{% endif %}
