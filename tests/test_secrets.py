from crunch.core.secrets import redact, register


def test_registered_secret_is_masked():
    register("MY-SECRET-VALUE-42")
    assert redact("token MY-SECRET-VALUE-42 here") == "token *** here"


def test_query_and_header_and_json_patterns():
    assert redact("GET /x?pushToken=abc&y=1") == "GET /x?pushToken=***&y=1"
    assert redact("Authorization: API-Key zzz") == "Authorization: API-Key ***"
    assert redact('{"cloneToken": "qqq"}') == '{"cloneToken": "***"}'
