"""The French and Russian catalogues: complete, faithful to their placeholders, compiled,
and used by the pages when the browser asks for the language.

Expected wording is read from the catalogues (gettext under `override`), not repeated
here, so that a better translation does not break a test.
"""

import gettext as gettext_module
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.html import escape
from django.utils.translation import gettext, ngettext, override

from agreements import services

LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ["fr", "ru"]
NPLURALS = {"fr": 2, "ru": 3}
RUSSIAN_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)


# A small reader of .po files: enough for what makemessages writes ----------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def translations(self) -> list[str]:
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.msgstr_plural[i] for i in sorted(self.msgstr_plural)]


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}


def unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(0)), text[1:-1])


def read_po(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """The header as a dict, and the live (not obsolete) entries."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal entry, target
        if entry.line:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):  # obsolete: not compiled, not checked
            continue
        if line.startswith("#,"):
            if entry.line and target and target[0].startswith("msgstr"):
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert target, f"{path}:{number}: continuation without a keyword"
            value = unquote(line)
        else:
            if keyword in {"msgctxt", "msgid"} and target and target[0].startswith("msgstr"):
                finish()
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            target = ("msgstr_plural", int(match.group(1))) if match else (keyword, None)
            entry.line = entry.line or number
            value = unquote(rest)
            if target[0] == "msgstr_plural":
                entry.msgstr_plural[target[1]] = ""
            elif keyword in {"msgid_plural", "msgctxt"}:
                setattr(entry, keyword, "")
        name, index = target
        if name == "msgstr_plural":
            entry.msgstr_plural[index] += value
        else:
            setattr(entry, name, getattr(entry, name) + value)
    finish()

    header_entries = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(header_entries) == 1, f"{path}: no header entry"
    header_entry = header_entries[0]
    header = dict(line.split(": ", 1) for line in header_entry.msgstr.splitlines() if ": " in line)
    header["#flags"] = ",".join(sorted(header_entry.flags))
    return header, [e for e in entries if e is not header_entry]


def catalogue(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "django.po"


def where(lang: str, entry: Entry) -> str:
    path = catalogue(lang).relative_to(settings.BASE_DIR)
    context = f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
    return f"{path}:{entry.line}: {entry.msgid!r}{context}"


PLACEHOLDER = re.compile(
    r"%%"  # a literal percent sign: not a placeholder
    r"|%\([^)]+\)[#0 +\-]*\d*(?:\.\d+)?[a-zA-Z]"  # %(name)s
    r"|%[#0 +\-]*\d*(?:\.\d+)?[sdifrxXeEgGc]"  # %s, %d
    r"|\{[A-Za-z_][A-Za-z0-9_]*\}"  # {name}
)
TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def placeholders(text: str) -> set[str]:
    return {token for token in PLACEHOLDER.findall(text) if token != "%%"}


def tags(text: str) -> Counter:
    return Counter(TAG.findall(text))


# The catalogues ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalogue_exists_and_its_header_is_filled(lang):
    header, entries = read_po(catalogue(lang))
    assert entries, "makemessages has not been run"
    assert header["Language"] == lang
    assert "charset=UTF-8" in header["Content-Type"]
    assert "fuzzy" not in header["#flags"]
    if lang == "ru":
        assert header["Plural-Forms"] == RUSSIAN_PLURAL_FORMS
    else:
        assert header["Plural-Forms"].startswith(f"nplurals={NPLURALS[lang]};")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    _, entries = read_po(catalogue(lang))
    problems = []
    for entry in entries:
        if "fuzzy" in entry.flags:
            problems.append(f"{where(lang, entry)}: fuzzy")
        if entry.msgid_plural is not None and len(entry.msgstr_plural) != NPLURALS[lang]:
            problems.append(
                f"{where(lang, entry)}: {len(entry.msgstr_plural)} plural forms, "
                f"not {NPLURALS[lang]}"
            )
        if any(not text.strip() for text in entry.translations):
            problems.append(f"{where(lang, entry)}: not translated")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders_and_html_tags(lang):
    _, entries = read_po(catalogue(lang))
    problems = []
    for entry in entries:
        source = entry.msgid if entry.msgid_plural is None else entry.msgid_plural
        for text in entry.translations:
            if not text:
                continue  # reported by the completeness test
            if placeholders(text) != placeholders(source):
                problems.append(
                    f"{where(lang, entry)}: placeholders {sorted(placeholders(text))}, "
                    f"expected {sorted(placeholders(source))}"
                )
            if tags(text) != tags(source):
                problems.append(f"{where(lang, entry)}: HTML tags differ in {text!r}")
    assert not problems, "\n".join(problems)


def test_the_placeholder_reader_sees_every_kind_of_placeholder():
    assert placeholders("%(count)d of %s in {name}, 100%%") == {"%(count)d", "%s", "{name}"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalogue_matches_the_source(lang):
    """The .mo files are committed: they must say what the .po files say."""
    mo = catalogue(lang).with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run compilemessages"
    with mo.open("rb") as handle:
        compiled = gettext_module.GNUTranslations(handle)._catalog
    _, entries = read_po(catalogue(lang))
    stale = []
    for entry in entries:
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural is None:
            found = compiled.get(key)
            expected = entry.msgstr
        else:
            found = [compiled.get((key, i)) for i in range(len(entry.msgstr_plural))]
            expected = entry.translations
        if found != expected:
            stale.append(where(lang, entry))
    assert not stale, "compiled catalogue out of date (run compilemessages):\n" + "\n".join(stale)


def test_russian_counts_take_the_right_plural_form():
    _, entries = read_po(catalogue("ru"))
    entry = next(e for e in entries if e.msgid == "%(count)d new agreement")
    one, few, many = entry.translations
    with override("ru"):
        for count, form in [(1, one), (21, one), (2, few), (34, few), (5, many), (11, many)]:
            assert ngettext(entry.msgid, entry.msgid_plural, count) == form, count
            assert (form % {"count": count}).startswith(str(count))


# The pages in the reader's language -------------------------------------------------------


NAVIGATION = ["Dashboard", "Agreements", "Topics", "Timeline", "Search", "Subscriptions"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_dashboard_speaks_the_language_the_browser_asks_for(lang, record, stakeholder, login):
    services.change_status(record.clause, to="pending", by=record.editor)
    with override(lang):
        navigation = [gettext(label) for label in NAVIGATION]
        pending = gettext("Pending signature")
        heading = gettext("Where the negotiation stands")
    assert pending != "Pending signature" and heading != "Where the negotiation stands"

    response = login(stakeholder).get("/", headers={"Accept-Language": lang})

    assert response.status_code == 200
    assert response["Content-Language"] == lang
    content = response.content.decode()
    assert f'<html lang="{lang}">' in content
    nav = re.search(r'<nav aria-label="[^"]*">(.*?)</nav>', content, re.S).group(1)
    for english, translated in zip(NAVIGATION, navigation, strict=True):
        assert translated != english
        assert f">{escape(translated)}</a>" in nav, translated
        assert f">{english}</a>" not in nav
    assert f"<h1>{escape(heading)}</h1>" in content
    # The clause just moved to "pending": in the latest changes, as a badge.
    assert f'<span class="badge status-pending">{escape(pending)}</span>' in content
    assert ">Pending signature<" not in content


def test_english_stays_the_default(record, stakeholder, login):
    services.change_status(record.clause, to="pending", by=record.editor)
    response = login(stakeholder).get("/")
    content = response.content.decode()
    assert '<html lang="en">' in content
    assert '<span class="badge status-pending">Pending signature</span>' in content
    assert ">Dashboard</a>" in content
