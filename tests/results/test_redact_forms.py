"""Every credential form in a store URL is masked wherever it is shown or stored: userinfo, an
unescaped '@' or '/' in the password, ?password= and its kin, a libpq keyword string."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.results.redact import redact, redact_text
from harness.results.store import Store, shown_url

REPO = Path(__file__).resolve().parents[2]
# a password as people type them into a URL: anything but whitespace, quotes and the query's '&'
passwords = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc"), blacklist_characters="'\"&#?"),
                    min_size=4, max_size=24).filter(lambda p: p.strip() == p and "***" not in p)

FORMS = [
    "postgresql+psycopg://bench:{pw}@db.lab:5432/harness",
    "postgresql://bench@db.lab/harness?password={pw}",
    "postgresql://bench@db.lab/harness?sslmode=require&password={pw}",
    "postgresql://bench@db.lab/harness?sslpassword={pw}&sslmode=require",
    "host=db.lab user=bench password={pw} dbname=harness",
]


@given(pw=passwords)
def test_no_form_shows_its_password(pw: str) -> None:
    for form in FORMS:
        url = form.format(pw=pw)
        shown = redact_text(url)
        assert "***" in shown, shown
        # what is left is the URL with the password masked: the secret itself is gone
        assert shown.replace("***", "") == url.replace(pw, ""), (url, shown)


def test_the_issue_cases() -> None:
    assert shown_url("postgresql://u:p@ss@host/db") == "postgresql://u:***@host/db"
    assert shown_url("postgresql://u@host/db?password=hunter2") == "postgresql://u@host/db?password=***"
    assert redact(["--store", "postgresql://u@h/d?password=x1"]) == ["--store", "postgresql://u@h/d?password=***"]
    assert redact_text("https://github.com/a/b@v1") == "https://github.com/a/b@v1"  # no credential: untouched


def test_a_query_password_never_reaches_the_store_or_the_terminal(tmp_path: Path) -> None:
    secret = "hunter2-query"
    url = f"postgresql+psycopg://bench@127.0.0.1:1/harness?password={secret}"
    res = subprocess.run([sys.executable, "-m", "harness", "results", "--store", url], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and secret not in res.stdout + res.stderr and "password=***" in res.stderr
    store = Store(tmp_path / "s.db")
    store.create_run("r1", [], argv=["run", "--store", url], labels={"store": url})
    assert secret not in json.dumps(store.get_run("r1"))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert secret.encode() not in raw
