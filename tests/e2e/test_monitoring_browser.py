"""Monitoring in the browser (issue 9): the monitor opens a query on one field of an adverse
event on the real record page, the site's clinician sees it on the child's page, corrects the
value from the query (the reason for change pre-filled "Query #N: ...", linked in the thread)
and answers, the monitor closes it; then the monitor marks the corrected record verified."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CREATE_AE = """
from datetime import date

from cpstem.registry import setup

setup.start(migrate=False)
from cpstem.registry.models import AdverseEvent
from cpstem.registry.services import write

ae = write.save(
    AdverseEvent(
        patient_id={pk}, date=date(2024, 5, 2), term="fever", grade=1, relatedness="possible",
        action="treated", outcome="recovered", resolution_date=date(2024, 5, 4),
    )
)
print(ae.pk)
"""


@pytest.fixture(scope="module")
def ae_url(e2e_registry, lub_patient_url):
    """The record page of a grade-1 fever of the LUB child (entered through the write path)."""
    pk = int(lub_patient_url.rstrip("/").rsplit("/", 1)[1])
    rid = int(e2e_registry.python(CREATE_AE.format(pk=pk)).stdout.strip())
    return f"{lub_patient_url}ae/{rid}/"


def test_monitor_queries_a_field_clinician_corrects_and_answers_monitor_closes(
    login, lub_patient_url, ae_url
):
    moni = login("moni")
    moni.goto(ae_url)
    grade = moni.locator("tr[data-field=grade]")
    assert "1" in grade.locator("td").inner_text()
    grade.locator("a.query-field").click()  # "query..." beside the field
    moni.wait_for_url("**/queries/new/**")
    assert moni.input_value("#id_field") == "grade"
    moni.fill("#id_message", "The nursing chart gives grade 2 <fever 39.2 °C>, not grade 1.")
    moni.click("#query-submit")
    moni.wait_for_url(re.compile(r".*/queries/\d+/$"))
    number = int(moni.url.rstrip("/").rsplit("/", 1)[1])
    assert moni.inner_text("#query-state") == "open"
    assert "<fever 39.2 °C>" in moni.inner_text("#thread")  # shown as text, not markup
    assert moni.locator("#query-answer").count() == 0  # monitors do not answer

    clara = login("clara")
    clara.goto(lub_patient_url)
    panel = clara.locator("#queries")
    assert "1 open" in panel.inner_text()
    # the field-level query is shown beside the field on the record page
    clara.goto(ae_url)
    assert f"Query #{number} open" in clara.locator("tr[data-field=grade]").inner_text()
    clara.goto(lub_patient_url)
    clara.locator(f"#queries tr[data-query='{number}'] a").first.click()
    clara.wait_for_url(f"**/queries/{number}/")
    assert clara.locator("#query-close").count() == 0  # clinicians do not close
    clara.click("#query-correct")
    clara.wait_for_url(f"**/edit/?query={number}")
    assert clara.input_value("#id_reason").startswith(f"Query #{number}: ")
    clara.select_option("#id_grade", "2")
    clara.fill("#id_reason", f"Query #{number}: grade 2 per the nursing chart")
    clara.click("button:has-text('Save')")
    clara.wait_for_url(f"**/queries/{number}/")
    thread = clara.inner_text("#thread")
    assert "clara corrected the record" in thread and "version 2" in thread
    assert f"Query #{number}: grade 2 per the nursing chart" in thread
    clara.fill("#id_message", "Corrected to grade 2 from the nursing chart.")
    clara.click("#query-answer")
    clara.wait_for_url(f"**/queries/{number}/")
    assert clara.inner_text("#query-state") == "answered"

    moni.goto(ae_url)
    assert "2" in moni.locator("tr[data-field=grade] td").inner_text()
    assert f"Query #{number} answered" in moni.locator("tr[data-field=grade]").inner_text()
    moni.goto(moni.url.split("/patients/")[0] + f"/queries/{number}/")
    moni.locator("#thread a", has_text="audit trail").first.wait_for()
    moni.fill("#id_message", "Checked against the nursing chart: resolved.")
    moni.click("#query-close")
    moni.wait_for_url(f"**/queries/{number}/")
    assert moni.inner_text("#query-state") == "closed"
    steps = moni.locator("#thread li").all_inner_texts()
    assert [s.split(" on ")[0] for s in steps] == [
        "moni opened",
        "clara corrected the record",
        "clara answered",
        "moni closed",
    ]
    assert moni.locator("#query-reopen").count() == 1

    # source data verification of the corrected record
    moni.goto(ae_url)
    assert "not verified" in moni.inner_text("#sdv-status")
    moni.click("#sdv-verify")
    moni.wait_for_url(ae_url)
    assert "verified version 2 by moni" in moni.inner_text("#sdv-status")
    moni.goto(moni.url.split("/patients/")[0] + "/sdv/")
    lub = moni.locator("table[data-site=LUB]")
    assert re.search(
        r"Adverse event\s+1\s+1\s+100\.0", lub.locator("tr[data-kind=ae]").inner_text()
    )
