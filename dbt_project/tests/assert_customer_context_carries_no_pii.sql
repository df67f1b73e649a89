-- The published customer context holds no PII or raw customer identifier: customers appear only as
-- customer_key. Fails with every column whose name looks like personal data or a raw customer id.
select
    mart_columns.table_name,
    mart_columns.column_name
from information_schema.columns as mart_columns
where
    mart_columns.table_schema = '{{ ref("dim_customer_context").schema }}'
    and mart_columns.table_name = 'dim_customer_context'
    and mart_columns.column_name
    ~ '(email|phone|name|ip_address|user_agent|anonymous_id|contact_id|user_id|customer_id|customer_no|golden_id|birth)'
