"""The demo store's products, stores and channels: a specialty café chain with an online shop.

Prices are integer kopecks (the seed program runs in RUB). Categories are the words the seed
program's earn rules use (``coffee`` earns double points).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    COFFEE = "coffee"
    TEA = "tea"
    PASTRY = "pastry"
    SANDWICHES = "sandwiches"
    BEANS = "beans"
    MERCHANDISE = "merchandise"
    GIFT = "gift"


class Channel(StrEnum):
    STORE = "store"
    ONLINE = "online"
    APP = "app"


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: Category
    price: int  # kopecks
    max_quantity: int  # the most of it one basket plausibly holds


@dataclass(frozen=True, slots=True)
class Store:
    code: str
    name: str
    city: str
    timezone: str


def _product(sku: str, name: str, category: Category, rubles: str, max_quantity: int) -> Product:
    whole, _, fraction = rubles.partition(".")
    return Product(sku, name, category, int(whole) * 100 + int(fraction or 0), max_quantity)


_C, _T, _P, _S = Category.COFFEE, Category.TEA, Category.PASTRY, Category.SANDWICHES
_B, _M, _G = Category.BEANS, Category.MERCHANDISE, Category.GIFT

PRODUCTS: tuple[Product, ...] = (
    _product("COF-ESP", "Эспрессо", _C, "150.00", 3),
    _product("COF-AME", "Американо", _C, "220.00", 3),
    _product("COF-CAP", "Капучино", _C, "290.00", 3),
    _product("COF-LAT", "Латте", _C, "320.00", 3),
    _product("COF-FLW", "Флэт уайт", _C, "310.00", 3),
    _product("COF-RAF", "Раф ванильный", _C, "350.00", 2),
    _product("COF-MOC", "Мокко", _C, "340.00", 2),
    _product("COF-CBR", "Колд брю", _C, "330.00", 2),
    _product("TEA-BLK", "Чай чёрный с чабрецом", _T, "220.00", 2),
    _product("TEA-SEN", "Сенча", _T, "250.00", 2),
    _product("TEA-IVN", "Иван-чай", _T, "240.00", 2),
    _product("TEA-CHA", "Масала чай латте", _T, "320.00", 2),
    _product("TEA-MAT", "Матча латте", _T, "380.00", 2),
    _product("PAS-CRO", "Круассан", _P, "190.00", 4),
    _product("PAS-ALM", "Миндальный круассан", _P, "260.00", 3),
    _product("PAS-CIN", "Синнабон", _P, "230.00", 3),
    _product("PAS-SYR", "Сырники со сметаной", _P, "350.00", 2),
    _product("PAS-MED", "Медовик", _P, "390.00", 2),
    _product("PAS-NAP", "Наполеон", _P, "370.00", 2),
    _product("PAS-PAC", "Пончик с розой", _P, "180.90", 4),
    _product("PAS-CHK", "Чизкейк Нью-Йорк", _P, "420.00", 2),
    _product("SAN-HAM", "Сэндвич с ветчиной и сыром", _S, "390.00", 2),
    _product("SAN-CHP", "Чиабатта с курицей и песто", _S, "450.00", 2),
    _product("SAN-SAL", "Бейгл с лососем", _S, "520.00", 2),
    _product("SAN-VEG", "Веган-ролл с хумусом", _S, "410.00", 2),
    _product("SAN-TUN", "Сэндвич с тунцом", _S, "430.00", 2),
    _product("BEA-ETH", "Эфиопия Иргачеффе, 250 г", _B, "1190.00", 3),
    _product("BEA-COL", "Колумбия Уила, 250 г", _B, "990.00", 3),
    _product("BEA-KEN", "Кения АА, 250 г", _B, "1390.00", 2),
    _product("BEA-DEC", "Декаф Колумбия, 250 г", _B, "1090.00", 2),
    _product("BEA-BRA", "Бразилия Сантос, 1 кг", _B, "2890.00", 2),
    _product("BEA-ESP", "Эспрессо-смесь «Патрон», 1 кг", _B, "3190.00", 2),
    _product("MER-MUG", "Керамическая кружка", _M, "890.00", 4),
    _product("MER-TOT", "Шоппер", _M, "690.00", 2),
    _product("MER-THE", "Термокружка", _M, "1490.00", 2),
    _product("MER-V60", "Воронка V60", _M, "1990.00", 1),
    _product("MER-FRP", "Френч-пресс", _M, "2490.00", 1),
    _product("MER-GRI", "Ручная кофемолка", _M, "5490.00", 1),
    _product("GFT-1000", "Подарочная карта 1000 ₽", _G, "1000.00", 3),
    _product("GFT-3000", "Подарочная карта 3000 ₽", _G, "3000.00", 2),
    _product("GFT-5000", "Подарочная карта 5000 ₽", _G, "5000.00", 2),
)

# How often a visit's basket draws from each category, before a customer's own tastes.
CATEGORY_WEIGHTS: dict[Category, float] = {
    Category.COFFEE: 0.40,
    Category.TEA: 0.10,
    Category.PASTRY: 0.22,
    Category.SANDWICHES: 0.13,
    Category.BEANS: 0.08,
    Category.MERCHANDISE: 0.04,
    Category.GIFT: 0.03,
}

STORES: tuple[Store, ...] = (
    Store("msk-tverskaya", "Тверская, 12", "Moscow", "Europe/Moscow"),
    Store("msk-patriki", "Патриаршие пруды", "Moscow", "Europe/Moscow"),
    Store("msk-kurskaya", "Атриум, Курская", "Moscow", "Europe/Moscow"),
    Store("waw-nowy-swiat", "Nowy Świat 22", "Warsaw", "Europe/Warsaw"),
    Store("waw-mokotow", "Galeria Mokotów", "Warsaw", "Europe/Warsaw"),
)

# Online orders below this total pay for delivery (kopecks).
FREE_SHIPPING_FROM = 300_000
SHIPPING_FEE = 29_900
