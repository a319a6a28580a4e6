with

source as (

    select * from {{ ref('base_payments__balance_transactions') }}

    -- Rows that break a rule are in quarantine_payments__balance_transactions instead.
    where quarantine_reason is null

),

renamed as (

    select
        transaction_id,
        order_id,
        payout_id,
        transaction_type,
        status as transaction_status,
        currency as currency_code,
        amount_minor,
        fee_minor,
        net_minor,
        cast(created_at as date) as created_date,
        available_on as available_on_date,
        created_at,
        _source_file as source_file,
        _source_line as source_line,
        _dlt_load_id

    from source

)

select * from renamed
