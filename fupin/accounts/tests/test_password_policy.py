"""The password policy: length, kinds of characters, no reuse of recent passwords, a maximum age."""

import datetime as dt

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from fupin.accounts.models import PasswordHistory, User, UserSession
from fupin.core.models import AuditEvent
from fupin.core.testing import make_user

UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (test browser)"}


@pytest.mark.parametrize("password", ["short-1", "alllowercaseletters", "1234567890123", "ABCDEFGHIJKL"])
def test_weak_passwords_are_refused(db, password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_strong_password_passes(db):
    validate_password("Grid-worker-2016")


def test_recent_passwords_cannot_be_reused(county, settings):
    settings.FUPIN_PASSWORD_HISTORY = 3
    user = make_user("gw", "grid_worker", grid=county["ga1"], password="First-pass-2016")
    for pw in ("Second-pass-2016", "Third-pass-2016", "Fourth-pass-2016"):
        validate_password(pw, user)
        user.set_password(pw)
        user.save()
    assert PasswordHistory.objects.filter(user=user).count() == 3  # only the last three kept
    with pytest.raises(ValidationError):
        validate_password("Fourth-pass-2016", user)  # the current one
    with pytest.raises(ValidationError):
        validate_password("Second-pass-2016", user)
    validate_password("First-pass-2016", user)  # four changes ago: allowed again
    user.refresh_from_db()
    assert user.password_changed_at is not None


def test_an_expired_password_must_be_changed_first(client, county, settings):
    settings.FUPIN_PASSWORD_MAX_AGE_DAYS = 90
    user = make_user("gw", "grid_worker", grid=county["ga1"], password="Old-pass-2016")
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=91))
    client.post("/login/", {"username": "gw", "password": "Old-pass-2016"}, **UA)
    response = client.get("/households/", **UA)
    assert response.status_code == 302 and response["Location"] == "/account/password/?expired=1"
    assert client.get("/api/v1/households/", **UA).status_code == 403
    page = client.get("/account/password/?expired=1", **UA)
    assert "最长使用期限" in page.content.decode()
    weak = client.post("/account/password/", {"old_password": "Old-pass-2016", "new_password1": "abcdefghij",
                                              "new_password2": "abcdefghij"}, **UA)
    assert weak.status_code == 200 and "至少3类字符" in weak.content.decode()
    from django.test import Client

    other = Client()
    other.post("/login/", {"username": "gw", "password": "Old-pass-2016"}, **UA)
    done = client.post("/account/password/", {"old_password": "Old-pass-2016", "new_password1": "New-pass-2016x",
                                               "new_password2": "New-pass-2016x"}, **UA)
    assert done.status_code == 302
    assert client.get("/households/", **UA).status_code == 200
    assert UserSession.objects.filter(user=user, ended_at__isnull=True).count() == 1  # the other one ended
    assert other.get("/households/", **UA).status_code == 302
    assert AuditEvent.objects.filter(action="accounts.password.change", object_id=str(user.pk)).exists()
