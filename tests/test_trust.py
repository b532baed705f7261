"""Uploaded files are served only through views that check the owning object's jurisdiction, in every mode; a broken
extension stops start-up instead of vanishing from the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import Resolver404, resolve

from fupin.core.testing import make_household, make_user

PNG = b"\x89PNG\r\n\x1a\nsecret-photo-bytes"


@pytest.mark.parametrize("debug", [False, True])
def test_no_route_serves_uploaded_files_by_path(debug, settings):
    import importlib

    import config.urls

    with override_settings(DEBUG=debug):
        importlib.reload(config.urls)
        with pytest.raises(Resolver404):
            resolve("/files/dispatch/2016/03/附件.pdf", urlconf=config.urls)
    importlib.reload(config.urls)


@pytest.mark.django_db
def test_visit_attachment_and_evidence_only_within_jurisdiction(client, county):
    from fupin.assistance import services

    hh = make_household(county["va1"], grid=county["ga1"], head="甲附件", is_registered_poor=True, poverty_status="0")
    record, _ = services.record_create(actor="test", household=hh, occurred_on=dt.date.today(), content="走访",
                                       attachments=[SimpleUploadedFile("甲附件.png", PNG, "image/png")])
    attachment = record.attachments.get()
    owner = make_user("owner_a", "village_team", division=county["va1"])
    other = make_user("other_b", "village_team", division=county["vb1"])
    url = f"/assistance/attachments/{attachment.uuid}/"
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    page = client.get(f"/assistance/households/{hh.url_key}/").content.decode()
    assert url in page and "/files/" not in page
    client.force_login(other)
    assert client.get(url).status_code == 404


def test_a_broken_extension_fails_start_up():
    """No `except Exception` around registrations: a registration that cannot work raises when its hooks.py is
    imported (FupinAppConfig.ready), so the start and the tests fail (tests/test_extensions.py has the details)."""
    from fupin.core import extensions as ext

    with pytest.raises(ext.ExtensionError):
        ext.register(ext.FigureProvider("broken", compute=None, figures=[]))
    with pytest.raises(ext.ExtensionError):
        ext.register(("maps.popup_section", lambda household, user: None))
