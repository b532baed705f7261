import pytest


@pytest.fixture
def forms(db):
    from fupin.surveys.models import Form
    from fupin.surveys.services import forms_load_shipped

    forms_load_shipped(actor="test")
    return {f.key: f for f in Form.objects.all()}
