import pytest


@pytest.fixture
def mapped(db):
    from fupin.maps.tests.factories import mapped_county

    return mapped_county()
