"""The PDF case file: Chinese text in the text layer (ToUnicode maps), masked, audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_or_skip
from tests.pdf_text import text_layer_characters
from tests.test_cases_support import Site
from traceability.app.pdf import find_browser

pytestmark = pytest.mark.integration  # a real headless browser renders the PDF

# Characters that occur nowhere in the template: found in the text layer only if the
# case's own text was written as text.
TITLE = "貔貅鲸鲵走私案"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_or_skip(
        find_browser() is not None, "chromium is not installed (apt-get install chromium)"
    )
    built = Site(tmp_path_factory.mktemp("cases-pdf"), orders=40)
    yield built
    built.close()


def test_pdf_export_has_chinese_text_and_is_audited(site: Site) -> None:
    order = site.manifest["stories"]["buyer_ring"]["orders"][0]
    created = site.call("public_security", "POST", "/api/v1/cases",
                        json={"title": TITLE, "lead_unit": "police"}).get_json()  # fmt: skip
    ref = created["ref"]
    site.call("public_security", "POST", f"/api/v1/cases/{ref}/evidence",
              json={"kind": "trace", "trace_kind": "order", "key": order})  # fmt: skip
    response = site.call("public_security", "GET", f"/api/v1/cases/{ref}/export?format=pdf")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    characters = text_layer_characters(response.data)
    assert set(TITLE) <= characters  # the title, as text
    assert set("案卷证据清单时间线公安人员") <= characters  # headings and the exporting role
    entry = site.audit("case.export")[0]
    assert entry["actor"] == "public_security" and entry["detail"]["format"] == "pdf"
    assert entry["target"] == f"case:{created['id']}"
