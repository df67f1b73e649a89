-- One row per business calendar and local day it is open: its opening hours as two instants.
--
-- A day's hours come from the seed business_calendars: the row of its day of the week, or the
-- bank_holiday row on a bank holiday of the calendar's region (seed bank_holidays); a day kind with no
-- row is closed. Opening and closing are local times turned into instants in the calendar's time zone,
-- so a day with a clock change keeps its local hours (08:00 to 20:00 is 12 hours either side of it) and
-- a round-the-clock day is 23 or 25 hours long. The days span the whole years the bank-holiday list
-- covers: a case outside them gets no standard due time, which a test on int_case_standard_times reports.
with

business_calendars as (

    select * from {{ ref('business_calendars') }}

),

bank_holidays as (

    select * from {{ ref('bank_holidays') }}

),

calendar_regions as (

    select distinct
        business_calendars.calendar,
        business_calendars.time_zone,
        business_calendars.bank_holiday_region
    from business_calendars

),

covered_years as (

    select
        bank_holidays.region,
        min(extract(year from bank_holidays.holiday_date))::int as first_year,
        max(extract(year from bank_holidays.holiday_date))::int as last_year
    from bank_holidays
    group by 1

),

calendar_days as (

    select
        calendar_regions.calendar,
        calendar_regions.time_zone,
        calendar_regions.bank_holiday_region,
        covered_day::date as local_date
    from calendar_regions
    inner join covered_years
        on calendar_regions.bank_holiday_region = covered_years.region
    cross join lateral generate_series(
        make_date(covered_years.first_year, 1, 1),
        make_date(covered_years.last_year, 12, 31),
        interval '1 day'
    ) as covered_day

),

classified_days as (

    select
        calendar_days.*,
        bank_holidays.holiday_name,
        case
            when bank_holidays.holiday_date is not null then 'bank_holiday'
            -- isodow 1 = Monday; day names without to_char, whose output follows the server's locale
            else (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])[
                extract(isodow from calendar_days.local_date)::int
            ]
        end as day_kind
    from calendar_days
    left join bank_holidays
        on
            calendar_days.bank_holiday_region = bank_holidays.region
            and calendar_days.local_date = bank_holidays.holiday_date

)

select
    classified_days.calendar,
    classified_days.local_date,
    classified_days.day_kind,
    classified_days.holiday_name,
    (classified_days.local_date + business_calendars.opens_at) at time zone classified_days.time_zone as opens_at,
    (classified_days.local_date + business_calendars.closes_at) at time zone classified_days.time_zone as closes_at
from classified_days
inner join business_calendars
    on
        classified_days.calendar = business_calendars.calendar
        and classified_days.day_kind = business_calendars.day_kind
