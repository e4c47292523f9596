from __future__ import annotations

import pytest

from crunch.exceptions import ConfigurationError
from crunch.project.settings import Settings, normalize_base_url


def test_production_is_the_default():
    settings = Settings.resolve(environ={})
    assert settings.api_base_url == "https://api.hub.crunchdao.com/"
    assert settings.environment == "production" and not settings.explicit


@pytest.mark.parametrize("name,expected", [("prod", "production"), ("test", "staging"), ("dev", "local"), ("LOCAL", "local")])
def test_environment_aliases(name, expected):
    assert Settings.resolve(environment=name, environ={}).environment == expected


def test_local_environment_url():
    assert Settings.resolve(environment="local", environ={}).api_base_url == "http://127.0.0.1:8000/"


def test_variables_and_options_precedence():
    env = {"API_BASE_URL": "http://a:1", "CRUNCH_ENVIRONMENT": "staging", "CRUNCH_DEBUG": "1", "CRUNCH_API_KEY": "k" * 10}
    settings = Settings.resolve(environ=env)
    assert settings.api_base_url == "http://a:1/" and settings.debug and settings.api_key == "k" * 10
    assert Settings.resolve(api_base_url="http://b:2/x", environ=env).api_base_url == "http://b:2/x/"


def test_unknown_environment():
    with pytest.raises(ConfigurationError, match="unknown environment 'mars'"):
        Settings.resolve(environment="mars", environ={})


@pytest.mark.parametrize("url", ["foo", "ftp://x/", "http://", "http://host:99999/", "http://h/?a=1", "http://a b/"])
def test_malformed_urls(url):
    with pytest.raises(ConfigurationError, match="malformed"):
        normalize_base_url(url)


def test_workspace_hub_used_unless_explicit():
    implicit = Settings.resolve(environ={})
    assert implicit.for_workspace("http://127.0.0.1:9999").api_base_url == "http://127.0.0.1:9999/"
    explicit = Settings.resolve(environment="prod", environ={})
    assert explicit.for_workspace("http://127.0.0.1:9999").api_base_url == "https://api.hub.crunchdao.com/"


def test_web_url_follows_an_explicit_api_url():
    assert Settings.resolve(api_base_url="http://127.0.0.1:8123", environ={}).web_base_url == "http://127.0.0.1:8123/"
    staging = Settings.resolve(api_base_url="https://api.hub.crunchdao.io/", environ={})
    assert staging.web_base_url == "https://hub.crunchdao.io/"


def test_explicit_web_url_wins_inside_a_workspace():
    settings = Settings.resolve(web_base_url="http://web.example/", environ={})
    inside = settings.for_workspace("http://127.0.0.1:9999/", "http://127.0.0.1:9999/")
    assert inside.api_base_url == "http://127.0.0.1:9999/" and inside.web_base_url == "http://web.example/"
    plain = Settings.resolve(environ={}).for_workspace("http://127.0.0.1:9999/", "http://w.example/")
    assert plain.web_base_url == "http://w.example/"
