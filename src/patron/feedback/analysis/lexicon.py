"""Hand-written lexicons: topic cue words and flag phrases, per language.

Entries are written as ordinary words; `lexicons.py` lemmatises them with the same lemmatiser
as the texts, so one entry covers every inflected form ("доставка" matches "доставкой").
"""

from __future__ import annotations

from patron.feedback.analysis.result import Language, Topic

TOPIC_WORDS: dict[Topic, dict[Language, str]] = {
    Topic.DELIVERY: {
        Language.RU: "доставка доставить доставлять курьер привезти привозить посылка "
        "отслеживание трек самовывоз водитель коробка упаковка пакет отправка"
        " довезти везти",
        Language.PL: "dostawa dostarczyć dostarczenie kurier przywieźć paczka przesyłka "
        "paczkomat śledzenie kierowca karton opakowanie wysyłka dowóz dowozić doręczyć",
        Language.EN: "delivery deliver delivered courier driver parcel package tracking "
        "shipping shipment packaging box doorstep dispatch arrive arrived van",
    },
    Topic.STAFF: {
        Language.RU: "кассир кассирша продавец консультант официант официантка бариста "
        "персонал сотрудник сотрудница менеджер охранник администратор мастер "
        "кладовщик хамство нахамить грубый грубо вежливый вежливо улыбаться приветливый",
        Language.PL: "kasjer kasjerka sprzedawca sprzedawczyni doradca kelner kelnerka "
        "barista personel pracownik obsługa kierownik ochroniarz mechanik magazynier "
        "chamski chamstwo niemiły uprzejmy miły opryskliwy uśmiechnięty",
        Language.EN: "cashier assistant waiter waitress barista staff employee manager "
        "security guard team mechanic advisor rude polite friendly helpful attitude"
        " condescending",
    },
    Topic.PRICE: {
        Language.RU: "цена ценник дорого дорогой дешево дешевый подорожать стоимость "
        "стоить скидка акция переплачивать переплатить обсчитать рубль",
        Language.PL: "cena ceny drogo drogi tanio tani zdrożeć kosztować koszt promocja "
        "rabat zniżka przepłacać przepłacić złoty",
        Language.EN: "price prices pricey expensive cheap cheaper overpriced cost costs "
        "discount deal sale overcharged value",
    },
    Topic.QUALITY: {
        Language.RU: "качество вкус вкусный невкусный свежий черствый испорченный "
        "прокисший брак бракованный подделка оригинал развалиться сломаться кофе "
        "выпечка порция",
        Language.PL: "jakość smak smaczny pyszny świeży czerstwy zepsuty kwaśny wada "
        "wadliwy podróbka oryginał rozpaść zepsuć kawa wypiek porcja",
        Language.EN: "quality taste tasty delicious fresh stale sour faulty defective "
        "fake genuine broke broken flavour coffee pastry portion",
    },
    Topic.APP: {
        Language.RU: "приложение сайт вылетать глючить глюк обновление войти вход "
        "пароль личный кабинет корзина поиск уведомление",
        Language.PL: "aplikacja apka strona wysypywać zawieszać aktualizacja zalogować "
        "logowanie hasło koszyk wyszukiwarka wyszukiwanie powiadomienie",
        Language.EN: "app website site crash crashes buggy update login log password "
        "basket search notification notifications checkout",
    },
    Topic.PAYMENT: {
        Language.RU: "оплата оплатить платеж списать карта терминал наличные сбп "
        "подписка сдача чек банк",
        Language.PL: "płatność zapłacić opłata pobrać karta terminal gotówka blik "
        "subskrypcja reszta bank raty",
        Language.EN: "payment pay paid charged charge card contactless cash subscription "
        "change bank instalments paypal",
    },
    Topic.CLEANLINESS: {
        Language.RU: "чистый чисто грязный грязно грязь пыль мусор туалет убирать "
        "уборка липкий муха запах пахнуть",
        Language.PL: "czysty czysto brudny brudno brud kurz śmieci toaleta sprzątać "
        "sprzątanie lepki mucha zapach śmierdzieć czystość",
        Language.EN: "clean cleanliness dirty filthy dust litter toilet toilets sticky "
        "fly smell smelled spotless bins",
    },
    Topic.WAITING_TIME: {
        Language.RU: "очередь ждать ожидание долго касса минута час быстро запись горячий линия",
        Language.PL: "kolejka czekać czekanie długo kasa minuta godzina szybko infolinia umówić",
        Language.EN: "queue queued wait waited waiting slow quickly minute minutes hour "
        "hold till tills booking",
    },
    Topic.PRODUCT_AVAILABILITY: {
        Language.RU: "наличие ассортимент выбор размер склад закончиться поставка "
        "отсутствовать меню",
        Language.PL: "dostępny dostępność asortyment wybór rozmiar magazyn stan brak oferta menu",
        Language.EN: "stock range selection choice size warehouse available availability menu",
    },
    Topic.LOYALTY_PROGRAM: {
        Language.RU: "балл баллы бонус бонусы кэшбэк лояльность программа карта "
        "постоянный клиент подарок скидочный",
        Language.PL: "punkt punkty bonus cashback lojalnościowy program karta stały klient prezent",
        Language.EN: "points point loyalty rewards reward cashback scheme card tier "
        "bonus membership",
    },
    Topic.RETURNS: {
        Language.RU: "возврат вернуть обмен обменять гарантия гарантийный заявление",
        Language.PL: "zwrot zwrócić wymiana wymienić gwarancja reklamacja zwrotny",
        Language.EN: "return returned returns refund refunded exchange warranty",
    },
}
"""Cue words per topic. A word may cue several topics (a card pays and earns points)."""

