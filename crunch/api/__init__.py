"""The hub protocol: a thin HTTP client, typed answers, and error mapping."""

from .client import Backoff, Client
from .errors import KNOWN_CODES, error_from_response

__all__ = ["Backoff", "Client", "KNOWN_CODES", "error_from_response"]
