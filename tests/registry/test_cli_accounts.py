"""``cpstem site``, ``cpstem user role/deactivate/password`` and ``cpstem remind``, run as a user
would (real process, real database; ``--db=postgresql`` runs them on PostgreSQL)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from cpstem.outcomes.dates import add_months
from tests.registry.smtp_helpers import smtp_server

PASSWORD = "a-long-password-77"

SHOW = """
from cpstem.registry import setup

setup.start(migrate=False)
import json
from django.contrib.auth.models import User
from cpstem.registry.models import ApiToken, Profile

print(json.dumps({
    "profiles": {p.user.username: [p.role, p.site.code if p.site else None, p.user.is_active,
                                   p.user.email]
                 for p in Profile.objects.select_related("user", "site")},
    "active_tokens": sorted(t.user.username for t in ApiToken.objects.filter(revoked=False)),
    "reasons": [h.history_change_reason for h in Profile.history.order_by("history_date")]
               + [h.history_change_reason for h in User.history.order_by("history_date")],
}))
"""


def _state(registry) -> dict:
    return json.loads(registry.python(SHOW).stdout)


def test_sites_and_user_create_refuses_an_unknown_site(registry):
    r = registry.run(
        "user", "create", "clara", "--role", "clinician", "--site", "LUB", "--password-stdin",
        stdin=PASSWORD, check=False,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "error: no site LUB (known sites: none yet; create it with `cpstem site create LUB` "
        "or add --create-site)"
    )
    r = registry.run("site", "create", "lub", "--name", "Lublin", "--reason", "first centre")
    assert "Created site LUB (Lublin)" in r.stdout
    r = registry.run("site", "create", "LUB", check=False)
    assert r.returncode == 1 and "site LUB already exists" in r.stderr
    r = registry.run("site", "create", "no spaces", check=False)
    assert r.returncode == 1 and "use capitals, digits, - or _" in r.stderr
    registry.run(
        "user", "create", "clara", "--role", "clinician", "--site", "LUB", "--password-stdin",
        "--email", "clara@lub.example", stdin=PASSWORD,
    )  # fmt: skip
    r = registry.run(
        "user", "create", "bob", "--role", "clinician", "--site", "KRK", "--create-site",
        "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert "Created clinician bob at site KRK" in r.stdout
    listed = registry.run("site", "list").stdout
    lines = {line.split("│")[1].strip(): line for line in listed.splitlines() if "│" in line}
    assert [c.strip() for c in lines["LUB"].split("│")[1:5]] == ["LUB", "Lublin", "1", "0"]
    assert [c.strip() for c in lines["KRK"].split("│")[1:5]] == ["KRK", "KRK", "1", "0"]
    state = _state(registry)
    assert state["profiles"]["clara"] == ["clinician", "LUB", True, "clara@lub.example"]
    reasons = _site_reasons(registry)
    assert any(r.startswith("first centre (command line, system user ") for r in reasons)


def _site_reasons(registry) -> list[str]:
    code = (
        "from cpstem.registry import setup\nsetup.start(migrate=False)\n"
        "from cpstem.registry.models import Site\n"
        "print('\\n'.join(h.history_change_reason for h in Site.history.all()))"
    )
    return registry.python(code).stdout.splitlines()


def test_role_deactivate_and_password_revoke_tokens(registry):
    for name, role in (("clara", "clinician"), ("moni", "monitor"), ("nina", "clinician")):
        registry.run(
            "user", "create", name, "--role", role, "--site", "LUB", "--create-site",
            "--password-stdin", stdin=PASSWORD,
        )  # fmt: skip
    registry.run("site", "create", "KRK")
    tokens = {
        n: registry.run("token", "create", n).stdout.strip().splitlines()[-1]
        for n in ("clara", "moni", "nina")
    }
    r = registry.run("user", "role", "moni", "clinician", "--site", "KRK", "--reason", "moved")
    assert "moni is now clinician at site KRK" in r.stdout
    r = registry.run("user", "role", "nina", "nurse", check=False)
    assert r.returncode == 1 and "role 'nurse' is not valid" in r.stderr
    r = registry.run("user", "role", "nobody", "monitor", check=False)
    assert r.returncode == 1 and r.stderr.strip() == "error: no user nobody"
    r = registry.run("user", "deactivate", "clara", "--reason", "left the clinic")
    assert "Deactivated clara" in r.stdout
    new = registry.run("user", "password", "moni").stdout.strip().splitlines()[-1]
    assert len(new) >= 16
    state = _state(registry)
    assert state["profiles"]["clara"][2] is False
    assert state["profiles"]["moni"][:2] == ["clinician", "KRK"]
    assert state["active_tokens"] == ["nina"]
    assert any(
        r.startswith("left the clinic (command line, system user ") for r in state["reasons"]
    )
    assert any(r.startswith("moved (command line") for r in state["reasons"])
    proc, url = registry.serve()
    try:
        for name, status in (("clara", 401), ("moni", 401), ("nina", 200)):
            req = urllib.request.Request(
                url + "/api/v1/patients", headers={"Authorization": f"Bearer {tokens[name]}"}
            )
            try:
                with urllib.request.urlopen(req) as resp:
                    got = resp.status
            except urllib.error.HTTPError as exc:
                got = exc.code
            assert got == status, name
    finally:
        proc.terminate()
        proc.wait(10)


CHILD = """
from datetime import date, timedelta, datetime, UTC

