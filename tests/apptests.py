"""What the AppTests (Streamlit's AppTest running the real app file) share: the app's path, a sign-in
configuration, opening a page as someone, and the check that a run showed no exception and no error."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
# Sign-in configured as the app reads it from secrets.toml. Its provider is never reached: AppTest sets the signed-in
# user itself (signed_in), so the address is a closed local port.
SIGN_IN = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "engage",
           "client_secret": "s3cret", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


def signed_in(at: AppTest, email: str | None, *, verified: bool = True) -> AppTest:
    """at with sign-in configured and `email` signed in (None: nobody is)."""
    at.secrets["auth"] = SIGN_IN
    at.user = ({"is_logged_in": False} if email is None else
               {"is_logged_in": True, "email": email, "email_verified": verified, "name": email.split("@")[0]})
    return at


def opened(at: AppTest, page: str | None) -> AppTest:
    """at run once (the home page), then switched to `page` (a path under the app) and run, unless page is None."""
    at.run()
    return at if page is None else at.switch_page(page).run()


def ok(at: AppTest) -> None:
    """The last run showed no exception and no error message."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
