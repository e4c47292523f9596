"""Tokens never leave the hub's origin: redirects of calls that carry a token stay at the hub's
own scheme, host and port; data links follow a few http(s) redirects only; a password in a
hub's address is shown masked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest
from conftest import Hub, crunch_env, run_crunch
from http_proxy import CraftingProxy

from crunch.api.client import MAX_REDIRECTS, Backoff, Client, RedirectRefused, origin, send_following
from crunch.core.secrets import mask_url, redact
from crunch.exceptions import CrunchError


@pytest.fixture
def pair(shared_hub: Hub) -> Iterator[Tuple[CraftingProxy, CraftingProxy]]:
    """``front`` forwards to the hub (the address crunch is given); ``elsewhere`` is another
    origin (another port) that records whatever reaches it."""
    front = CraftingProxy(shared_hub.url)
    elsewhere = CraftingProxy(shared_hub.url)
    elsewhere.rules = {"/": lambda method, path, forward: (200, {"Content-Type": "application/json"}, b"{}")}
    yield front, elsewhere
    front.close()
    elsewhere.close()


def redirect_to(base: str, status: int = 307) -> Any:
    return lambda method, path, forward: (status, {"Location": base.rstrip("/") + path}, b"")


def one_error(output: str, stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert "unexpected" not in output.lower() and "Traceback" not in output
    return errors[0]


# -- units -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("a, b, same", [
    ("http://h/", "http://h:80/x", True),
    ("https://H/", "https://h:443/", True),
    ("http://h/", "https://h/", False),
    ("http://h:8000/", "http://h:8001/", False),
    ("http://h/", "http://evil/", False),
    ("http://user:pw@h/", "http://h/y", True),
])
def test_origin(a: str, b: str, same: bool) -> None:
    assert (origin(a) == origin(b)) is same


def test_passwords_in_addresses_are_masked() -> None:
    assert mask_url("http://user:s3cret@hub:8000/v1?x=1") == "http://user:***@hub:8000/v1?x=1"
    assert mask_url("https://hub/") == "https://hub/"
    text = redact("cannot reach the hub at https://me:p%40ss@hub.example/ (refused), see http://a:b@c/")
    assert "p%40ss" not in text and ":b@" not in text and "https://me:***@hub.example/" in text


def test_api_key_call_refuses_a_redirect_elsewhere(pair: Tuple[CraftingProxy, CraftingProxy]) -> None:
    front, elsewhere = pair
    front.rules = {"/v2/competitions": redirect_to(elsewhere.url, 302)}
    client = Client(front.url, api_key="key-that-must-stay", backoff=Backoff(0, 0))
    with pytest.raises(RedirectRefused) as error:
        client.list_competitions()
    host = elsewhere.url.split("//")[1].rstrip("/")
    assert host in error.value.message and "?" not in error.value.message
    assert elsewhere.requests == []


def test_a_call_without_token_may_follow_a_redirect_elsewhere(pair: Tuple[CraftingProxy, CraftingProxy]) -> None:
    front, elsewhere = pair
    elsewhere.rules = {}  # forwards to the hub
    front.rules = {"/v2/competitions": redirect_to(elsewhere.url, 302)}
    names = [c.name for c in Client(front.url, backoff=Backoff(0, 0)).list_competitions()]
    assert "demo" in names and len(elsewhere.requests) >= 1


def test_same_origin_redirect_keeps_the_token(pair: Tuple[CraftingProxy, CraftingProxy], shared_hub: Hub) -> None:
    front, _ = pair
    hops = []

    def moved(method: str, path: str, forward: Any) -> Any:
        hops.append(path)
        return 308, {"Location": "/_moved" + path}, b""

    def landed(method: str, path: str, forward: Any) -> Any:
        headers = dict(front.requests[-1][2])
        return front.forward(method, path[len("/_moved"):], headers, b"")

    front.rules = {"/v1/competitions/": moved, "/_moved/": landed}
    client = Client(front.url, api_key=shared_hub.api_key(), backoff=Backoff(0, 0))
    assert client.get_competition("demo").name == "demo"
    assert hops and front.requests[-1][1].startswith("/_moved/")
    assert front.requests[-1][2].get("Authorization", "").startswith("API-Key ")


def test_redirects_are_followed_a_few_times_only(pair: Tuple[CraftingProxy, CraftingProxy]) -> None:
    front, _ = pair
    front.rules = {"/loop": lambda method, path, forward: (302, {"Location": "/loop"}, b"")}
    from crunch.api.client import new_session

    with pytest.raises(RedirectRefused) as error:
        send_following(new_session(), "GET", front.url + "loop", timeout=5)
    assert f"more than {MAX_REDIRECTS}" in error.value.message
    assert len(front.requests) == MAX_REDIRECTS + 1


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/_x"])
def test_redirects_to_other_schemes_are_refused(pair: Tuple[CraftingProxy, CraftingProxy], target: str) -> None:
    front, _ = pair
    front.rules = {"/x": lambda method, path, forward: (301, {"Location": target}, b"")}
    from crunch.api.client import new_session

    with pytest.raises(RedirectRefused) as error:
        send_following(new_session(), "GET", front.url + "x", timeout=5)
    assert target.split(":")[0] + ":" in error.value.message


def test_303_after_post_continues_as_get_without_body(pair: Tuple[CraftingProxy, CraftingProxy]) -> None:
    front, elsewhere = pair
    front.rules = {"/post": lambda method, path, forward: (303, {"Location": elsewhere.url + "seen"}, b"")}
    from crunch.api.client import new_session

    response = send_following(new_session(), "POST", front.url + "post", json={"a": 1}, timeout=5)
    assert response.status_code == 200
    assert elsewhere.requests[-1][0] == "GET" and "Content-Length" not in elsewhere.requests[-1][2]


# -- through the real process ----------------------------------------------------------------------


@pytest.mark.e2e
def test_setup_token_is_not_sent_across_a_redirect(pair: Tuple[CraftingProxy, CraftingProxy], shared_hub: Hub, tmp_path: Path) -> None:
    front, elsewhere = pair
    front.rules = {"/v2/project-tokens/upgrade": redirect_to(elsewhere.url + "steal?keep=1", 307)}
    token = shared_hub.token("demo", "origins")
    result = run_crunch("--api-base-url", front.url, "setup", "demo", "origins", "ws", "--token", token, "--no-data", cwd=tmp_path, env=shared_hub.env())
    assert result.returncode == 1, result.output
    line = one_error(result.output, result.stderr)
    host = elsewhere.url.split("//")[1].rstrip("/")
    assert host in line and "steal" not in line and "keep=1" not in line
    assert elsewhere.requests == []  # nothing, not even the body of the 307, went there
    assert token not in result.output
    assert not (tmp_path / "ws").exists()
    assert shared_hub.client().upgrade_token(token).plain  # the setup token was not spent


@pytest.mark.e2e
def test_push_token_is_not_sent_across_a_redirect(pair: Tuple[CraftingProxy, CraftingProxy], shared_hub: Hub, tmp_path: Path) -> None:
    front, elsewhere = pair
    token = shared_hub.token("demo", "origins-push")
    made = run_crunch("--api-base-url", front.url, "setup", "demo", "origins-push", "ws", "--token", token, "--no-data", cwd=tmp_path, env=shared_hub.env())
    assert made.returncode == 0, made.output
    push_token = (tmp_path / "ws" / ".crunchdao" / "token").read_text().strip()
    for status in (301, 302, 303, 307, 308):
        front.rules = {"/v2/competitions/demo/rounds/": redirect_to(elsewhere.url, status)}
        result = run_crunch("download", cwd=tmp_path / "ws", env=shared_hub.env())
        assert result.returncode == 1, result.output
        line = one_error(result.output, result.stderr)
        assert elsewhere.url.split("//")[1].rstrip("/") in line, line
        assert push_token not in result.output
    assert elsewhere.requests == []


@pytest.mark.e2e
def test_data_links_follow_redirects_within_limits(pair: Tuple[CraftingProxy, CraftingProxy], shared_hub: Hub, tmp_path: Path) -> None:
    front, elsewhere = pair
    token = shared_hub.token("demo", "origins-data")
    made = run_crunch("--api-base-url", front.url, "setup", "demo", "origins-data", "ws", "--token", token, "--no-data", cwd=tmp_path, env=shared_hub.env())
    assert made.returncode == 0, made.output
    content = b"moved data " * 100

    def release(target: str) -> Any:
        def rule(method: str, path: str, forward: Any) -> Any:
            status, headers, body = forward()
            document = json.loads(body)
            document["dataFiles"]["extra"] = {"name": "extra.bin", "url": front.url + target, "size": len(content), "signed": True, "compressed": False}
            return status, {"Content-Type": "application/json"}, json.dumps(document).encode()

        return rule

    elsewhere.rules = {"/store/": lambda method, path, forward: (200, {"Content-Type": "application/octet-stream"}, content)}
    front.rules = {
        "/v2/competitions/demo/rounds/": release("_crafted/moved"),
        "/_crafted/moved": lambda m, p, f: (302, {"Location": elsewhere.url + "store/extra.bin?X-Signature=abc"}, b""),
    }
    ok = run_crunch("download", cwd=tmp_path / "ws", env=shared_hub.env())
    assert ok.returncode == 0, ok.output
    assert (tmp_path / "ws" / "data" / "extra.bin").read_bytes() == content
    assert all("pushToken" not in path and "Authorization" not in headers for _, path, headers in elsewhere.requests)

    for target, rule, expect in [
        ("_crafted/file", lambda m, p, f: (302, {"Location": "file:///etc/passwd"}, b""), "file:"),
        ("_crafted/loop", lambda m, p, f: (302, {"Location": "/_crafted/loop"}, b""), f"more than {MAX_REDIRECTS}"),
    ]:
        front.rules = {"/v2/competitions/demo/rounds/": release(target), "/" + target: rule}
        (tmp_path / "ws" / "data" / "extra.bin").unlink(missing_ok=True)
        failed = run_crunch("download", cwd=tmp_path / "ws", env=shared_hub.env())
        assert failed.returncode == 1, failed.output
        assert expect in one_error(failed.output, failed.stderr)


@pytest.mark.e2e
def test_a_password_in_the_hub_address_is_masked(shared_hub: Hub, tmp_path: Path) -> None:
    address = shared_hub.url.replace("http://", "http://someone:hunter2pw@")
    ok = run_crunch("--api-base-url", address, "ping", cwd=tmp_path, env=crunch_env())
    assert ok.returncode == 0, ok.output
    assert "hunter2pw" not in ok.output and "someone:***@" in ok.output
    failed = run_crunch("--api-base-url", "http://someone:hunter2pw@127.0.0.1:9/", "ping", cwd=tmp_path, env=crunch_env({"CRUNCH_RETRIES": "0"}))
    assert failed.returncode == 1
    line = one_error(failed.output, failed.stderr)
    assert "hunter2pw" not in failed.output and "someone:***@127.0.0.1:9" in line


def test_messages_of_the_client_mask_the_password() -> None:
    client = Client("http://someone:pw@127.0.0.1:9/", backoff=Backoff(0, 0))
    with pytest.raises(CrunchError) as error:
        client.list_competitions()
    assert ":pw@" not in error.value.message and "someone:***@" in error.value.message
