-- Every day kind of a business calendar opens before it closes (write midnight at the end as 24:00).
select
    calendar,
    day_kind,
    opens_at,
    closes_at
from {{ ref('business_calendars') }}
where closes_at <= opens_at
