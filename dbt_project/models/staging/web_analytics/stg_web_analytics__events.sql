-- Web and app events, one row per event_id (the first delivery received), with a corrected event
-- time and a bot flag. Bots stay here, flagged; every model downstream excludes them.
--
-- Event time rule (event_at): the device clock is trusted, because events from offline devices
-- legitimately arrive up to 3 days after they happened, unless it cannot be right:
--   * device_ts later than received_at + event_time_future_tolerance_minutes (in the future), or
--   * device_ts earlier than received_at - (event_time_max_lateness_minutes
--     + event_time_lateness_tolerance_minutes) (older than any real offline delay);
-- then the collector's received_at is used. A device clock that is off by less than the lateness
-- window (e.g. two hours behind, online) cannot be told apart from a late event and is kept.
--
-- Incremental: a night restages only the events that raw rows loaded since the last build touch (a first
-- delivery, a re-delivery, a re-run night's reload), each from all its deliveries, however late they came;
-- an event gone from raw is deleted (strategy replace_touched).
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_touched',
        unique_key='event_id',
        touched_row_key='event_name',
        on_schema_change='fail',
    )
}}

with

{% if is_incremental() %}
    touched_events as (

        {{ keys_loaded_or_gone_since_last_build(source('web_analytics', 'event'), 'event_id', 'event_id', 'event_id') }}

    ),
{% endif %}

source as (

    select raw_events.*
    from {{ source('web_analytics', 'event') }} as raw_events
    {% if is_incremental() %}
        where raw_events.event_id in (select touched_events.event_id from touched_events)
    {% endif %}

),

first_deliveries as (

    select
        source.*,
        row_number() over (
            partition by source.event_id
            order by
                source.received_at asc,
                source._loaded_at asc,
                source._batch_id asc,
                source._record_number asc
        ) as delivery_number,
        max(source._loaded_at) over (partition by source.event_id) as last_loaded_at
    from source

),

renamed as (

    select
        event_id,
        event_name,
        device_ts as device_at,
        received_at,
        anonymous_id,
        user_id,
        session_id,
        platform,
        page,
        -- The path without query string or fragment: those can carry search terms or tokens.
        nullif(split_part(split_part(page, '?', 1), '#', 1), '') as page_path,
        referrer,
        user_agent,
        coalesce(user_agent ~* '{{ var("bot_user_agent_pattern") }}', false) as is_bot,
        properties,
        case
            when properties ->> 'results_count' ~ '^[0-9]+$'
                then cast(properties ->> 'results_count' as bigint)
        end as search_results_count,
        properties ->> 'order_no' as order_no,
        properties ->> 'sku' as sku,
        properties ->> 'reason' as failure_reason,
        properties ->> 'error_code' as error_code,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        last_loaded_at,
        _data_interval_end as data_interval_end_at
    from first_deliveries
    where delivery_number = 1

),

clock_checked as (

    select
        renamed.*,
        coalesce(
            renamed.device_at <= renamed.received_at
            + {{ minutes_interval(var('event_time_future_tolerance_minutes')) }}
            and renamed.device_at >= renamed.received_at
            - {{ minutes_interval(var('event_time_max_lateness_minutes')) }}
            - {{ minutes_interval(var('event_time_lateness_tolerance_minutes')) }},
            false
        ) as is_device_time_trusted
    from renamed

),

corrected as (

    select
        clock_checked.*,
        case
            when clock_checked.is_device_time_trusted then clock_checked.device_at
            else clock_checked.received_at
        end as event_at
    from clock_checked

),

final as (

    select
        corrected.*,
        {{ reporting_date('corrected.event_at') }} as event_date
    from corrected

)

{% if is_incremental() %}
    select * from touched_events left join final using (event_id)
{% else %}
    select * from final
{% endif %}
