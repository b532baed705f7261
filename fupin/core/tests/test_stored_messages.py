"""Messages a service stores for later readers (fupin/core/i18n.py): stored by id and parameters, shown in the
reader's language; text stored before shows as it is. And the language's list separator."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.translation import gettext_noop

from fupin.core import uploads
from fupin.core.errors import ImportRefused
from fupin.core.i18n import join_list, shown, stored
from fupin.core.models import Job
from fupin.core.services import MAX_JOB_ATTEMPTS, job_recover_interrupted
from fupin.core.testing import make_user


def test_a_stored_message_is_shown_in_the_readers_language():
    text = stored(gettext_noop("Reported by the household: %(detail)s"), detail="房屋受灾")
    assert text == 'i18n:["Reported by the household: %(detail)s",{"detail":"房屋受灾"}]'
    assert shown(text, "zh-hans") == "农户自主申报:房屋受灾"
    assert shown(text, "en") == "Reported by the household: 房屋受灾"
    with translation.override("en"):
        assert shown(text) == "Reported by the household: 房屋受灾"


def test_a_parameter_may_be_a_stored_message_and_old_text_shows_as_it_is():
    text = stored(gettext_noop("%(reason)s, subsidy stopped"), reason=stored(gettext_noop("Loan overdue")))
    assert shown(text, "zh-hans") == "贷款逾期,停止贴息" and shown(text, "en") == "Loan overdue, subsidy stopped"
    for old in ("贷款逾期,停止贴息", "", "i18n:not json"):
        assert shown(old, "en") == old
    assert shown(None) == ""


def test_a_long_parameter_is_shortened_to_fit_the_column():
    text = stored(gettext_noop("Reported by the household: %(detail)s"), detail="灾" * 400, max_length=300)
    assert len(text) <= 300 and shown(text, "zh-hans").startswith("农户自主申报:灾灾") and text.endswith('…"}]')
    with pytest.raises(ValueError, match="does not fit"):
        stored(gettext_noop("Loan overdue"), max_length=10)


def test_the_list_separator_follows_the_language():
    with translation.override("zh-hans"):
        assert join_list([".xlsx", ".csv"]) == ".xlsx、.csv"
    with translation.override("en"):
        assert join_list([".xlsx", ".csv"]) == ".xlsx, .csv"


def test_the_english_upload_refusal_lists_the_types_with_a_comma(tmp_path):
    with translation.override("en"), pytest.raises(ImportRefused) as exc:
        uploads.save_upload(SimpleUploadedFile("a.exe", b"MZ"), folder=tmp_path)
    message = exc.value.problems[0].problem
    assert ".xlsx, .csv" in message and "、" not in message
    with translation.override("zh-hans"), pytest.raises(ImportRefused) as exc:
        uploads.save_upload(SimpleUploadedFile("a.exe", b"MZ"), folder=tmp_path)
    assert ".xlsx、.csv" in exc.value.problems[0].problem


@pytest.mark.django_db
def test_an_interrupted_job_stores_its_message_by_id_and_each_reader_sees_their_language(client, county):
    me = make_user("me", "town_staff", division=county["town_a"])
    again = Job.objects.create(kind="test", title="导入户籍数据", actor=me, status=Job.Status.RUNNING)
    stopped = Job.objects.create(kind="test", title="导入户籍数据", actor=me, status=Job.Status.RUNNING,
                                 params={"_attempts": MAX_JOB_ATTEMPTS})
    bystander = Job.objects.create(kind="test", title="导入户籍数据", actor=me, status=Job.Status.SUCCEEDED,
                                   message="已完成")
    assert job_recover_interrupted() == {"requeued": 1, "failed": 1}
    again.refresh_from_db()
    stopped.refresh_from_db()
    assert again.status == Job.Status.QUEUED
    assert again.message == 'i18n:["The job was queued again after a service interruption"]'
    assert stopped.status == Job.Status.FAILED
    assert stopped.message == ('i18n:["The job was interrupted %(attempts)s times and has been stopped: check the '
                               'file or contact the administrator",{"attempts":3}]')
    assert Job.objects.get(pk=bystander.pk).message == "已完成"
    client.force_login(me)
    zh = client.get(f"/jobs/{stopped.uuid}/").content.decode()
    assert "任务被中断3次,已停止,请检查文件或联系管理员" in zh and "i18n:" not in zh
    assert "任务因服务中断已重新排队" in client.get("/jobs/").content.decode()
    assert "任务因服务中断已重新排队" in client.get(f"/api/v1/jobs/{again.uuid}").json()["message"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = client.get(f"/jobs/{stopped.uuid}/").content.decode()
    assert "The job was interrupted 3 times and has been stopped" in en and "任务被中断" not in en
    assert "The job was queued again after a service interruption" in client.get("/jobs/").content.decode()


def test_a_translation_that_names_other_parameters_shows_the_message_in_its_own_words(monkeypatch):
    """A catalogue entry with a wrong placeholder used to be shown with its %(...)s left in, parameters lost."""
    from fupin.core import i18n

    # a plain string, not gettext_noop: a test's message must not land in the shipped catalogue
    attempt = "Attempt %(n)s"
    monkeypatch.setattr(i18n, "gettext", lambda msgid: "第%(other)s次")
    assert shown(stored(attempt, n=3)) == "Attempt 3"
    monkeypatch.setattr(i18n, "gettext", lambda msgid: "第%(n)s次")  # control: a good translation is used
    assert shown(stored(attempt, n=3)) == "第3次"
