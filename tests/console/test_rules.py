"""The console's rules, through the app in-process: sessions, CSRF, lockout, roles, headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync_server.console import accounts, audit, sessions, web
from sync_server.console.lockout import Rule

from .conftest import PASSWORD, csrf_of, make_user, sign_in


def test_no_console_page_without_a_session(app_client) -> None:
    c = app_client()
    for path in (
        "/console/devices",
        "/console/users",
        "/console/audit",
        "/console/",
        "/console/nothing/here",
    ):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next="), path
    assert c.get("/console/devices?x=1", follow_redirects=False).headers["location"] == (
        "/console/login?next=/console/devices%3Fx%3D1"
    )
    r = c.post("/console/logout", data={"csrf_token": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert c.get("/console/login").status_code == 200


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/console//evil", "/register", "/console\\x", None, ""],
)
def test_next_never_leaves_the_console(target) -> None:
    assert web.safe_next(target) == "/console/devices"


def test_next_keeps_a_console_path() -> None:
    assert web.safe_next("/console/devices/edge-1") == "/console/devices/edge-1"


def test_login_then_logout_deletes_the_session(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    c = sign_in(app_client(), "anna")
    cookie = c.cookies.get(web.SESSION_COOKIE)
    assert db.query("SELECT username FROM console_sessions") == [("anna",)]
    assert db.query("SELECT token_hash FROM console_sessions")[0][0] != cookie  # only the hash is kept
    page = c.get("/console/devices")
    assert page.status_code == 200 and "Abmelden" in page.text
    r = c.post("/console/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert db.query("SELECT count(*) FROM console_sessions") == [(0,)]
    replay = app_client()
    replay.cookies.set(web.SESSION_COOKIE, cookie)
    assert replay.get("/console/devices", follow_redirects=False).status_code == 303
    actions = [e.action for e in audit.entries(db)]
    assert actions[:2] == ["logout", "login"]


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(app_client, db) -> None:
    make_user(db, "admin1", "admin")
    c = sign_in(app_client(), "admin1")
    page = c.get("/console/users")
    good = csrf_of(page.text)
    form = {"action": "add", "username": "neu", "role": "viewer", "password": PASSWORD}
    for extra in ({}, {"csrf_token": ""}, {"csrf_token": good[:-1] + ("A" if good[-1] != "A" else "B")}):
        r = c.post("/console/users", data={**form, **extra}, follow_redirects=False)
        assert r.status_code == 403 and "Formular" in r.text
    assert accounts.find(db, "neu") is None
    r = c.post("/console/logout", data={}, follow_redirects=False)
    assert r.status_code == 403 and db.query("SELECT count(*) FROM console_sessions") == [(1,)]
    assert (
        c.post("/console/users", data={**form, "csrf_token": good}, follow_redirects=False).status_code == 303
    )
    assert accounts.find(db, "neu") is not None


def test_the_login_form_has_its_own_csrf_token(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    c = app_client()
    c.get("/console/login")
    r = c.post("/console/login", data={"username": "anna", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and db.query("SELECT count(*) FROM console_sessions") == [(0,)]


def _try(c, name, password):
    page = c.get("/console/login")
    return c.post("/console/login", data={"csrf_token": csrf_of(page.text), "username": name, "password": password},
                  follow_redirects=False)  # fmt: skip


def test_wrong_passwords_lock_out_alike_for_users_that_exist_or_not(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    for name in ("anna", "niemand"):
        # one test client, one address: forget its lockout to see the name's own
        db.transact(lambda tx: tx.run("DELETE FROM console_login_failures WHERE subject LIKE ?", ("addr:%",)))
        c = app_client()
        answers = [_try(c, name, "falsch-falsch-falsch") for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429], name  # allowed 3 (settings)
        assert "falsch" in answers[0].text and "Zu viele" in answers[3].text
        assert "niemand" not in answers[0].text.replace('value="niemand"', "")
    # locked: even the right password does not get in now
    db.transact(lambda tx: tx.run("DELETE FROM console_login_failures WHERE subject LIKE ?", ("addr:%",)))
    assert _try(app_client(), "anna", PASSWORD).status_code == 429
    actions = [e.action for e in audit.entries(db)]
    assert actions.count("login.lockout") == 2 and "login.refused" in actions


def test_the_client_address_locks_out_too(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    c = app_client()
    for i in range(4):  # four different names from one address
        _try(c, f"name{i}", "falsch-falsch-falsch")
    assert _try(c, "anna", PASSWORD).status_code == 429


def test_lockouts_grow_and_are_capped() -> None:
    rule = Rule(allowed=3, base_s=30, max_s=3600)
    assert [rule.lock_seconds(n) for n in range(1, 9)] == [0, 0, 0, 30, 60, 120, 240, 480]
    assert rule.lock_seconds(100) == 3600


def test_a_good_login_forgets_the_users_failures(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    c = app_client()
    for _ in range(2):
        _try(c, "anna", "falsch-falsch-falsch")
    assert _try(c, "anna", PASSWORD).status_code == 303
    assert db.query("SELECT count(*) FROM console_login_failures WHERE subject = 'user:anna'") == [(0,)]


def test_roles_are_checked_per_route(app_client, db) -> None:
    make_user(db, "leser", "viewer")
    make_user(db, "chefin", "admin")
    viewer, admin = sign_in(app_client(), "leser"), sign_in(app_client(), "chefin")
    for path in ("/console/users", "/console/audit"):
        assert viewer.get(path).status_code == 403, path
        assert admin.get(path).status_code == 200, path
    assert viewer.get("/console/devices").status_code == 200
    r = viewer.post("/console/users", data={"csrf_token": csrf_of(viewer.get("/console/devices").text),
                    "action": "add", "username": "x", "role": "admin", "password": PASSWORD})  # fmt: skip
    assert r.status_code == 403 and accounts.find(db, "x") is None


def test_sessions_end_when_idle_or_too_old(db) -> None:
    make_user(db, "anna", "viewer")
    life = sessions.Lifetime(timedelta(minutes=30), timedelta(hours=12))
    t0 = datetime(2026, 6, 2, 8, tzinfo=UTC)
    token, _ = sessions.create(db, "anna", "127.0.0.1", t0)
    assert sessions.find(db, token, life, t0 + timedelta(minutes=29)) is not None
    assert sessions.find(db, token, life, t0 + timedelta(minutes=58)) is not None  # used at 29: still alive
    assert sessions.find(db, token, life, t0 + timedelta(minutes=89)) is None  # 31 minutes unused
    assert db.query("SELECT count(*) FROM console_sessions") == [(0,)]
    token, _ = sessions.create(db, "anna", "127.0.0.1", t0)
    for minutes in range(20, 12 * 60, 20):  # used all day: still ends after 12 hours
        assert sessions.find(db, token, life, t0 + timedelta(minutes=minutes)) is not None
    assert sessions.find(db, token, life, t0 + timedelta(hours=12, minutes=1)) is None


def test_security_headers_on_pages_not_on_the_api(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    c = app_client()
    for path in ("/", "/register", "/opendata", "/console/login"):
        h = c.get(path).headers
        assert (
            "script-src 'self'" in h["content-security-policy"]
            and "'unsafe-inline'" not in h["content-security-policy"]
        )
        assert "frame-ancestors 'none'" in h["content-security-policy"] and h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "same-origin" and h["x-content-type-options"] == "nosniff"
    assert c.get("/console/login").headers["cache-control"] == "no-store"
    assert sign_in(c, "anna").get("/console/devices").headers["cache-control"] == "no-store"
    assert "content-security-policy" not in c.get("/api/v1/healthz").headers


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(app_client, db) -> None:
    make_user(db, "anna", "viewer")
    c = app_client()
    page = c.get("/console/login")
    r = c.post("/console/login", data={"csrf_token": csrf_of(page.text), "username": "anna", "password": PASSWORD},
               follow_redirects=False)  # fmt: skip
    cookie = [v for v in r.headers.get_list("set-cookie") if v.startswith(web.SESSION_COOKIE)][0].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    tls = app_client()
    tls.base_url = "https://testserver"
    page = tls.get("/console/login")
    r = tls.post("/console/login", data={"csrf_token": csrf_of(page.text), "username": "anna", "password": PASSWORD},
                 follow_redirects=False)  # fmt: skip
    cookie = [v for v in r.headers.get_list("set-cookie") if v.startswith(web.SESSION_COOKIE)][0].lower()
    assert "secure" in cookie
