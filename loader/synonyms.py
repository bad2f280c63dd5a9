"""Header synonyms per standard field, already normalised (see mapping.normalise_header).

Russian and English first, then the common European forms seen in real lists.
"""

FIELD_SYNONYMS: dict[str, list[str]] = {
    "supplier_sku": [
        "артикул", "арт", "код", "код товара", "код продукта", "артикул товара", "номер",
        "каталожный номер", "sku", "code", "product code", "item code", "item no", "item number",
        "item", "part number", "part no", "pn", "vendor code", "article", "article number", "ref",
        "reference", "artikel", "artikelnummer", "artikelnr", "referencia", "referencia articulo",
        "codigo", "référence", "code article", "codice",
    ],
    "name": [
        "наименование", "наименование товара", "название", "номенклатура", "товар", "продукт",
        "модель", "описание товара", "name", "product", "product name", "item name", "title",
        "description", "product description", "goods", "omschrijving", "bezeichnung",
        "benennung", "descripcion", "descripción", "modelo", "designation", "désignation",
        "libellé", "nome", "descrizione",
    ],
    "price": [
        "цена", "стоимость", "цена за единицу", "цена за шт", "прайс", "цена розн", "цена опт",
        "розница", "опт", "price", "unit price", "cost", "mrp", "retail price", "list price",
        "rrp", "msrp", "prijs", "preis", "precio", "pvp", "prix", "prezzo", "cena", "ціна",
    ],
    "currency": [
        "валюта", "вал", "currency", "cur", "curr", "валюта цены", "valuta", "währung", "moneda",
        "devise",
    ],
}

# Words in a header qualifier (`Цена, руб.`, `Price (HKD)`) or a cell that name a currency.
CURRENCY_WORDS: dict[str, str] = {
    "руб": "RUB", "рубль": "RUB", "рублей": "RUB", "р": "RUB", "₽": "RUB", "rub": "RUB",
    "rur": "RUB", "usd": "USD", "$": "USD", "долл": "USD", "eur": "EUR", "€": "EUR", "евро": "EUR",
    "uah": "UAH", "грн": "UAH", "₴": "UAH", "byn": "BYN", "бел руб": "BYN", "kzt": "KZT",
    "тенге": "KZT", "₸": "KZT", "hkd": "HKD", "gbp": "GBP", "£": "GBP", "cny": "CNY", "¥": "CNY",
    "zar": "ZAR", "bdt": "BDT", "৳": "BDT", "pln": "PLN", "zł": "PLN",
}

UNIT_WORDS: dict[str, str] = {
    "кг": "kg", "kg": "kg", "г": "g", "гр": "g", "g": "g", "шт": "pcs", "pcs": "pcs",
    "л": "l", "l": "l", "мл": "ml", "ml": "ml", "м": "m", "m": "m", "мм": "mm", "mm": "mm",
    "см": "cm", "cm": "cm", "мес": "month", "месяцев": "month",
}

VAT_WORDS = ("с ндс", "incl vat", "including vat", "vat incl", "с учетом ндс")
