-- Published: the change in how customers move between contact points, between the same two periods as
-- fct_friction_shift (macro shift_periods). One row per (from contact point, to contact point) seen in either
-- period.
--
-- A transition is a customer's next event at another contact point (fct_contact_point_events, customers
-- identity resolution knows) less than var transition_window_hours after the event before it; its period is
-- the date of its first event. share = transitions from -> to / every transition leaving `from` in the
-- period. The shift of a share is tested with a two-proportion z-test (pooled); p_value is two-sided.
with

night as (

    select * from {{ ref('int_identity__night') }}

),

contact_point_events as (

    select * from {{ ref('fct_contact_point_events') }}
    where customer_key is not null

),

periods as (

    {{ shift_periods('night') }}

),

sequenced as (

    select
        contact_point_events.customer_key,
        contact_point_events.contact_point as from_contact_point,
        contact_point_events.occurred_at,
        contact_point_events.occurred_date,
        lead(contact_point_events.contact_point) over customer_order as to_contact_point,
        lead(contact_point_events.occurred_at) over customer_order as next_occurred_at
    from contact_point_events
    window customer_order as (
        partition by contact_point_events.customer_key
        order by contact_point_events.occurred_at asc, contact_point_events.contact_point_event_id asc
    )

),

transitions as (

    select
        sequenced.from_contact_point,
        sequenced.to_contact_point,
        sequenced.occurred_date between periods.current_from and periods.current_to as is_current,
        sequenced.occurred_date between periods.baseline_from and periods.baseline_to as is_baseline
    from sequenced
    cross join periods
    where
        sequenced.to_contact_point is not null
        and sequenced.to_contact_point != sequenced.from_contact_point
        and sequenced.next_occurred_at - sequenced.occurred_at
        < {{ var('transition_window_hours') }} * interval '1 hour'

),

counted as (

    select
        transitions.from_contact_point,
        transitions.to_contact_point,
        count(*) filter (where transitions.is_current) as current_transitions,
        count(*) filter (where transitions.is_baseline) as baseline_transitions
    from transitions
    where transitions.is_current or transitions.is_baseline
    group by 1, 2

),

leaving as (

    select
        counted.*,
        sum(counted.current_transitions) over (partition by counted.from_contact_point) as current_leaving,
        sum(counted.baseline_transitions) over (partition by counted.from_contact_point) as baseline_leaving
    from counted

),

tested as (

    select
        leaving.*,
        cast(leaving.current_transitions as double precision) / nullif(leaving.current_leaving, 0) as current_share,
        cast(leaving.baseline_transitions as double precision) / nullif(leaving.baseline_leaving, 0) as baseline_share,
        cast(leaving.current_transitions + leaving.baseline_transitions as double precision)
        / (leaving.current_leaving + leaving.baseline_leaving) as pooled_share
    from leaving

),

scored as (

    select
        tested.*,
        case
            when tested.current_leaving > 0 and tested.baseline_leaving > 0 and tested.pooled_share < 1
                then
                    (tested.current_share - tested.baseline_share)
                    / sqrt(
                        tested.pooled_share * (1 - tested.pooled_share)
                        * (1.0 / tested.current_leaving + 1.0 / tested.baseline_leaving)
                    )
        end as z_score
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
        {{ surrogate_key(['scored.from_contact_point', 'scored.to_contact_point']) }} as transition_shift_id,
        scored.from_contact_point,
        scored.to_contact_point,
        periods.current_from,
        periods.current_to,
        periods.baseline_from,
        periods.baseline_to,
        cast(scored.current_transitions as bigint) as current_transitions,
        cast(scored.baseline_transitions as bigint) as baseline_transitions,
        cast(scored.current_leaving as bigint) as current_leaving,
        cast(scored.baseline_leaving as bigint) as baseline_leaving,
        cast(round(cast(scored.current_share as numeric), 6) as numeric(7, 6)) as current_share,
        cast(round(cast(scored.baseline_share as numeric), 6) as numeric(7, 6)) as baseline_share,
        cast(round(cast(scored.z_score as numeric), 4) as numeric(14, 4)) as z_score,
        cast(round(cast(scored.exact_p_value as numeric), 6) as numeric(7, 6))
            as p_value,
        coalesce(scored.exact_p_value < {{ var('friction_shift_alpha') }}, false)
            as is_significant
    from p_valued as scored
    cross join periods

)

select * from final
