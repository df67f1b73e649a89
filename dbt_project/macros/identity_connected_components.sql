{#-
    Creates (or replaces) the function <schema>.identity_connected_components(edges_query text), which
    returns (node_id bigint, component_id bigint) for every node that has at least one edge; component_id
    is the smallest node_id of the node's connected component.

    edges_query: SQL text selecting two bigint columns (the two ends of an undirected edge).

    Why a function: a recursive CTE walks a big graph one hop per iteration and revisits every path;
    PostgreSQL has no connected-components operator. This is min-label propagation with hooking and
    pointer jumping (Shiloach-Vishkin style): every round hooks the root of each tree onto the smallest
    label across an edge, then pointer jumping flattens the trees, so long chains converge in a
    logarithmic number of rounds. Each round is a couple of hash joins over temporary tables (analysed,
    since autovacuum never analyses temporary tables). Labels only decrease and always name a node of the
    same component, so the loop ends when no edge joins two labels.

    Called from a model's pre_hook so the function exists before the model's select runs.
-#}
{% macro identity_create_connected_components_function(schema) -%}
create or replace function {{ schema }}.identity_connected_components(edges_query text)
returns table (node_id bigint, component_id bigint)
language plpgsql
as $function$
declare
    remaining bigint;
    moved boolean;
    rounds integer := 0;
begin
    -- Tables are rebuilt each step (create table as) rather than updated in place: a bulk update of most
    -- rows costs far more in PostgreSQL (new tuple versions) than a rewrite. Arcs whose two ends already
    -- share a label are dropped each round: they stay in the same tree for good.
    drop table if exists pg_temp.cc_arcs, pg_temp.cc_labels, pg_temp.cc_next;
    execute format(
        'create temporary table cc_arcs on commit drop as '
        || 'select e.a as src, e.b as dst from (%s) as e (a, b) where e.a <> e.b '
        || 'union all select e.b, e.a from (%s) as e (a, b) where e.a <> e.b',
        edges_query,
        edges_query
    );
    create temporary table cc_labels on commit drop as
        select cc_arcs.src as node, least(cc_arcs.src, min(cc_arcs.dst)) as label
        from pg_temp.cc_arcs
        group by cc_arcs.src;
    analyze pg_temp.cc_labels;
    loop
        rounds := rounds + 1;
        -- pointer jumping until every label is a root (label(label(n)) = label(n))
        loop
            create temporary table cc_next on commit drop as
                select l.node, p.label, p.label <> l.label as has_moved
                from pg_temp.cc_labels as l
                inner join pg_temp.cc_labels as p on l.label = p.node;
            select exists (select from pg_temp.cc_next where cc_next.has_moved) into moved;
            drop table pg_temp.cc_labels;
            alter table pg_temp.cc_next rename to cc_labels;
            exit when not moved;
        end loop;
        analyze pg_temp.cc_labels;
        -- the arcs still joining two trees, with the trees' labels
        create temporary table cc_next on commit drop as
            select a.src, a.dst, lu.label as src_label, lv.label as dst_label
            from pg_temp.cc_arcs as a
            inner join pg_temp.cc_labels as lu on a.src = lu.node
            inner join pg_temp.cc_labels as lv on a.dst = lv.node
            where lu.label <> lv.label;
        get diagnostics remaining = row_count;
        drop table pg_temp.cc_arcs;
        alter table pg_temp.cc_next rename to cc_arcs;
        exit when remaining = 0;
        analyze pg_temp.cc_arcs;
        -- hooking: each root takes the smallest label found across any arc of its tree
        create temporary table cc_next on commit drop as
            with hooks as (
                select cc_arcs.dst_label as root, min(cc_arcs.src_label) as new_label
                from pg_temp.cc_arcs
                where cc_arcs.src_label < cc_arcs.dst_label
                group by cc_arcs.dst_label
            )
            select l.node, coalesce(hooks.new_label, l.label) as label
            from pg_temp.cc_labels as l
            left join hooks on l.node = hooks.root;
        drop table pg_temp.cc_labels;
        alter table pg_temp.cc_next rename to cc_labels;
        analyze pg_temp.cc_labels;
    end loop;
    raise notice 'identity_connected_components: % round(s)', rounds;
    return query select cc_labels.node, cc_labels.label from pg_temp.cc_labels;
end;
$function$
{%- endmacro %}
