"""refusal_as: a service's refusal inside the block becomes the API's answer (status and JSON body); anything else
passes through untouched."""

from __future__ import annotations

import json

import pytest
from django.http import Http404
from django.test import RequestFactory
from ninja import Schema

from fupin.core.apierrors import Refusal, refusal_as
from fupin.core.errors import ConflictError, ServiceError


class _ErrorWithField(Schema):
    detail: str
    field: str | None = None


class _ErrorWithItems(Schema):
    detail: str
    errors: dict[str, str] | None = None


def _refused(exc: Exception, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as caught, refusal_as(*args, **kwargs):
        raise exc
    assert caught.value.__cause__ is exc
    return caught.value


def test_refusal_answers_the_status_and_the_message():
    r = _refused(ServiceError("户主不能迁出", field="person"), 422)
    assert (r.status, r.body) == (422, {"detail": "户主不能迁出"})


def test_refusal_with_field_names_the_field_or_null():
    r = _refused(ServiceError("身份证号码有误", field="id_number"), 400, field=True)
    assert (r.status, r.body) == (400, {"detail": "身份证号码有误", "field": "id_number"})
    r = _refused(ServiceError("没有字段"), 400, field=True)
    assert r.body == {"detail": "没有字段", "field": None}


def test_schema_shapes_the_body_as_a_returned_status_would():
    assert _refused(ServiceError("不行", field="x"), 400, _ErrorWithField).body == {"detail": "不行", "field": None}
    assert _refused(ServiceError("不行"), 400, _ErrorWithItems).body == {"detail": "不行", "errors": None}


def test_conflict_answers_its_own_status_when_given():
    assert _refused(ConflictError("已被他人修改"), 400, field=True, conflict=409).status == 409
    assert _refused(ConflictError("已被他人修改"), 400, field=True, conflict=409).body == {
        "detail": "已被他人修改", "field": None}
    assert _refused(ServiceError("不行"), 400, conflict=409).status == 400
    assert _refused(ConflictError("已被他人修改"), 400).status == 400


@pytest.mark.parametrize("exc", [ValueError("bug"), Http404("gone"), KeyError("k")])
def test_anything_else_passes_through_untouched(exc):
    with pytest.raises(type(exc)) as caught, refusal_as(400, field=True):
        raise exc
    assert caught.value is exc


def test_no_refusal_no_answer():
    with refusal_as(400):
        done = True
    assert done


def test_the_api_answers_a_refusal_with_its_status_and_body():
    from fupin.api.api import api

    request = RequestFactory().post("/api/v1/registry/")
    response = api.on_exception(request, Refusal(409, {"detail": "已被他人修改", "field": None}))
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.content) == {"detail": "已被他人修改", "field": None}
    assert "已被他人修改".encode() in response.content  # Chinese as is, like every other answer
