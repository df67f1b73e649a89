-- The audit of customer keys: one row per night and pair of keys between which identifiers moved.
--   merge   the previous key was retired that night: its identifiers joined the surviving customer_key
--   split   the previous key lives on elsewhere: these identifiers left it for customer_key (a new key, or
--           another customer's)
--   removed identifiers that left every customer (now a shared identifier, or gone from the sources)
-- cause says what new evidence arrived that night on the records of the identifiers that moved (the source
-- systems whose records were first seen then), else that MDM moved a key or a guard changed its mind.
-- frictionflow/publish.py counts the rows of a night (data_interval_start) to explain restatements. The table
-- is published with the other marts: keys appear only pseudonymised, as in dim_customer_context.
with

history as (

    select * from {{ ref('int_identity__customer_key_history') }}

),

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

moves as (

    select
        history.valid_from_date as business_date,
        history.previous_customer_key,
        history.customer_key,
        history.identifier_id
    from history
    where history.previous_customer_key is not null

    union all

    -- identifiers whose version closed without a successor: they left every customer
    select
        closed.valid_to_date as business_date,
        closed.customer_key as previous_customer_key,
        cast(null as text) as customer_key,
        closed.identifier_id
    from history as closed
    left join history as successor
        on closed.identifier_id = successor.identifier_id and closed.valid_to_date = successor.valid_from_date
    where closed.valid_to_date is not null and successor.identifier_id is null

),

alive_keys as (

    select distinct
        moves.business_date,
        history.customer_key
    from moves
    inner join history
        on
            moves.previous_customer_key = history.customer_key
            and moves.business_date >= history.valid_from_date
            and (history.valid_to_date is null or moves.business_date < history.valid_to_date)

),

evidence as (

    select
        moves.business_date,
        moves.previous_customer_key,
        moves.customer_key,
        string_agg(distinct identifiers.source_system, ',' order by identifiers.source_system) as source_systems
    from moves
    inner join identifiers
        on moves.identifier_id = identifiers.identifier_id
    where
        identifiers.first_seen_at >= (
            cast(moves.business_date as timestamp) at time zone '{{ var("reporting_time_zone") }}'
        )
    group by moves.business_date, moves.previous_customer_key, moves.customer_key

),

grouped as (

    select
        moves.business_date,
        moves.previous_customer_key,
        moves.customer_key,
        count(*) as identifier_count
    from moves
    group by moves.business_date, moves.previous_customer_key, moves.customer_key

),

classified as (

    select
        grouped.business_date,
        grouped.previous_customer_key,
        grouped.customer_key,
        grouped.identifier_count,
        case
            when grouped.customer_key is null then 'removed'
            when alive_keys.customer_key is null then 'merge'
            else 'split'
        end as change_type,
        case
            when evidence.source_systems is not null then 'new evidence from ' || evidence.source_systems
            when grouped.customer_key is null then 'identifiers excluded as shared or gone from the sources'
            else 'MDM moved or merged a key, or a guard changed'
        end as cause
    from grouped
    left join alive_keys
        on
            grouped.business_date = alive_keys.business_date
            and grouped.previous_customer_key = alive_keys.customer_key
    left join evidence
        on
            grouped.business_date = evidence.business_date
            and grouped.previous_customer_key = evidence.previous_customer_key
            and coalesce(grouped.customer_key, '') = coalesce(evidence.customer_key, '')

),

pseudonymised as (

    -- published like every mart: keys only as pseudonyms, the same as dim_customer_context's customer_key
    select
        classified.business_date,
        classified.change_type,
        {{ pseudonymise('classified.previous_customer_key') }} as previous_customer_key,
        case
            when classified.customer_key is not null then {{ pseudonymise('classified.customer_key') }}
        end as customer_key,
        classified.identifier_count,
        classified.cause
    from classified

),

final as (

    select
        {{ surrogate_key([
            'pseudonymised.business_date',
            'pseudonymised.previous_customer_key',
            'pseudonymised.customer_key',
        ]) }} as customer_key_change_id,
        pseudonymised.business_date,
        (
            cast(pseudonymised.business_date as timestamp) at time zone '{{ var("reporting_time_zone") }}'
        ) as data_interval_start,
        pseudonymised.change_type,
        pseudonymised.previous_customer_key,
        pseudonymised.customer_key,
        pseudonymised.identifier_count,
        pseudonymised.cause
    from pseudonymised

)

select * from final
