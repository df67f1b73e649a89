-- Published: how well stuck risk ranks journeys it has not seen. The model (macro stuck_risk_scores) learns
-- from the journeys observed before the cutoff (horizon - stuck_risk_backtest_days) whose outcome was known
-- before it, and scores the journeys observed after it whose outcome is known by the horizon. Beside it, the
-- baseline a team has without a model: every journey of a type at that type's stuck rate.
-- One row per journey type, and one for both (all). AUC by the rank-sum (Mann-Whitney) formula, ties
-- averaged; precision at the top decile: the share stuck among the tenth of journeys scored highest.
with

observations as (

    select * from {{ ref('int_stuck_risk_observations') }}

),

night as (

    select * from {{ ref('int_identity__night') }}

),

-- As of the night's horizon, or of var stuck_risk_backtest_as_of (an earlier date: how the model did then,
-- knowing only what was known then).
{% set as_of = var('stuck_risk_backtest_as_of', none) %}
cutoffs as (

    select
        ends.as_of_at,
        ends.as_of_at - {{ var('stuck_risk_backtest_days') }} * interval '1 day' as cutoff_at
    from (
        select
            {% if as_of %}cast('{{ as_of }}' as timestamp) at time zone '{{ var("reporting_time_zone") }}'
            {% else %}night.data_horizon_at{% endif %} as as_of_at
        from night
    ) as ends

),

held_out as (

    select
        observations.*,
        cutoffs.cutoff_at,
        cutoffs.as_of_at
    from observations
    cross join cutoffs

),

{{ stuck_risk_scores(
    'held_out',
    'held_out.observed_at < held_out.cutoff_at and held_out.outcome_known_at < held_out.cutoff_at',
    'held_out.observed_at >= held_out.cutoff_at and held_out.outcome_known_at < held_out.as_of_at'
) }},

outcomes as (

    select distinct
        held_out.journey_id,
        held_out.is_stuck
    from held_out

),

predictions as (

    select
        stuck_risk_scored.journey_id,
        stuck_risk_scored.journey_type,
        outcomes.is_stuck,
        'model' as scorer,
        stuck_risk_scored.stuck_risk as score
    from stuck_risk_scored
    inner join outcomes
        on stuck_risk_scored.journey_id = outcomes.journey_id

    union all

    select
        stuck_risk_scored.journey_id,
        stuck_risk_scored.journey_type,
        outcomes.is_stuck,
        'baseline' as scorer,
        stuck_risk_scored.base_rate as score
    from stuck_risk_scored
    inner join outcomes
        on stuck_risk_scored.journey_id = outcomes.journey_id

),

grouped as (

    select
        predictions.*,
        predictions.journey_type as segment
    from predictions

    union all

    select
        predictions.*,
        'all' as segment
    from predictions

),

ranked as (

    select
        grouped.*,
        -- average rank of tied scores, ascending
        rank() over (partition by grouped.segment, grouped.scorer order by grouped.score asc)
        + (count(*) over (partition by grouped.segment, grouped.scorer, grouped.score) - 1) / 2.0 as score_rank,
        row_number() over (
            partition by grouped.segment, grouped.scorer order by grouped.score desc, grouped.journey_id asc
        ) as score_position,
        count(*) over (partition by grouped.segment, grouped.scorer) as scored_count
    from grouped

),

measured as (

    select
        ranked.segment,
        ranked.scorer,
        count(*) as journeys,
        count(*) filter (where ranked.is_stuck) as stuck,
        (
            sum(ranked.score_rank) filter (where ranked.is_stuck)
            - count(*) filter (where ranked.is_stuck) * (count(*) filter (where ranked.is_stuck) + 1) / 2.0
        )
        / nullif(count(*) filter (where ranked.is_stuck) * count(*) filter (where not ranked.is_stuck), 0) as auc,
        avg(case when ranked.is_stuck then 1.0 else 0.0 end)
        filter (where ranked.score_position <= ceil(ranked.scored_count / 10.0)) as precision_top_decile
    from ranked
    group by 1, 2

),

training_sizes as (

    select
        stuck_risk_training.journey_type as segment,
        count(distinct stuck_risk_training.journey_id) as training_journeys
    from stuck_risk_training
    group by 1

    union all

    select
        'all' as segment,
        count(distinct stuck_risk_training.journey_id) as training_journeys
    from stuck_risk_training

),

-- Every journey type observed, and all: a type with nothing to train on or to test says so with zeros.
segments as (

    select distinct observations.journey_type as segment
    from observations

    union all

    select 'all' as segment

),

final as (

    select
        segments.segment as journey_type,
        cutoffs.cutoff_at,
        cutoffs.as_of_at,
        cast(coalesce(training_sizes.training_journeys, 0) as bigint) as training_journeys,
        cast(coalesce(model_measures.journeys, 0) as bigint) as test_journeys,
        cast(coalesce(model_measures.stuck, 0) as bigint) as test_stuck,
        cast(round(cast(model_measures.auc as numeric), 4) as numeric(5, 4)) as auc,
        cast(round(cast(baseline_measures.auc as numeric), 4) as numeric(5, 4)) as baseline_auc,
        cast(round(model_measures.precision_top_decile, 4) as numeric(5, 4)) as precision_top_decile,
        cast(round(baseline_measures.precision_top_decile, 4) as numeric(5, 4)) as baseline_precision_top_decile
    from segments
    cross join cutoffs
    left join measured as model_measures
        on segments.segment = model_measures.segment and model_measures.scorer = 'model'
    left join measured as baseline_measures
        on segments.segment = baseline_measures.segment and baseline_measures.scorer = 'baseline'
    left join training_sizes
        on segments.segment = training_sizes.segment

)

select * from final
