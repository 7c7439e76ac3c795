"""The quality office defines a record-query objective in the browser: it picks the
certificate checking form and the condition with the query builder, sees the live preview
of the current period, saves, computes a period and opens the records behind the value."""

import datetime
import re

import pytest

from qms.reviews import periods
from tests.browser.conftest import sign_in


@pytest.mark.parametrize("site", ["en"], indirect=True)
def test_the_quality_office_builds_a_record_query_objective_and_opens_its_records(page, site):
    sign_in(page, "mrep")
    page.goto("/objectives/new")
    page.fill("#name", "Certificate errors (builder)")
    page.fill("#unit", "‰")
    page.fill("#target", "100")
    page.select_option("#direction", "lower")
    page.select_option("#frequency", "quarterly")
    builder = page.locator("#query-builder")
    assert builder.is_hidden()
    page.select_option("#source", "record_query")
    assert builder.is_visible()

    builder.locator("label:has-text('Record form') select").select_option("RF-07-03-01")
    dates = builder.locator("label:has-text('Date that places') select")
    dates.locator("option[value=checked_at]").wait_for(state="attached")
    dates.select_option("checked_at")
    builder.locator("fieldset").first.locator("button:has-text('Add a condition')").click()
    row = builder.locator(".query-condition").first
    row.locator("select[aria-label=Field]").select_option("result")
    row.locator("select[aria-label=Operator]").select_option("ne")
    row.locator("select[aria-label='a value']").select_option("pass")
    preview = builder.locator(".query-preview")
    preview.filter(has_text=re.compile(r"\d+ of \d+ records")).wait_for()
    page.shot("builder-preview")
    query = page.input_value("#query")
    assert '"op":"ne"' in query and '"date":"checked_at"' in query

    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/objectives/" in page.url and "Record query" in page.content()
    last_quarter = periods.period_of(
        datetime.date.today() - datetime.timedelta(days=95), "quarterly"
    )
    page.fill("#refresh-period", last_quarter)
    page.locator("form[action$='/refresh'] button").click()
    page.wait_for_load_state()
    link = page.locator("a:has-text('from ')").first
    count = int(re.search(r"from (\d+) record", link.inner_text()).group(1))
    page.shot("computed")
    link.click()
    page.wait_for_load_state()
    assert page.locator("#base a").count() == count
    page.shot("records")
