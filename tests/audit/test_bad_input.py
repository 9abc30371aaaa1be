"""Out-of-range dates and NUL characters on the Audit Log screen, its CSV and the exposure review:
a form error or a 4xx, never a 500 (issue 11, item 4)."""

import pytest
from django.test import Client

from tests.conftest import login

pytestmark = pytest.mark.django_db

LOG = "/settings/audit-log/"
REQUESTS = "/settings/audit-log/requests/"


@pytest.fixture
def admin(alice):
    return login(Client(raise_request_exception=False), alice)


@pytest.mark.parametrize("window", ["until=9999-12-31", "since=0001-01-01T00:00:00%2B05:00"])
def test_audit_log_screen_explains_an_out_of_range_date(admin, window):
    response = admin.get(f"{LOG}?{window}")
    assert response.status_code == 200
    assert "is out of range" in response.content.decode()
    assert response.context["form"].errors


def test_audit_log_csv_with_an_out_of_range_date_goes_back_to_the_filters(admin):
    response = admin.get(f"{LOG}export.csv?until=9999-12-31")
    assert response.status_code == 302
    assert response["Location"].startswith(LOG)


def test_exposure_review_and_its_csv_with_an_out_of_range_date(admin, account_a, make_key):
    key, _ = make_key(account_a)
    response = admin.get(f"{REQUESTS}?key={key.public_id}&until=9999-12-31")
    assert response.status_code == 200
    assert "is out of range" in response.content.decode()
    export = admin.get(f"{REQUESTS}export.csv?key={key.public_id}&until=9999-12-31")
    assert export.status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/settings/api-access/a%00b/", "/settings/api-access/a%00b/revoke/",
     "/settings/api-access/a%00b/allowlist/"],
)  # fmt: skip
def test_nul_in_a_dashboard_key_page_is_a_404(admin, path):
    assert admin.get(path).status_code == 404
    assert admin.post(path).status_code == 404


def test_nul_in_a_dashboard_query_parameter_is_a_400(admin):
    assert admin.get(f"{REQUESTS}?key=a%00b").status_code == 400
