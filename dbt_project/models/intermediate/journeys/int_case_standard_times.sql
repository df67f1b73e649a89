-- One row per CRM case (soft-deleted ones included): when its standard resolution time runs out.
--
-- The standard (seed standard_resolution_times) is a number of business hours of a calendar
-- (int_business_calendar_hours): the clock runs only while the calendar is open, from created_at. The
-- due time is where the opening hours counted from creation add up to the standard; when they add up
-- exactly at a closing time, the case is due then, not at the next opening.
with

cases as (

    select * from {{ ref('stg_crm__cases') }}

),

standard_resolution_times as (

    select * from {{ ref('standard_resolution_times') }}

),

calendar_hours as (

    select * from {{ ref('int_business_calendar_hours') }}

),

case_standards as (

    select
        cases.case_id,
        cases.priority,
        cases.created_at,
        standard_resolution_times.calendar,
        standard_resolution_times.standard_resolution_hours
    from cases
    left join standard_resolution_times
        on cases.priority = standard_resolution_times.priority

),

-- The opening hours from creation on; no standard spans more than business_standard_max_days days.
counted_hours as (

    select
        case_standards.case_id,
        calendar_hours.opens_at,
        case_standards.standard_resolution_hours * 3600.0 as standard_seconds,
        greatest(calendar_hours.opens_at, case_standards.created_at) as counted_from,
        extract(epoch from calendar_hours.closes_at - greatest(calendar_hours.opens_at, case_standards.created_at))
            as open_seconds
    from case_standards
    inner join calendar_hours
        on
            case_standards.calendar = calendar_hours.calendar
            and case_standards.created_at < calendar_hours.closes_at
            and case_standards.created_at + {{ var('business_standard_max_days') }} * interval '1 day'
            > calendar_hours.opens_at

),

accumulated as (

    select
        counted_hours.*,
        sum(counted_hours.open_seconds) over (
            partition by counted_hours.case_id
            order by counted_hours.opens_at asc
            rows between unbounded preceding and current row
        ) as seconds_through
    from counted_hours

),

due as (

    select
        accumulated.case_id,
        min(
            accumulated.counted_from
            + (accumulated.standard_seconds - (accumulated.seconds_through - accumulated.open_seconds))
            * interval '1 second'
        ) as standard_due_at
    from accumulated
    where accumulated.seconds_through >= accumulated.standard_seconds
    group by 1

)

select
    case_standards.case_id,
    case_standards.priority,
    case_standards.calendar,
    case_standards.standard_resolution_hours,
    case_standards.created_at,
    due.standard_due_at
from case_standards
left join due
    on case_standards.case_id = due.case_id
