-- The night the identity models stand for: the data horizon (end of the latest data interval loaded)
-- and the business date it closes. No model calls now(): re-running a night gives the same keys.
with

web_events as (

    select * from {{ ref('stg_web_analytics__events') }}

),

crm_cases as (

    select * from {{ ref('stg_crm__cases') }}

),

horizons as (

    select max(web_events.data_interval_end_at) as data_horizon_at
    from web_events

    union all

    select max(crm_cases.extracted_until_at) as data_horizon_at
    from crm_cases

),

final as (

    select
        max(horizons.data_horizon_at) as data_horizon_at,
        -- The interval is a London business day: it starts one local day before the horizon.
        cast(
            max(horizons.data_horizon_at) at time zone '{{ var("reporting_time_zone") }}' - interval '1 day'
            as date
        ) as business_date,
        (
            (max(horizons.data_horizon_at) at time zone '{{ var("reporting_time_zone") }}' - interval '1 day')
            at time zone '{{ var("reporting_time_zone") }}'
        ) as data_interval_start_at
    from horizons

)

select * from final
