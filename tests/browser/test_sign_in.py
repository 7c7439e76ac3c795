"""The smallest journey: a demo user signs in and lands on their own work."""

from qms.demo import DEMO_NAMES_ZH
from tests.browser.conftest import sign_in


def test_staff_sign_in_and_see_their_home_page(page, site):
    page.goto("/auth/login")
    page.shot("login")
    sign_in(page, "staff")
    assert "/auth/login" not in page.url
    name = "Sam Staff" if site.lang == "en" else DEMO_NAMES_ZH["staff"]
    assert page.locator("header", has_text=name).count() > 0
    page.shot("home")
