"""The onboarding templates that ship with the project load and say what they grant; a bad
template is refused with its file, line and field (one line, exit code 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.scopes import PARTNER
from interchange.onboarding.marks import YamlRefused
from interchange.onboarding.templates import TEMPLATES_DIR, load_template, shipped
from tests.unit.interchange.cli_support import isolate, one_line, run

GOOD = (TEMPLATES_DIR / "marketplace.yaml").read_text()


def test_the_four_templates_ship_and_grant_only_known_scopes() -> None:
    assert shipped() == ["3pl", "b2b", "marketplace", "storefront"]
    for name in shipped():
        template = load_template(name)
        assert template.name == name
        if template.client.kind == "partner":
            assert set(template.client.scopes) <= PARTNER
    assert load_template("b2b").partner_records.service == "b2b"
    marketplace = load_template("marketplace")
    assert marketplace.partner_records.service == "marketplace"
    assert marketplace.partner_records.field_mapping and marketplace.partner_records.listings
    assert marketplace.webhooks is not None and marketplace.webhooks.event_types == ["availability.changed"]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "problem"),
    [
        (
            "    - marketplace:orders.read\n",
            "    - marketplace:orders.reed\n",
            9,
            "client.scopes[1]",
            "unknown scope 'marketplace:orders.reed'",
        ),
        ("  tier: standard\n", "  tier: Gold Plus\n", 13, "client.tier", "should match pattern"),
        (
            "  service: marketplace\n",
            "  service: erp\n",
            15,
            "partner_records.service",
            "'marketplace', 'b2b' or 'none'",
        ),
        ("  listings: true", "  listing: true", 17, "partner_records.listing", "Extra inputs"),
        (
            "    - availability.changed\n",
            "    - order.accepted\n",
            20,
            "webhooks",
            "order.accepted not sent by marketplace",
        ),
    ],
)
def test_a_bad_template_is_refused_at_its_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, problem: str
) -> None:
    assert old in GOOD
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(old, new))

    with pytest.raises(YamlRefused) as refused:
        load_template(str(path))

    message = str(refused.value)
    assert message.startswith(f"{path}:{line}: {field}: "), message
    assert problem in message


def test_a_partner_template_may_not_grant_an_internal_scope(tmp_path: Path) -> None:
    path = tmp_path / "greedy.yaml"
    path.write_text(GOOD.replace("    - marketplace:shipments.read\n", "    - orders:admin\n"))

    with pytest.raises(YamlRefused, match=r"greedy.yaml:8: client.scopes: a partner client may not hold orders:admin"):
        load_template(str(path))


def test_broken_yaml_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(GOOD.replace("  tier: standard\n", "  tier: [standard\n"))

    with pytest.raises(YamlRefused, match=r"broken.yaml:\d+: not valid YAML"):
        load_template(str(path))


def test_the_cli_says_it_in_one_line_before_calling_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("  tier: standard\n", "  tier: Gold Plus\n"))

    result = run(tmp_path / "var", "partners", "onboard", "--template", str(path), "--partner-id", "globex-market")

    assert result.exit_code == 1
    assert one_line(result).startswith(f"error: {path}:13: client.tier: ")


def test_an_unknown_template_is_named_with_the_ones_there_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)

    result = run(tmp_path, "partners", "onboard", "--template", "telco", "--partner-id", "x")

    assert result.exit_code == 1
    assert (
        one_line(result)
        == "error: no template 'telco': one of 3pl, b2b, marketplace, storefront, or a template's .yaml file"
    )


def test_missing_options_the_template_needs_are_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)

    no_account = run(tmp_path, "partners", "onboard", "--template", "marketplace", "--partner-id", "globex-market")
    mapping_for_3pl = run(
        tmp_path, "partners", "onboard", "--template", "3pl", "--partner-id", "fast-3pl", "--mapping", "m.yaml"
    )

    assert no_account.exit_code == 2
    assert "--customer-id and --currency" in no_account.stderr
    assert mapping_for_3pl.exit_code == 2
    assert "takes no --mapping" in mapping_for_3pl.stderr


def test_the_templates_command_lists_what_each_grants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)

    result = run(tmp_path, "partners", "templates")

    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│ ")}
    assert set(rows) >= {"3pl", "b2b", "marketplace", "storefront"}
    assert "marketplace: account_link, listings, field_mapping" in rows["marketplace"]
    assert "storefront:admin" in rows["storefront"]
