"""Chinese first: the interface language comes from the user's choice (the language cookie set by /i18n/setlang/),
else settings.LANGUAGE_CODE (zh-hans). The browser's Accept-Language is ignored, so a county office sees Chinese
whatever the browser was installed with, and English only when someone chooses it."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            lang = translation.get_supported_language_variant(lang) if lang else settings.LANGUAGE_CODE
        except LookupError:
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = translation.get_language()
