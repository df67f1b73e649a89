{#-
    CTEs (ending with `stuck_risk_scored`) that learn stuck risk from labelled examples and score others:
    a naive Bayes model on categorical features with empirical-Bayes smoothing.

    Per journey type, base = (stuck + 1) / (examples + 2); per feature, rate = (stuck with it + w * base) /
    (examples with it + w), w = var stuck_risk_prior_weight (a feature seen rarely stays near the base).
    A journey's log-odds = logit(base) + the sum of its features' lifts, lift = logit(rate) - logit(base)
    (a feature never seen in training lifts nothing). Reasons: its two features with the largest positive lift.

    `observations`: a relation shaped like int_stuck_risk_observations (one row per journey x feature).
    `train_where` / `score_where`: SQL conditions on it choosing the training examples and the journeys to score.
-#}
{% macro stuck_risk_scores(observations, train_where, score_where) -%}
stuck_risk_training as (

    select * from {{ observations }}
    where is_stuck is not null and ({{ train_where }})

),

stuck_risk_base_rates as (

    select
        stuck_risk_training.journey_type,
        (count(distinct stuck_risk_training.journey_id) filter (where stuck_risk_training.is_stuck) + 1.0)
        / (count(distinct stuck_risk_training.journey_id) + 2.0) as base_rate
    from stuck_risk_training
    group by 1

),

stuck_risk_feature_lifts as (

    select
        stuck_risk_training.journey_type,
        stuck_risk_training.feature,
        ln(
            ((count(*) filter (where stuck_risk_training.is_stuck)) + {{ var('stuck_risk_prior_weight') }} * max(stuck_risk_base_rates.base_rate))
            / (count(*) filter (where not stuck_risk_training.is_stuck) + {{ var('stuck_risk_prior_weight') }} * (1 - max(stuck_risk_base_rates.base_rate)))
        )
        - ln(max(stuck_risk_base_rates.base_rate) / (1 - max(stuck_risk_base_rates.base_rate))) as lift
    from stuck_risk_training
    inner join stuck_risk_base_rates
        on stuck_risk_training.journey_type = stuck_risk_base_rates.journey_type
    group by 1, 2

),

stuck_risk_scoring as (

    select
        {{ observations }}.journey_id,
        {{ observations }}.journey_type,
        {{ observations }}.feature,
        coalesce(stuck_risk_feature_lifts.lift, 0) as lift
    from {{ observations }}
    left join stuck_risk_feature_lifts
        on
            {{ observations }}.journey_type = stuck_risk_feature_lifts.journey_type
            and {{ observations }}.feature = stuck_risk_feature_lifts.feature
    where {{ score_where }}

),

stuck_risk_reasons as (

    select
        ranked.journey_id,
        string_agg(ranked.feature, '; ' order by ranked.lift desc, ranked.feature asc) as reasons
    from (
        select
            stuck_risk_scoring.*,
            row_number() over (
                partition by stuck_risk_scoring.journey_id
                order by stuck_risk_scoring.lift desc, stuck_risk_scoring.feature asc
            ) as reason_rank
        from stuck_risk_scoring
        where stuck_risk_scoring.lift > 0
    ) as ranked
    where ranked.reason_rank <= 2
    group by 1

),

stuck_risk_scored as (

    select
        stuck_risk_scoring.journey_id,
        stuck_risk_scoring.journey_type,
        max(stuck_risk_base_rates.base_rate) as base_rate,
        1 / (
            1 + exp(
                -(
                    ln(max(stuck_risk_base_rates.base_rate) / (1 - max(stuck_risk_base_rates.base_rate)))
                    + sum(stuck_risk_scoring.lift)
                )
            )
        ) as stuck_risk,
        max(stuck_risk_reasons.reasons) as reasons
    from stuck_risk_scoring
    -- a journey type with no training example has no model: its journeys are not scored
    inner join stuck_risk_base_rates
        on stuck_risk_scoring.journey_type = stuck_risk_base_rates.journey_type
    left join stuck_risk_reasons
        on stuck_risk_scoring.journey_id = stuck_risk_reasons.journey_id
    group by 1, 2

)
{%- endmacro %}
