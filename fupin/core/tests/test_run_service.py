"""core/pages.run_service: a form post's refusal becomes an error message, a success a success message."""

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory

from fupin.core.errors import ImportRefused, RowProblem, ServiceError
from fupin.core.pages import run_service


def _request():
    request = RequestFactory().post("/")
    request._messages = CookieStorage(request)
    return request


def _shown(request):
    return [(m.level, m.message) for m in messages.get_messages(request)]


def test_success_shows_the_text_or_the_function_of_the_result_and_returns_the_result():
    request = _request()
    assert run_service(request, lambda: 7, "saved") == 7
    assert run_service(request, lambda: 7, lambda n: f"{n} saved") == 7
    assert _shown(request) == [(messages.SUCCESS, "saved"), (messages.SUCCESS, "7 saved")]


def test_no_ok_message_shows_nothing_and_a_service_returning_nothing_gives_true():
    request = _request()
    assert run_service(request, lambda: None, None) is True
    assert _shown(request) == []


def test_a_refusal_is_an_error_message_and_none():
    request = _request()

    def refuse():
        raise ServiceError("not allowed")

    assert run_service(request, refuse, "saved") is None
    assert _shown(request) == [(messages.ERROR, "not allowed")]


def test_a_refused_file_shows_its_report():
    request = _request()
    refused = ImportRefused(problems=[RowProblem(3, "姓名", "", "必填")])

    def refuse():
        raise refused

    assert run_service(request, refuse, None) is None
    assert _shown(request) == [(messages.ERROR, refused.report(limit=50))]


def test_other_errors_are_not_swallowed():
    request = _request()

    def broken():
        raise ValueError("x")

    with pytest.raises(ValueError):
        run_service(request, broken, "saved")
    assert _shown(request) == []
