-- The identity graph's edges: two identifiers seen on the same source record, shared identifiers left out.
-- Each record links its identifiers as a star around its smallest node (n identifiers, n - 1 edges:
-- connectivity is all components need). node ids are the first 64 bits of the identifier_id (md5): stable,
-- and a collision among 10^8 identifiers has a probability below 10^-3.
with

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

shared_identifiers as (

    select * from {{ ref('int_identity__shared_identifiers') }}

),

usable as (

    select
        identifiers.record_id,
        identifiers.source_system,
        identifiers.identifier_id,
        cast(cast(('x' || substr(identifiers.identifier_id, 1, 16)) as bit(64)) as bigint) as node_id
    from identifiers
    left join shared_identifiers
        on identifiers.identifier_id = shared_identifiers.identifier_id
    where shared_identifiers.identifier_id is null

),

record_anchors as (

    select
        usable.record_id,
        min(usable.node_id) as anchor_node_id
    from usable
    group by usable.record_id

),

final as (

    select
        record_anchors.anchor_node_id as node_id_a,
        usable.node_id as node_id_b,
        count(*) as record_count,
        string_agg(distinct usable.source_system, ',' order by usable.source_system) as source_systems
    from usable
    inner join record_anchors
        on usable.record_id = record_anchors.record_id
    where usable.node_id <> record_anchors.anchor_node_id
    group by record_anchors.anchor_node_id, usable.node_id

)

select * from final
