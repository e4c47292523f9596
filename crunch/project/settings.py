"""Where the hub is: environments, base URLs, API key and debug flag, from options or variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit

from ..exceptions import ConfigurationError

PRODUCTION = "production"
STAGING = "staging"
LOCAL = "local"

ENVIRONMENTS: dict[str, tuple[str, str]] = {
    PRODUCTION: ("https://api.hub.crunchdao.com/", "https://hub.crunchdao.com/"),
    STAGING: ("https://api.hub.crunchdao.io/", "https://hub.crunchdao.io/"),
    LOCAL: ("http://127.0.0.1:8000/", "http://127.0.0.1:3000/"),
}

ALIASES = {
    "production": PRODUCTION,
    "prod": PRODUCTION,
    "staging": STAGING,
    "test": STAGING,
    "local": LOCAL,
    "dev": LOCAL,
    "development": LOCAL,
}


def normalize_environment(name: str) -> str:
    key = name.strip().lower()
    if key not in ALIASES:
        choices = ", ".join(sorted(ALIASES))
        raise ConfigurationError(f"unknown environment {name!r}: use one of {choices}")
    return ALIASES[key]


def normalize_base_url(url: str, what: str = "--api-base-url") -> str:
    """Check that ``url`` is an absolute http(s) URL and give it a trailing slash."""
    value = url.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise ConfigurationError(
            f"malformed {what} {url!r}: expected an http:// or https:// URL such as http://127.0.0.1:8000/"
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigurationError(f"malformed {what} {url!r}: the port is not a number from 0 to 65535") from None
    if parts.query or parts.fragment:
        raise ConfigurationError(f"malformed {what} {url!r}: a base URL has no query or fragment")
    return value if value.endswith("/") else value + "/"


API_KEY_VARIABLE = "CRUNCH_API_KEY"


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    api_base_url: str
    web_base_url: str
    environment: str
    debug: bool = False
    api_key: Optional[str] = None
    explicit: bool = False  # the hub was chosen by an option or a variable
    explicit_web: bool = False  # the web URL was given by an option or a variable
    competitions_source: Optional[str] = None  # --competitions or CRUNCH_COMPETITIONS_SOURCE

    def for_workspace(self, api_base_url: Optional[str], web_base_url: Optional[str] = None) -> "Settings":
        """The hub a workspace was set up against, unless one was chosen explicitly."""
        from dataclasses import replace

        result = self
        if not self.explicit and api_base_url:
            result = replace(result, api_base_url=normalize_base_url(api_base_url))
            if web_base_url and not self.explicit_web:
                result = replace(result, web_base_url=normalize_base_url(web_base_url, "--web-base-url"))
        return result

    def with_api_key(self) -> "Settings":
        """These settings with the API key of ``CRUNCH_API_KEY``, looked up also in the notebook
        platform's secrets (Colab's ``userdata``, Kaggle's ``kaggle_secrets``) when the variable
        is not set. Only asked when a command needs the key (``--token @api-key``, or a
        workspace without a push token)."""
        if self.api_key:
            return self
        from dataclasses import replace

        from ..core.platforms import secret
        from ..core.secrets import register

        key = secret(API_KEY_VARIABLE)
        if not key:
            return self
        register(key)
        return replace(self, api_key=key)

    @classmethod
    def resolve(
        cls,
        *,
        environment: Optional[str] = None,
        api_base_url: Optional[str] = None,
        web_base_url: Optional[str] = None,
        debug: bool = False,
        environ: Optional[Mapping[str, str]] = None,
        competitions_source: Optional[str] = None,
    ) -> "Settings":
        """Options win over variables, variables over the environment's defaults.

        Variables come from the environment, then from the current folder's ``.env`` (which
        never replaces a variable already set), as crunch-cli 13 reads them. A URL wins over an
        environment name: ``--api-base-url``, then ``API_BASE_URL``, then crunch-cli 13's
        ``CRUNCH_API_BASE_URL``, then ``--environment``/``CRUNCH_ENVIRONMENT``.
        """
        from .dotenv import environment_with_dotenv

        env = environment_with_dotenv() if environ is None else environ
        name = normalize_environment(environment or env.get("CRUNCH_ENVIRONMENT") or PRODUCTION)
        default_api, default_web = ENVIRONMENTS[name]
        api_variable = env.get("API_BASE_URL") or env.get("CRUNCH_API_BASE_URL")
        web_variable = env.get("WEB_BASE_URL") or env.get("CRUNCH_WEB_BASE_URL")
        api = normalize_base_url(api_base_url or api_variable or default_api, "--api-base-url")
        explicit_web = bool(web_base_url or web_variable)
        if explicit_web:
            web = normalize_base_url(web_base_url or web_variable or "", "--web-base-url")
        elif api != default_api:
            # an API URL of its own: the web pages of the environment it belongs to, else its own host
            web = next((w for a, w in ENVIRONMENTS.values() if a == api), api)
        else:
            web = default_web
        api_key = env.get("CRUNCH_API_KEY") or None
        if api_key:
            from ..core.secrets import register

            register(api_key)
        explicit = bool(environment or api_base_url or env.get("CRUNCH_ENVIRONMENT") or api_variable)
        return cls(
            explicit=explicit,
            explicit_web=explicit_web,
            api_base_url=api,
            web_base_url=web,
            environment=name,
            debug=debug or _truthy(env.get("CRUNCH_DEBUG")),
            api_key=api_key,
            competitions_source=(competitions_source or env.get("CRUNCH_COMPETITIONS_SOURCE") or "").strip() or None,
        )