FLAG_PHRASES: dict[str, dict[Language, tuple[str, ...]]] = {
    "money_lost": {
        Language.RU: (
            "списать дважды",
            "деньги не вернуть",
            "деньги не прийти",
            "деньги пропасть",
            "деньги уйти",
            "деньги списаться",
            "обсчитать",
            "потерять деньги",
            "потерять # тысяч",
            "мошенничество",
            "сдача меньше",
            "вернуть не полностью",
            "снять деньги",
            "удержать стоимость",
            "не хватать # руб",
            "деньги на ветер",
        ),
        Language.PL: (
            "pobrać dwa raz",
            "pieniądze nie oddać",
            "pieniądze nie zwrócić",
            "pieniędzy nie oddali",
            "pieniędzy dalej brak",
            "pieniądze przepaść",
            "pieniądze zejść",
            "zejść z karty",
            "oszukać",
            "stracić # zł",
            "stracić pieniądze",
            "oszustwo",
            "wydać za mało",
            "zwrot nie w całości",
            "potrącić koszt",
            "pieniądze wyrzucone",
        ),
        Language.EN: (
            "charged twice",
            "double charged",
            "overcharged",
            "short-changed",
            "no refund",
            "money back",
            "money vanished",
            "money left account",
            "lost money",
            "lost #",
            "took from card",
            "fraud",
            "scam",
            "missing #",
            "deducted from refund",
            "waste of money",
        ),
    },
    "churn_threat": {
        Language.RU: (
            "больше не прийти",
            "больше не буду",
            "ни ногой",
            "уйти к конкурент",
            "ухожу к конкурентам",
            "последний раз",
            "перейти в другой",
            "никогда больше",
            "больше не возьму",
            "больше ничего не буду",
            "больше не заказать",
            "больше не заказывать",
            "удалить приложение",
            "отказаться от карты",
        ),
        Language.PL: (
            "więcej nie przyjść",
            "nigdy więcej",
            "ostatni raz",
            "przejść do konkurencji",
            "przechodzić do konkurencji",
            "zmienić sklep",
            "więcej nie kupić",
            "więcej tu nie",
            "więcej nic nie",
            "więcej nie zamówić",
            "usunąć aplikację",
            "zrezygnować z karty",
        ),
        Language.EN: (
            "never setting foot",
            "never again",
            "not be back",
            "will not be back",
            "last time",
            "switching to competitor",
            "take my business elsewhere",
            "will not buy again",
            "not eating there again",
            "never ordering again",
            "delete the app",
            "cancel my card",
            "close my account",
            "go elsewhere",
        ),
    },
    "rudeness": {
        Language.RU: (
            "нахамить",
            "хамство",
            "хамить",
            "грубый",
            "грубо",
            "грубить",
            "наорать",
            "послать",
            "швырять",
            "швырнуть",
            "сквозь зубы",
            "закатывать глаза",
            "унизительно",
        ),
        Language.PL: (
            "chamski",
            "chamstwo",
            "niemiły",
            "niemiła",
            "opryskliwy",
            "nakrzyczeć",
            "odburknąć",
            "burknąć",
            "rzucić słuchawką",
            "rzucić karton",
            "rzucać resztą",
            "przewracać oczami",
            "upokarzające",
        ),
        Language.EN: (
            "rude",
            "rudely",
            "yelled",
            "shouted",
            "impolite",
            "hung up on me",
            "rolled his eyes",
            "rolled her eyes",
            "threw",
            "condescending",
            "attitude",
            "humiliating",
            "disrespectful",
        ),
    },
}
"""Phrases whose lemmas, found close together in any order, raise a flag ("#": any number)."""

LABEL_CUES: dict[str, dict[Language, str]] = {
    "negative": {
        Language.RU: "ужасный ужасно плохо плохой отвратительно отвратительный хамство нахамить "
        "грубый разочарован разочарование опоздать опаздывать холодный жаловаться кошмар "
        "позор обман невозможно никогда худший испорченный сломанный грязный долго дорого "
        "бред издевательство недоволен",
        Language.PL: "okropny okropnie źle zły fatalny fatalnie chamstwo niemiły rozczarowany "
        "rozczarowanie spóźnić spóźniony zimny skarga koszmar wstyd oszustwo nigdy najgorszy "
        "zepsuty brudny długo drogo absurd porażka niezadowolony kpina",
        Language.EN: "terrible awful bad worst rude disappointed disappointing late cold "
        "complaint nightmare shame scam never broken dirty filthy slow overpriced ridiculous "
        "unacceptable poor useless joke disgusting",
    },
    "positive": {
        Language.RU: "спасибо отлично отличный супер прекрасный замечательный вкусный быстро "
        "вежливый приятный рекомендую доволен довольный лучший молодец класс удобно удобный "
        "благодарность",
        Language.PL: "dziękuję dzięki świetny świetnie super wspaniały pyszny szybko uprzejmy "
        "miły polecam zadowolony najlepszy brawo wygodny wygodnie rewelacja",
        Language.EN: "thanks thank great excellent amazing lovely delicious quick quickly "
        "polite friendly recommend happy best love perfect handy brilliant awesome fab",
    },
    "suggestion": {
        Language.RU: "добавьте сделайте предлагаю хотелось было бы хорошо неплохо можно "
        "поставьте верните привозите откройте пусть стоит советую",
        Language.PL: "dodajcie zróbcie proponuję chciałbym chciałabym byłoby fajnie dobrze "
        "przydałby przydałoby postawcie przywróćcie otwórzcie niech warto radzę",
        Language.EN: "add please suggest would nice could should maybe bring introduce let "
        "love consider",
    },
}
"""Words that lean a text towards a label; their counts are extra classifier features."""
