{{
    config(
        pre_hook=[
            "{{ identity_create_connected_components_function(this.schema) }}",
            "set local work_mem = '{{ var('identity_work_mem', '256MB') }}'",
        ],
    )
}}
-- Every usable identifier (shared ones excluded) with the connected component of the identity graph it
-- falls in: one component = one customer tonight.
--
-- Components come from the plpgsql function identity_connected_components (label propagation with pointer
-- jumping, macro identity_create_connected_components_function), not a recursive CTE.
-- Size cap: a component of more than var identity_max_component_size identifiers is not one person but a
-- chain of links through something shared the guards did not catch; it is not merged. Its identifiers
-- fall back to MDM: those on a golden record go with that record (the smallest golden_id when several),
-- the others stay on their own. Such identifiers are flagged is_size_capped (the exclusion report).
-- component_id is the identifier_id of the component's anchor: its oldest identifier (first seen first,
-- then identifier_id), so it does not depend on the hash that numbers the nodes.
with

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

shared_identifiers as (

    select * from {{ ref('int_identity__shared_identifiers') }}

),

nodes as (

    select
        identifiers.identifier_id,
        min(identifiers.identifier_type) as identifier_type,
        min(identifiers.identifier_value) as identifier_value,
        min(identifiers.first_seen_at) as first_seen_at,
        max(identifiers.last_seen_at) as last_seen_at,
        count(*) as record_count
    from identifiers
    left join shared_identifiers
        on identifiers.identifier_id = shared_identifiers.identifier_id
    where shared_identifiers.identifier_id is null
    group by identifiers.identifier_id

),

labels as (

    select
        components.node_id,
        components.component_id as component_label
    from {{ this.schema }}.identity_connected_components(
        'select node_id_a, node_id_b from {{ ref("int_identity__edges") }}'
    ) as components

),

numbered_nodes as (

    select
        nodes.*,
        cast(cast(('x' || substr(nodes.identifier_id, 1, 16)) as bit(64)) as bigint) as node_id
    from nodes

),

labelled as (

    select
        numbered_nodes.*,
        coalesce(labels.component_label, numbered_nodes.node_id) as component_label
    from numbered_nodes
    left join labels
        on numbered_nodes.node_id = labels.node_id

),

label_sizes as (

    select
        labelled.component_label,
        count(*) as label_size
    from labelled
    group by labelled.component_label

),

over_size_identifiers as (

    select labelled.identifier_id
    from labelled
    inner join label_sizes
        on labelled.component_label = label_sizes.component_label
    where label_sizes.label_size > {{ var('identity_max_component_size', 100) }}

),

golden_fallback as (

    -- for identifiers of over-size components only: the golden record they sit on
    select
        identifiers.identifier_id,
        min(identifiers.source_record_key) as golden_id
    from identifiers
    inner join over_size_identifiers
        on identifiers.identifier_id = over_size_identifiers.identifier_id
    where identifiers.source_system = 'mdm'
    group by identifiers.identifier_id

),

grouped as (

    -- the group is the component's label, or for an over-size component the golden record's own node
    -- (the golden_id identifier's node) or the identifier's own node: node ids never collide across these
    select
        labelled.identifier_id,
        labelled.identifier_type,
        labelled.identifier_value,
        labelled.first_seen_at,
        labelled.last_seen_at,
        labelled.record_count,
        over_size_identifiers.identifier_id is not null as is_size_capped,
        case
            when over_size_identifiers.identifier_id is null then labelled.component_label
            else
                cast(cast(('x' || substr(
                    coalesce(
                        {{ surrogate_key(["'golden_id'", 'golden_fallback.golden_id']) }},
                        labelled.identifier_id
                    ), 1, 16
                )) as bit(64)) as bigint)
        end as group_id
    from labelled
    left join over_size_identifiers
        on labelled.identifier_id = over_size_identifiers.identifier_id
    left join golden_fallback
        on labelled.identifier_id = golden_fallback.identifier_id

),

anchored as (

    select
        grouped.*,
        first_value(grouped.identifier_id) over (
            partition by grouped.group_id
            order by grouped.first_seen_at asc nulls last, grouped.identifier_id asc
        ) as component_id,
        count(*) over (partition by grouped.group_id) as component_size
    from grouped

),

final as (

    select
        identifier_id,
        identifier_type,
        identifier_value,
        component_id,
        component_size,
        is_size_capped,
        first_seen_at,
        last_seen_at,
        record_count
    from anchored

)

select * from final
