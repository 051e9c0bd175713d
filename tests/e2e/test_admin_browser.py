"""The admin's "Changes" page in a real headless Chromium (Debian's, driven by Selenium).

A person's path: log in, edit an object, open its Changes page from the change form, see the
edit (written by the session's real Celery worker); then delete it, and reach its Changes page
again from the changelist's "Deleted" page. The pages' screenshots are saved as
``test-output/admin-changes.png`` and ``test-output/admin-changes-deleted.png``.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.conftest import wait_until
from tests.e2e.browser import OUTPUT
from tests.testapp.models import Question

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.both_databases]


def _wait_for_history(browser, text: str) -> None:
    """Wait until the Changes page shows ``text``, reloading it (the worker writes a moment
    after the commit)."""

    def shown() -> bool:
        if text in browser.find_element(By.ID, "diffs-history").text:
            return True
        browser.refresh()
        return False

    wait_until(shown, timeout=20, interval=0.2)


def test_person_edits_a_question_and_sees_the_edit_on_its_changes_page(
    browser, live_server, worker, django_user_model
):
    django_user_model.objects.create_superuser("admin", "admin@example.com", "secret-pw")
    question = Question.objects.create(question_text="What is life?")

    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("secret-pw")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_until(lambda: "Site administration" in browser.page_source, timeout=10)

    browser.get(f"{live_server.url}/admin/testapp/question/{question.pk}/change/")
    field = browser.find_element(By.NAME, "question_text")
    field.clear()
    field.send_keys("What is Django?")
    browser.find_element(By.NAME, "_continue").click()
    wait_until(lambda: "was changed successfully" in browser.page_source, timeout=10)

    link = browser.find_element(By.CSS_SELECTOR, "a.diffs-changes-link")
    assert link.get_attribute("textContent").strip() == "Changes"
    link.click()

    _wait_for_history(browser, "What is Django?")
    rows = browser.find_elements(By.CSS_SELECTOR, "#diffs-history tbody tr")
    newest = rows[0].text
    assert "changed" in newest
    assert "What is life?" in newest and "What is Django?" in newest
    assert "created" in rows[-1].text
    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / "admin-changes.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    # Deleted: the changelist's "Deleted" page lists it, and its Changes page still answers.
    browser.get(f"{live_server.url}/admin/testapp/question/{question.pk}/delete/")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_until(lambda: "was deleted successfully" in browser.page_source, timeout=10)
    browser.find_element(By.CSS_SELECTOR, "a.diffs-deleted-link").click()
    browser.find_element(By.LINK_TEXT, "What is Django?").click()
    _wait_for_history(browser, "deleted")
    assert f"Deleted question (pk={question.pk})" in browser.title
    rows = browser.find_elements(By.CSS_SELECTOR, "#diffs-history tbody tr")
    assert [row.get_attribute("class") for row in rows] == [
        "diffs-deleted", "diffs-changed", "diffs-created"]
    shot = OUTPUT / "admin-changes-deleted.png"
    assert browser.save_screenshot(str(shot))
