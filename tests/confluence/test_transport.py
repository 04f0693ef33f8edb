"""The environment's proxy and CA settings still apply, read once when a client is built (not on every call)."""

from confluence.client import ConfluenceClient


def test_a_proxy_from_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = ConfluenceClient(base_url="https://acme.atlassian.net", email="a@example.com", api_token="t")
    assert client._http._session.proxies["https"] == "http://proxy.example:3128"
    assert client._http._session.trust_env is False


def test_no_proxy_is_honoured_for_the_site(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "acme.atlassian.net")
    client = ConfluenceClient(base_url="https://acme.atlassian.net", email="a@example.com", api_token="t")
    assert "https" not in client._http._session.proxies


def test_a_ca_bundle_from_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    client = ConfluenceClient(base_url="https://acme.atlassian.net", email="a@example.com", api_token="t")
    assert client._http._session.verify == "/etc/ssl/corporate.pem"
