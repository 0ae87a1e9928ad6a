"""Logging in through the real form in a real browser."""
import pytest

from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_then_dashboard(page, make_user):
    make_user("alice")
    page.goto("/")
    assert "/accounts/login/" in page.url
    log_in(page, "alice")
    assert page.locator("h1").inner_text() == "Model versions"
    assert "Log out alice" in page.locator("header").inner_text()
    page.screenshot(path=page.screenshot_dir / "dashboard.png", full_page=True)


def test_wrong_password_shows_error(page, make_user):
    make_user("bob")
    log_in(page, "bob", password="wrong")
    assert "didn't match" in page.locator(".error").inner_text()
