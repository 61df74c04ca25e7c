"""The SSRF guard: http(s) only, every resolved address public, unless the host is allowlisted."""

from __future__ import annotations

import pytest

from service_kit.webhooks import TargetRefused, check_target


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


DNS = resolver(
    {
        "hooks.partner.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "sneaky.example": ["93.184.215.14", "10.1.2.3"],
        "internal.example": ["192.168.1.20"],
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost.:8080/hook",
        "http://10.0.0.5/hook",
        "http://172.16.3.4/hook",
        "http://192.168.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fc00::1]/hook",
        "http://[fd12:3456::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://100.64.0.1/hook",
        "https://internal.example/hook",
        "https://sneaky.example/hook",
        "https://nowhere.example/hook",
        "file:///etc/passwd",
        "gopher://hooks.partner.example/",
        "ftp://hooks.partner.example/",
        "https://user:pw@hooks.partner.example/",
        "https:///no-host",
    ],
)
async def test_refused(url: str) -> None:
    dns = resolver({"localhost.": ["127.0.0.1"], "internal.example": ["192.168.1.20"]})
    with pytest.raises(TargetRefused):
        await check_target(url=url, resolver=dns if "localhost" in url else DNS)


@pytest.mark.parametrize(
    "url", ["https://hooks.partner.example/in", "http://93.184.215.14:8443/in", "https://[2606:4700::1111]/x"]
)
async def test_public_targets_pass(url: str) -> None:
    await check_target(url=url, resolver=DNS)


async def test_the_allowlist_lets_a_named_host_through() -> None:
    await check_target(url="http://127.0.0.1:9000/hook", allowlist={"127.0.0.1"})
    await check_target(url="https://Internal.Example/hook", allowlist={"internal.example"}, resolver=DNS)
    with pytest.raises(TargetRefused):
        await check_target(url="http://127.0.0.2/hook", allowlist={"127.0.0.1"})
    with pytest.raises(TargetRefused):  # the scheme rule holds for allowlisted hosts too
        await check_target(url="ftp://127.0.0.1/hook", allowlist={"127.0.0.1"})


async def test_a_host_with_no_idna_form_is_refused_not_an_error() -> None:
    # Found by schemathesis through the gateway: a non-ASCII host made the resolver raise UnicodeError.
    with pytest.raises(TargetRefused, match="not a valid host name"):
        await check_target(url="https://\u0080\u00a0.example/hook")


async def test_an_internationalised_host_is_checked_by_its_punycode_form() -> None:
    seen: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        seen.append(host)
        return ["93.184.216.34"]

    await check_target(url="https://bücher.example/hook", resolver=resolver)
    assert seen == ["xn--bcher-kva.example"]


async def test_a_url_that_cannot_be_parsed_is_refused_not_an_error() -> None:
    with pytest.raises(TargetRefused, match="malformed"):
        await check_target(url="http://p[|x/hook")
