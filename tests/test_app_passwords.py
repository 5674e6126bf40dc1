"""App passwords: what native RSS apps sign in with (the Google Reader API's name and
password, Fever's md5 of "name:password"), made, listed and revoked from the library, the
CLI and the Settings page."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tidings.cli import app as cli
from tidings.errors import InputError, NotFound
from tidings.library import Tidings
from tidings.store.schema import app_passwords
from tidings.web import create_app

WEB_PASSWORD = "correct horse"


def fever(name: str, password: str) -> str:
    return hashlib.md5(f"{name}:{password}".encode()).hexdigest()


def test_an_app_password_signs_in_by_name_and_by_its_fever_key(tidings: Tidings) -> None:
    ann = tidings.sign_up("ann", WEB_PASSWORD).reader
    made, password = tidings.add_app_password("ann", "NetNewsWire")
    assert made.label == "NetNewsWire" and made.last_used is None
    assert len(password) >= 20

    assert tidings.reader_by_app_password("ann", password) == ann
    assert tidings.reader_by_fever_key(fever("ann", password)) == ann
    assert tidings.reader_by_fever_key(fever("ann", password).upper()) == ann
    (listed,) = tidings.app_passwords("ann")
    assert listed.last_used is not None  # the app's sign-in shows in the list

    assert tidings.reader_by_app_password("ann", WEB_PASSWORD) is None
    assert tidings.reader_by_app_password("ann", password + "x") is None
    assert tidings.reader_by_app_password("nobody", password) is None
    assert tidings.reader_by_fever_key(fever("ann", WEB_PASSWORD)) is None
    assert tidings.reader_by_fever_key("") is None
    with pytest.raises(InputError, match="wrong name or password"):
        tidings.sign_in("ann", password)  # an app password never opens the web account


def test_one_readers_app_password_never_signs_in_another(tidings: Tidings) -> None:
    tidings.add_reader("ann")
    bob = tidings.add_reader("bob")
    _, anns = tidings.add_app_password("ann")
    _, bobs = tidings.add_app_password("bob")
    assert tidings.reader_by_app_password("bob", anns) is None
    assert tidings.reader_by_fever_key(fever("bob", anns)) is None
    assert tidings.reader_by_app_password("bob", bobs) == bob
    assert tidings.app_passwords("bob")[0].id != tidings.app_passwords("ann")[0].id


def test_an_app_password_signs_in_its_own_reader_whatever_its_id(tidings: Tidings) -> None:
    tidings.add_reader("ann")
    for label in ("phone", "tablet", "laptop"):  # so bob's password id is not bob's id
        tidings.add_app_password("ann", label)
    bob = tidings.add_reader("bob")
    made, password = tidings.add_app_password("bob", "NetNewsWire")
    assert made.id != bob.id
    assert tidings.reader_by_app_password("bob", password) == bob
    assert tidings.reader_by_fever_key(fever("bob", password)) == bob
    token = tidings.app_sign_in("bob", password)
    assert token is not None and tidings.reader_by_app_token(token) == bob
    tidings.revoke_app_password("bob", made.id)
    assert tidings.reader_by_app_token(token) is None  # revoking signs the app out


def test_a_revoked_app_password_stops_working_and_only_its_owner_can_revoke_it(
    tidings: Tidings,
) -> None:
    tidings.add_reader("ann")
    tidings.add_reader("bob")
    phone, on_phone = tidings.add_app_password("ann", "phone")
    _, on_laptop = tidings.add_app_password("ann", "laptop")

    with pytest.raises(NotFound, match="bob has no app password"):
        tidings.revoke_app_password("bob", phone.id)
    assert tidings.reader_by_app_password("ann", on_phone) is not None

    assert tidings.revoke_app_password("ann", phone.id).label == "phone"
    assert tidings.reader_by_app_password("ann", on_phone) is None
    assert tidings.reader_by_fever_key(fever("ann", on_phone)) is None
    assert tidings.reader_by_app_password("ann", on_laptop) is not None  # the other app stays
    assert [p.label for p in tidings.app_passwords("ann")] == ["laptop"]
    with pytest.raises(NotFound):
        tidings.revoke_app_password("ann", phone.id)
    with pytest.raises(NotFound):
        tidings.revoke_app_password("ann", "not an id")


def test_only_digests_of_app_passwords_are_stored(tidings: Tidings) -> None:
    tidings.add_reader("ann")
    _, password = tidings.add_app_password("ann", "Reeder")
    with tidings.engine.connect() as connection:
        (row,) = connection.execute(select(app_passwords)).all()
    stored = " ".join(str(value) for value in row)
    key = fever("ann", password)
    assert password not in stored and key not in stored and key.upper() not in stored
    assert row.fever_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.password_hash.startswith("$argon2")


def test_the_21st_app_password_is_refused_naming_the_reader(tidings: Tidings) -> None:
    tidings.add_reader("ann")
    for n in range(20):
        tidings.add_app_password("ann", f"app {n}")
    with pytest.raises(InputError, match=r"ann has 20 app passwords.*revoke one"):
        tidings.add_app_password("ann", "one too many")
    assert len(tidings.app_passwords("ann")) == 20
    tidings.add_reader("bob")
    tidings.add_app_password("bob")  # the cap is each reader's own


def test_a_label_too_long_is_refused_and_an_unknown_reader_is_named(tidings: Tidings) -> None:
    tidings.add_reader("ann")
    with pytest.raises(InputError, match="label"):
        tidings.add_app_password("ann", "x" * 201)
    with pytest.raises(NotFound, match="nobody"):
        tidings.add_app_password("nobody")


# -- the CLI ----------------------------------------------------------------------------------

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout + result.stderr


def test_the_cli_makes_shows_once_lists_and_revokes_app_passwords(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("readers", "add", "ann", "--db", db)[0] == 0

    code, out = run("readers", "app-password", "ann", "--label", "NetNewsWire", "--db", db)
    assert code == 0, out
    password = re.search(r"App password \d+ for ann: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert "will not be shown again" in out
    assert "http://127.0.0.1:8000" in out and "name ann" in out
    with Tidings(db) as store:
        assert store.reader_by_app_password("ann", password) is not None

    code, out = run("readers", "app-passwords", "ann", "--json", "--db", db)
    (listed,) = json.loads(out)
    assert listed["label"] == "NetNewsWire" and listed["last_used"] is not None
    assert password not in out
    code, out = run("readers", "app-passwords", "ann", "--db", db)
    assert "NetNewsWire" in out and password not in out

    code, out = run("readers", "revoke-app-password", "ann", str(listed["id"]), "--db", db)
    assert code == 0 and "Revoked" in out
    with Tidings(db) as store:
        assert store.reader_by_app_password("ann", password) is None
    code, out = run("readers", "revoke-app-password", "ann", str(listed["id"]), "--db", db)
    assert code == 1 and "ann has no app password" in out
    code, out = run("readers", "app-password", "nobody", "--db", db)
    assert code == 1 and "nobody" in out


# -- the Settings page ------------------------------------------------------------------------


class Browser:
    """A browser signed up as ``name``, with the CSRF token its pages carry."""

    def __init__(self, store: Tidings, name: str) -> None:
        self.client = TestClient(create_app(store))
        form = self.client.get("/signup").text
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        page = self.client.post(
            "/signup", data={"name": name, "password": WEB_PASSWORD, "csrf": token}
        )
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]

    def post(self, path: str, **data: object) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf, **data})


def test_the_settings_page_makes_shows_once_lists_and_revokes_app_passwords(
    tidings: Tidings,
) -> None:
    ann = Browser(tidings, "ann")
    assert "No app passwords yet" in ann.client.get("/settings").text

    made = ann.post("/settings/app-passwords", label="<b>Reeder</b> on my phone")
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    password = re.search(r'<code id="app-password">([^<]+)</code>', made.text).group(1)  # type: ignore[union-attr]
    assert "will not be shown again" in made.text
    assert "&lt;b&gt;Reeder&lt;/b&gt; on my phone" in made.text and "<b>Reeder" not in made.text
    assert tidings.reader_by_app_password("ann", password) is not None

    again = ann.client.get("/settings").text
    assert password not in again  # shown once
    assert "&lt;b&gt;Reeder&lt;/b&gt; on my phone" in again and "never used" not in again
    (listed,) = tidings.app_passwords("ann")

    forged = ann.client.post(
        "/settings/app-passwords/revoke", data={"csrf": "wrong", "app_password": listed.id}
    )
    assert forged.status_code == 403
    assert tidings.reader_by_app_password("ann", password) is not None

    revoked = ann.post("/settings/app-passwords/revoke", app_password=listed.id)
    assert revoked.status_code == 200 and "Revoked the app password" in revoked.text
    assert "No app passwords yet" in revoked.text
    assert tidings.reader_by_app_password("ann", password) is None


def test_the_settings_page_cannot_revoke_another_readers_app_password(
    tidings: Tidings,
) -> None:
    ann, bob = Browser(tidings, "ann"), Browser(tidings, "bob")
    ann.post("/settings/app-passwords", label="phone")
    (anns,) = tidings.app_passwords("ann")
    refused = bob.post("/settings/app-passwords/revoke", app_password=anns.id)
    assert refused.status_code == 404 and "bob has no app password" in refused.text
    assert tidings.app_passwords("ann") == [anns]
    too_long = ann.post("/settings/app-passwords", label="x" * 300)
    assert too_long.status_code == 422 and "label" in too_long.text
