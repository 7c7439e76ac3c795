"""List pages and ``?format=``: CSV and XLSX download, anything else is 404, never a 500."""

import io

import pytest
from openpyxl import load_workbook

from qms import spreadsheets

LISTS = ["/documents/", "/improvement/", "/improvement/actions/", "/records/all"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("fmt", ["pdf", "json", "XLSX", "xls", "../etc", "html"])
def test_an_unknown_format_on_a_list_page_is_not_found(users, client, auth, path, fmt):
    auth.login("admin")
    assert client.get(f"{path}?format={fmt}").status_code == 404


@pytest.mark.parametrize("path", LISTS)
def test_a_list_page_exports_csv_and_xlsx(users, client, auth, path):
    auth.login("admin")
    assert client.get(path).status_code == 200
    csv = client.get(f"{path}?format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    xlsx = client.get(f"{path}?format=xlsx&sort=-number")
    assert xlsx.status_code == 200
    assert xlsx.mimetype == spreadsheets.MIMETYPES["xlsx"].split(";")[0]
    assert "attachment" in xlsx.headers["Content-Disposition"]
    header = next(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert header and all(header)


@pytest.mark.parametrize("path", LISTS)
def test_an_empty_format_shows_the_page(users, client, auth, path):
    auth.login("staff")
    assert client.get(f"{path}?format=").status_code == 200
