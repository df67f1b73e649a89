-- A journey type split by inactivity needs a positive gap and a goal event, or its journeys never end.
select
    journey_type,
    inactivity_minutes,
    goal_event_name
from {{ ref('journey_type_rules') }}
where
    delimited_by = 'inactivity'
    and (inactivity_minutes is null or inactivity_minutes <= 0 or goal_event_name is null)
