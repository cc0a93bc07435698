"""Plausible people for the demo store: names, e-mails, phones and birth dates per language.

Everything is drawn from the caller's :class:`numpy.random.Generator`, so a seed gives the same
people every time. E-mail addresses are transliterated from the name (ICAO-style for Russian,
Polish letters stripped of diacritics) and made unique with a number when a name repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from patron.demo.sampling import cumulative, pick
from patron.members.schemas import Language

# (male first names, female first names, surnames as (male form, female form))
_NAMES: dict[Language, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    Language.RU: (
        ("Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья",
         "Кирилл", "Михаил", "Никита", "Иван", "Егор", "Павел", "Роман", "Владимир"),
        ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Екатерина", "Татьяна", "Ирина",
         "Юлия", "Анастасия", "Дарья", "Полина", "Ксения", "Виктория", "Алёна", "Софья"),
        (("Иванов", "Иванова"), ("Смирнов", "Смирнова"), ("Кузнецов", "Кузнецова"),
         ("Попов", "Попова"), ("Васильев", "Васильева"), ("Петров", "Петрова"),
         ("Соколов", "Соколова"), ("Михайлов", "Михайлова"), ("Новиков", "Новикова"),
         ("Фёдоров", "Фёдорова"), ("Морозов", "Морозова"), ("Волков", "Волкова"),
         ("Алексеев", "Алексеева"), ("Лебедев", "Лебедева"), ("Семёнов", "Семёнова"),
         ("Егоров", "Егорова"), ("Козлов", "Козлова"), ("Орлов", "Орлова"),
         ("Белов", "Белова"), ("Жуков", "Жукова")),
    ),
    Language.PL: (
        ("Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Marcin", "Jakub", "Łukasz",
         "Kamil", "Mateusz"),
        ("Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Joanna", "Magdalena", "Zofia",
         "Aleksandra", "Natalia", "Julia"),
        (("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"),
         ("Wójcik", "Wójcik"), ("Kowalczyk", "Kowalczyk"), ("Kamiński", "Kamińska"),
         ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"),
         ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska")),
    ),
    Language.EN: (
        ("James", "Oliver", "Thomas", "Daniel", "Michael", "Samuel", "George", "William"),
        ("Emily", "Olivia", "Sophie", "Charlotte", "Jessica", "Hannah", "Grace", "Lucy"),
        (("Smith", "Smith"), ("Jones", "Jones"), ("Taylor", "Taylor"), ("Brown", "Brown"),
         ("Wilson", "Wilson"), ("Evans", "Evans"), ("Walker", "Walker"), ("Wright", "Wright"),
         ("Hughes", "Hughes"), ("Green", "Green")),
    ),
}  # fmt: skip

_DOMAINS: dict[Language, tuple[tuple[str, ...], tuple[float, ...]]] = {
    Language.RU: (("yandex.ru", "mail.ru", "gmail.com", "rambler.ru"), (0.42, 0.30, 0.22, 0.06)),
    Language.PL: (("wp.pl", "onet.pl", "gmail.com", "interia.pl"), (0.28, 0.22, 0.40, 0.10)),
    Language.EN: (("gmail.com", "outlook.com", "icloud.com"), (0.6, 0.25, 0.15)),
}

LANGUAGE_SHARES: dict[Language, float] = {Language.RU: 0.80, Language.PL: 0.13, Language.EN: 0.07}

_CYRILLIC = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
    strict=True,
))  # fmt: skip
_POLISH = dict(zip("ąćęłńóśźż", "acelnoszz", strict=True))


def transliterate(text: str) -> str:
    """Lowercase Latin letters for an e-mail address: "Фёдорова" -> "fedorova",
    "Łukasz" -> "lukasz"."""
    out: list[str] = []
    for char in text.lower():
        if char in _CYRILLIC:
            out.append(_CYRILLIC[char])
        elif char in _POLISH:
            out.append(_POLISH[char])
        elif char.isascii() and char.isalnum():
            out.append(char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str | None
    birth_date: date | None
    language: Language
    agrees_to_email: bool = False
    agrees_to_sms: bool = False


class PeopleFactory:
    """Draws people one by one; remembers e-mails already given out to keep them unique."""

    def __init__(self, rng: np.random.Generator, *, today: date) -> None:
        self.rng = rng
        self.today = today
        self.emails: set[str] = set()
        self.languages = tuple(LANGUAGE_SHARES)
        self.language_running = cumulative(list(LANGUAGE_SHARES.values()))

    def person(self) -> Person:
        rng = self.rng
        language = self.languages[pick(rng, self.language_running)]
        males, females, surnames = _NAMES[language]
        is_female = bool(rng.random() < 0.58)  # cafés skew female
        firsts = females if is_female else males
        first = firsts[int(rng.integers(len(firsts)))]
        last = surnames[int(rng.integers(len(surnames)))][1 if is_female else 0]
        return Person(
            first_name=first,
            last_name=last,
            email=self._email(first, last, language),
            phone=self._phone(language) if rng.random() < 0.85 else None,
            birth_date=self._birth_date() if rng.random() < 0.7 else None,
            language=language,
            agrees_to_email=bool(rng.random() < 0.62),
            agrees_to_sms=bool(rng.random() < 0.27),
        )

    def _email(self, first: str, last: str, language: Language) -> str:
        rng = self.rng
        first_latin, last_latin = transliterate(first), transliterate(last)
        style = int(rng.integers(4))
        local = (
            f"{first_latin}.{last_latin}",
            f"{first_latin[0]}.{last_latin}",
            f"{first_latin}{last_latin}",
            f"{last_latin}.{first_latin}",
        )[style]
        if rng.random() < 0.35:
            local += str(
                int(rng.integers(70, 100)) if rng.random() < 0.6 else int(rng.integers(1, 1000))
            )
        domains, weights = _DOMAINS[language]
        domain = domains[pick(rng, cumulative(weights))]
        email = f"{local}@{domain}"
        number = 2
        while email in self.emails:
            email = f"{local}{number}@{domain}"
            number += 1
        self.emails.add(email)
        return email

    def _phone(self, language: Language) -> str:
        digits = self.rng.integers(0, 10, size=9)
        body = "".join(str(int(d)) for d in digits)
        if language is Language.RU:
            return f"+7 9{body[:2]} {body[2:5]}-{body[5:7]}-{body[7:9]}"
        if language is Language.PL:
            return f"+48 5{body[:2]} {body[2:5]} {body[5:8]}"
        return f"+44 7{body[:3]} {body[3:9]}"

    def _birth_date(self) -> date:
        """Ages 18 to 80, most between 25 and 45."""
        age = min(max(float(self.rng.gamma(6.0, 6.0)) + 14.0, 18.0), 80.0)
        return self.today - timedelta(days=int(age * 365.25))
