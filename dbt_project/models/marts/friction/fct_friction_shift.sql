-- Published: how friction shifted between two periods, per contact point and journey type ("turbulent
-- times"). One row per contact point x journey type with a friction in either period.
--
-- Periods (dates in the reporting time zone, both ends inclusive), from vars, each optional:
--   friction_shift_current_to      default: the night's business date (int_identity__night)
--   friction_shift_current_from    default: current_to - friction_shift_days + 1
--   friction_shift_baseline_to     default: current_from - 1
--   friction_shift_baseline_from   default: baseline_to - friction_shift_days + 1
--   e.g. dbt build --vars '{friction_shift_current_from: 2026-11-13, friction_shift_current_to: 2026-11-22}'
--
-- Significance: frictions at a contact point are counts against an exposure - the events at that contact
-- point (fct_contact_point_events) in each period, or the days when a period has none (a stock-out has no
-- events of its own). Under "nothing changed" each of the n = current + baseline occurrences falls in the
-- current period with probability p0 = its share of the exposure, so current ~ Binomial(n, p0); z is the
-- normal approximation of that conditional test of two Poisson rates, p_value its two-sided tail. More
-- traffic alone is no shift. Rows are ranked by z: the biggest significant increases first.
with

night as (

    select * from {{ ref('int_identity__night') }}

),

friction_events as (

    select * from {{ ref('int_friction_events_identified') }}

),

taxonomy as (

    select * from {{ ref('friction_taxonomy') }}

),

contact_point_events as (

    select * from {{ ref('fct_contact_point_events') }}

),

periods as (

    {{ shift_periods('night') }}

),

exposures as (

    select
        contact_point_events.contact_point,
        count(*) filter (
            where contact_point_events.occurred_date between periods.current_from and periods.current_to
        ) as current_events,
        count(*) filter (
            where contact_point_events.occurred_date between periods.baseline_from and periods.baseline_to
        ) as baseline_events
    from contact_point_events
    cross join periods
    group by 1

),

located as (

    select
        friction_events.friction_event_id,
        friction_events.friction_type,
        friction_events.customer_id,
        coalesce(friction_events.contact_point, friction_events.channel) as contact_point,
        -- a friction outside any assembled journey counts for the first journey type it can occur in
        coalesce(friction_events.journey_type, split_part(taxonomy.journey_types, ' ', 1)) as journey_type,
        friction_events.occurred_date between periods.current_from and periods.current_to as is_current,
        friction_events.occurred_date between periods.baseline_from and periods.baseline_to as is_baseline
    from friction_events
    cross join periods
    left join taxonomy
        on friction_events.friction_type = taxonomy.friction_type

),

in_periods as (

    select * from located
    where is_current or is_baseline

),

counted as (

    select
        in_periods.contact_point,
        in_periods.journey_type,
        count(*) filter (where in_periods.is_current) as current_frictions,
        count(*) filter (where in_periods.is_baseline) as baseline_frictions,
        count(distinct in_periods.customer_id) filter (where in_periods.is_current) as current_customers,
        count(distinct in_periods.customer_id) filter (where in_periods.is_baseline) as baseline_customers
    from in_periods
    group by 1, 2

),

by_type as (

    select
        in_periods.contact_point,
        in_periods.journey_type,
        in_periods.friction_type,
        count(*) filter (where in_periods.is_current) as current_frictions,
        count(*) filter (where in_periods.is_baseline) as baseline_frictions
    from in_periods
    group by 1, 2, 3

),

-- The friction type whose count rose most (ties: alphabetical), to say what drives a shift.
ranked_types as (

    select
        by_type.contact_point,
        by_type.journey_type,
        by_type.friction_type,
        row_number() over (
            partition by by_type.contact_point, by_type.journey_type
            order by by_type.current_frictions - by_type.baseline_frictions desc, by_type.friction_type asc
        ) as rise_rank
    from by_type

),

main_types as (

    select
        ranked_types.contact_point,
        ranked_types.journey_type,
        ranked_types.friction_type as main_friction_type
    from ranked_types
    where ranked_types.rise_rank = 1

),

tested as (

    select
        counted.*,
        periods.current_from,
        periods.current_to,
        periods.baseline_from,
        periods.baseline_to,
        periods.current_to - periods.current_from + 1 as current_days,
        periods.baseline_to - periods.baseline_from + 1 as baseline_days,
        coalesce(exposures.current_events, 0) as current_events,
        coalesce(exposures.baseline_events, 0) as baseline_events,
        coalesce(exposures.current_events, 0) > 0 and coalesce(exposures.baseline_events, 0) > 0 as has_events,
        case
            when coalesce(exposures.current_events, 0) > 0 and coalesce(exposures.baseline_events, 0) > 0
                then
                    cast(exposures.current_events as double precision)
                    / (exposures.current_events + exposures.baseline_events)
            else
                cast(periods.current_to - periods.current_from + 1 as double precision)
                / ((periods.current_to - periods.current_from + 1) + (periods.baseline_to - periods.baseline_from + 1))
        end as current_share_of_exposure
    from counted
    cross join periods
    left join exposures
        on counted.contact_point = exposures.contact_point

),

scored as (

    select
        tested.*,
        (
            tested.current_frictions
            - (tested.current_frictions + tested.baseline_frictions) * tested.current_share_of_exposure
        )
        / sqrt(
            (tested.current_frictions + tested.baseline_frictions)
            * tested.current_share_of_exposure * (1 - tested.current_share_of_exposure)
        ) as z_score
    from tested

),

p_valued as (

    -- the p-value once per row: p_value, is_significant and shift_direction all read it
    select
        scored.*,
        {{ normal_two_sided_p_value('scored.z_score') }} as exact_p_value
    from scored

),

final as (

    select
        {{ surrogate_key(['scored.contact_point', 'scored.journey_type']) }} as shift_id,
        scored.contact_point,
        scored.journey_type,
        scored.current_from,
        scored.current_to,
        scored.baseline_from,
        scored.baseline_to,
        cast(scored.current_frictions as bigint) as current_frictions,
        cast(scored.baseline_frictions as bigint) as baseline_frictions,
        cast(scored.current_customers as bigint) as current_customers,
        cast(scored.baseline_customers as bigint) as baseline_customers,
        cast(round(cast(scored.current_frictions as numeric) / scored.current_days, 4) as numeric(14, 4))
            as current_frictions_per_day,
        cast(round(cast(scored.baseline_frictions as numeric) / scored.baseline_days, 4) as numeric(14, 4))
            as baseline_frictions_per_day,
        cast(scored.current_events as bigint) as current_events,
        cast(scored.baseline_events as bigint) as baseline_events,
        case when scored.has_events then 'events' else 'days' end as exposure_basis,
        -- the change of frictions per unit of exposure (per event, else per day)
        case
            when scored.baseline_frictions > 0
                then cast(
                    round(
                        cast(
                            (scored.current_frictions / scored.current_share_of_exposure)
                            / (scored.baseline_frictions / (1 - scored.current_share_of_exposure)) as numeric
                        ),
                        4
                    ) as numeric(14, 4)
                )
        end as rate_ratio,
        cast(round(cast(scored.z_score as numeric), 4) as numeric(14, 4)) as z_score,
        cast(round(cast(scored.exact_p_value as numeric), 6) as numeric(7, 6)) as p_value,
        scored.exact_p_value < {{ var('friction_shift_alpha') }} as is_significant,
        case
            when scored.exact_p_value >= {{ var('friction_shift_alpha') }} then 'no_change'
            when scored.z_score > 0 then 'worse'
            else 'better'
        end as shift_direction,
        main_types.main_friction_type,
        cast(rank() over (order by scored.z_score desc) as bigint) as shift_rank
    from p_valued as scored
    inner join main_types
        on
            scored.contact_point = main_types.contact_point
            and scored.journey_type = main_types.journey_type

)

select * from final
