"""One translation catalogue per language, and every message the UI uses translated in it.

The messages are those `makemessages` extracts from the templates and the Python gettext calls (run on a copy of
the source tree, so the checkout is not touched); they are compared with the compiled zh-Hans catalogue that Django
loads, so a message added without a translation, or a translation added to the .po but not compiled, fails here.
"""

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SOURCE = ROOT / "fupin"
LOCALE = SOURCE / "locale"
LANGUAGES = ("zh_Hans", "en")


def _entries(po: Path) -> list[tuple[str | None, str, str, set[str]]]:
    """(context, msgid, first msgstr, flags) of each entry of a .po or .pot file; the header is left out."""
    entries, cur, key = [], {}, None

    def flush():
        if cur.get("msgid"):
            msgstr = cur.get("msgstr", cur.get("msgstr[0]", ""))
            entries.append((cur.get("msgctxt"), cur["msgid"], msgstr, cur.get("flags", set())))

    for raw in po.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            cur, key = {}, None
        elif line.startswith("#,"):
            cur.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            cur[key] += _unquote(line)
        else:
            key, _sep, value = line.partition(" ")
            cur[key] = _unquote(value)
    flush()
    return entries


def _unquote(s: str) -> str:
    import ast

    return ast.literal_eval(s)


def _compiled(language: str) -> dict:
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as f:
        return gettext.GNUTranslations(f)._catalog


def _key(ctx: str | None, msgid: str) -> str:
    return f"{ctx}\x04{msgid}" if ctx else msgid


def _translated(catalog: dict, ctx: str | None, msgid: str) -> bool:
    key = _key(ctx, msgid)
    return bool(catalog.get(key) or catalog.get((key, 0)))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> list[tuple[str | None, str]]:
    """The messages `makemessages` finds in the source, from a copy of the tree."""
    copy = tmp_path_factory.mktemp("msgs") / "fupin"
    shutil.copytree(SOURCE, copy, symlinks=True,
                    ignore=shutil.ignore_patterns("static", "__pycache__", "*.pyc", "*.mo", "node_modules"))
    django_admin = Path(sys.executable).with_name("django-admin")
    done = subprocess.run([str(django_admin), "makemessages", "-l", "zh_Hans", "--keep-pot", "--no-obsolete"],
                          cwd=copy, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return [(ctx, msgid) for ctx, msgid, _s, _f in _entries(copy / "locale" / "django.pot")]


def test_one_catalogue_per_language():
    assert [Path(p) for p in settings.LOCALE_PATHS] == [LOCALE]
    app_catalogues = sorted(str(p.relative_to(SOURCE)) for p in SOURCE.glob("*/locale") if p != LOCALE)
    assert app_catalogues == [], "messages belong in fupin/locale, not in an app's own catalogue"
    for language in LANGUAGES:
        assert (LOCALE / language / "LC_MESSAGES" / "django.po").exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_gives_one_translation_per_message(language):
    seen: dict[tuple, str] = {}
    for ctx, msgid, msgstr, _flags in _entries(LOCALE / language / "LC_MESSAGES" / "django.po"):
        assert (ctx, msgid) not in seen, f"{msgid!r} (context {ctx!r}) twice: {seen[(ctx, msgid)]!r}, {msgstr!r}"
        seen[(ctx, msgid)] = msgstr


def test_every_ui_message_is_translated_in_chinese(extracted):
    assert len(extracted) > 1000  # positive control: the extraction found the UI's messages
    catalog = _compiled("zh_Hans")
    missing = [f"{ctx + ' | ' if ctx else ''}{msgid}" for ctx, msgid in extracted
               if not _translated(catalog, ctx, msgid)]
    assert missing == [], f"{len(missing)} messages without a compiled zh-Hans translation: {missing[:20]}"


def test_the_check_sees_a_missing_translation(extracted):
    """Positive control: a message that is not in the catalogue is reported."""
    catalog = _compiled("zh_Hans")
    assert not _translated(catalog, None, "A message nobody translated")
    assert _translated(catalog, "person", "name") and _translated(catalog, None, "name")


def test_compiled_catalogue_matches_the_po(tmp_path):
    """The .mo Django loads is the .po as it stands (fuzzy entries are not translations)."""
    for language in LANGUAGES:
        mo = tmp_path / f"{language}.mo"
        subprocess.run(["msgfmt", "-o", str(mo), str(LOCALE / language / "LC_MESSAGES" / "django.po")], check=True)
        with mo.open("rb") as f:
            fresh = gettext.GNUTranslations(f)._catalog
        assert fresh == _compiled(language), f"fupin/locale/{language}: run compilemessages"


def test_context_separates_a_person_name_from_a_thing_name():
    from django.utils import translation
    from django.utils.translation import gettext, pgettext

    from fupin.registry.models import Person

    with translation.override("zh-hans"):
        assert str(Person._meta.get_field("name").verbose_name) == "姓名"
        assert pgettext("person", "Name") == "姓名"
        assert gettext("name") == "名称"
