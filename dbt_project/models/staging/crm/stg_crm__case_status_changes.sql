-- One row per status transition of a case, in version order: the status history the warehouse keeps.
-- Versions delivered twice (lookback) and versions that did not change the status (field edits,
-- soft deletes) are collapsed; a status change that happened and was undone between two nightly
-- pulls is invisible here (the case's reopen_count still counts reopens).
with

source as (

    select * from {{ source('crm', 'case') }}

),

versions as (

    select distinct on (case_id, system_modstamp)
        case_id,
        status,
        reopen_count,
        system_modstamp
    from source
    order by case_id asc, system_modstamp asc, _loaded_at desc, _record_number desc

),

compared as (

    select
        versions.*,
        lag(versions.status) over (
            partition by versions.case_id order by versions.system_modstamp
        ) as previous_status
    from versions

),

transitions as (

    select
        case_id,
        status,
        previous_status,
        reopen_count,
        system_modstamp as changed_at
    from compared
    where previous_status is null or previous_status != status

),

renamed as (

    select
        {{ surrogate_key(['case_id', 'changed_at']) }} as case_status_change_id,
        case_id,
        row_number() over (partition by case_id order by changed_at) as transition_number,
        previous_status,
        status,
        reopen_count,
        changed_at,
        lead(changed_at) over (partition by case_id order by changed_at) as next_changed_at
    from transitions

)

select * from renamed