from cpstem.registry import setup

setup.start(migrate=False)
from cpstem.registry import users
from cpstem.registry.models import Administration, Patient
from cpstem.registry.services.records import save_validated

cells = date.fromisoformat("{cells}")
p = save_validated(Patient(site=users.get_site("LUB"), study_id="LUB-R1",
                           birth_date=date(2019, 5, 4), sex="F"))
save_validated(Administration(patient=p, date=cells, product="ucb", origin="allogeneic",
                              hla_match="5/6", cells_total=4.5e8, weight_kg=15.0,
                              route="intravenous"))
"""


def test_remind_sends_the_work_list_to_a_real_smtp_server(registry):
    registry.run(
        "user", "create", "clara", "--role", "clinician", "--site", "LUB", "--create-site",
        "--email", "clara@lub.example", "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    today = datetime.now(UTC).date()
    cells = today - timedelta(days=180)
    target = add_months(cells, 6)  # 181 to 184 days after the cells: 1 to 4 days ahead
    ahead = (target - today).days
    assert 1 <= ahead <= 4
    registry.python(CHILD.replace("{cells}", cells.isoformat()))
    dry = registry.run("remind", "--days", "14", "--dry-run")
    assert "LUB: 0 overdue, 1 due -> clara@lub.example" in dry.stdout
    assert "Dry run: nothing sent." in dry.stdout
    line = f"  LUB-R1  6 months (cells {cells})  target {target} (in {ahead} d)"
    assert line in dry.stdout
    with smtp_server() as (sink, port):
        registry.env |= {
            "CPSTEM_SMTP_HOST": "127.0.0.1",
            "CPSTEM_SMTP_PORT": str(port),
            "CPSTEM_MAIL_FROM": "cpstem <registry@clinic.example>",
        }
        assert sink.messages == []  # the dry run sent nothing
        r = registry.run("remind", "--days", "14")
        assert "Sent 1 message." in r.stdout
        (m,) = sink.messages
    assert m.rcpt_tos == ["clara@lub.example"] and m.mail_from == "registry@clinic.example"
    assert m.message["Subject"] == "cpstem LUB: 0 overdue, 1 due in 14 days"
    body = m.message.get_content()
    assert body.startswith(
        f"Follow-up visits of site LUB (LUB) on {today}: 0 overdue, 1 due in the next 14 days."
    )
    assert line in body and "2019-05-04" not in body
    r = registry.run("remind", "--days", "0")
    assert "nothing to send" in r.stdout
    r = registry.run("remind", "--days", "400", check=False)
    assert r.returncode == 1 and "days must be a whole number from 0 to 366" in r.stderr
    registry.env["CPSTEM_SMTP_HOST"] = ""
    r = registry.run("remind", check=False)
    assert r.returncode == 1 and "CPSTEM_SMTP_HOST" in r.stderr and "Traceback" not in r.stderr
