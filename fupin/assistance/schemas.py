"""API schemas of the assistance app: fields listed explicitly, never a model's __all__."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib

from ninja import Schema


class ReasonOut(Schema):
    code: str
    colour: str
    text: str
    action: str


class LightOut(Schema):
    household: uuidlib.UUID
    poor_code: str | None
    head_name: str
    area_code: str
    colour: str
    days: int | None
    since: dt.date | None
    last_record_on: dt.date | None
    reasons: list[ReasonOut]
    cadre_id: int | None
    cadre_name: str | None
    unit_name: str | None
    lng: float | None
    lat: float | None
    computed_at: dt.datetime


class PointOut(Schema):
    household: uuidlib.UUID
    head_name: str
    colour: str
    days: int | None
    area_code: str
    lng: float | None
    lat: float | None


class RollupOut(Schema):
    key: str
    name: str
    green: int
    yellow: int
    red: int
    total: int


class RecordIn(Schema):
    uuid: uuidlib.UUID
    household: str  # the household's uuid or 户编号
    kind: str = "visit"
    occurred_on: dt.date
    content: str
    needs: str = ""
    lng: float | None = None
    lat: float | None = None
    gps_accuracy: float | None = None


class RecordOut(Schema):
    uuid: uuidlib.UUID
    household: uuidlib.UUID
    kind: str
    occurred_on: dt.date
    content: str
    needs: str
    cadre_name: str | None
    recorded_by: str | None
    lng: float | None
    lat: float | None
    source: str
    created_at: dt.datetime
    light: str | None


class ErrandIn(Schema):
    uuid: uuidlib.UUID
    household: str
    matter: str
    office: str = ""
    for_name: str = ""
    opened_on: dt.date | None = None


class ErrandCloseIn(Schema):
    status: str
    result: str
    closed_on: dt.date | None = None


class ErrandOut(Schema):
    uuid: uuidlib.UUID
    household: uuidlib.UUID
    matter: str
    office: str
    for_name: str
    status: str
    result: str
    opened_on: dt.date
    closed_on: dt.date | None


class MeasureOut(Schema):
    kind: str
    title: str
    responsible_name: str
    target_date: dt.date | None
    status: str


class ReceiptOut(Schema):
    policy: str
    received_on: dt.date
    amount: float | None


class HouseholdAssistanceOut(Schema):
    household: uuidlib.UUID
    light: LightOut | None
    cadre_name: str | None
    cadre_phone: str | None
    unit_name: str | None
    pairing_since: dt.date | None
    measures: list[MeasureOut]
    receipts: list[ReceiptOut]
    recent_records: list[RecordOut]
