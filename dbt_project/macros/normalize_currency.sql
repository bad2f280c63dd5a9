{#- Currency text from a cell or a header hint to an ISO 4217 code, or null when unknown.
    Accepts ISO codes and the usual symbols and words (`руб.`, `р.`, `₽`, `$`, `грн`, `€`). -#}
{% macro normalize_currency(text_expr) -%}
    case
        when upper(trim({{ text_expr }})) in (
            'RUB', 'USD', 'EUR', 'UAH', 'BYN', 'KZT', 'GBP', 'CNY', 'HKD', 'ZAR', 'BDT', 'PLN',
            'CHF', 'JPY', 'TRY', 'AED', 'INR', 'SEK', 'NOK', 'DKK', 'CZK', 'HUF', 'CAD', 'AUD',
            'UZS', 'GEL', 'AMD', 'AZN', 'KGS', 'MDL', 'IDR', 'VND', 'THB', 'MYR', 'SGD', 'KRW',
            'BRL', 'MXN', 'NGN', 'KES', 'EGP', 'SAR', 'ILS', 'RON', 'BGN', 'PKR', 'LKR', 'NPR',
            'NZD', 'PHP', 'TWD', 'ARS', 'CLP', 'COP', 'PEN', 'QAR', 'KWD', 'BHD', 'OMR', 'JOD',
            'MAD', 'TND', 'RSD', 'ISK', 'TJS', 'TMT', 'MNT'
        ) then upper(trim({{ text_expr }}))
        when lower(regexp_replace(trim({{ text_expr }}), '[.\s]', '', 'g')) in (
            'р', 'руб', 'рубль', 'рублей', '₽', 'rur', 'rub'
        ) then 'RUB'
        when lower(regexp_replace(trim({{ text_expr }}), '[.\s]', '', 'g')) in ('$', 'usd', 'долл', 'у.е', 'уе')
            then 'USD'
        when lower(regexp_replace(trim({{ text_expr }}), '[.\s]', '', 'g')) in ('€', 'евро') then 'EUR'
        when lower(regexp_replace(trim({{ text_expr }}), '[.\s]', '', 'g')) in ('грн', '₴') then 'UAH'
        when lower(regexp_replace(trim({{ text_expr }}), '[.\s]', '', 'g')) in ('белруб', 'бр') then 'BYN'
        when lower(regexp_replace(trim({{ text_expr }}), '[.\s]', '', 'g')) in ('тенге', '₸') then 'KZT'
        when trim({{ text_expr }}) = '£' then 'GBP'
    end
{%- endmacro %}
