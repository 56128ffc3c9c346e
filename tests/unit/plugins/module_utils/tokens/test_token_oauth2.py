"""oauth2 provider: challenge parsing, and both token flows against the token service
stand-in (tests/fixtures/token_service.py, the one that fronts the real registry in
the integration tests)."""

from __future__ import annotations


import jwt
import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import oauth2
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError

from fixtures.token_service import TokenService, make_signing_pair  # noqa: E402

USER, PAT = "alice", "alice-personal-access-token-42"


@pytest.mark.parametrize(
    "header, expected",
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
            {"scheme": "bearer", "realm": "https://auth.docker.io/token", "service": "registry.docker.io"},
        ),
        (
            'Bearer realm="https://h/t",service="s",scope="repository:a/b:pull,push"',
            {"scheme": "bearer", "realm": "https://h/t", "service": "s", "scope": "repository:a/b:pull,push"},
        ),
        ('Basic realm="Registry Realm"', {"scheme": "basic", "realm": "Registry Realm"}),
        ('Bearer realm=https://h/t, service="a \\"q\\" b"', {"scheme": "bearer", "realm": "https://h/t", "service": 'a "q" b'}),
    ],
)
def test_parse_challenge(header, expected):
    assert oauth2.parse_challenge(header) == expected


@pytest.mark.parametrize(
    "options, scopes",
    [
        ({"repository": "team/app"}, ["repository:team/app:pull"]),
        ({"repository": "team/app", "actions": ["pull", "push"]}, ["repository:team/app:pull,push"]),
        ({"repository": "x", "scope": ["registry:catalog:*"]}, ["registry:catalog:*"]),
        ({}, []),
    ],
)
def test_scopes(options, scopes):
    assert oauth2.scopes(options) == scopes


@pytest.mark.parametrize(
    "registry, base, host",
    [
        ("docker.io", "https://registry-1.docker.io", "docker.io"),
        ("harbor.example.com", "https://harbor.example.com", "harbor.example.com"),
        ("https://127.0.0.1:5000/", "https://127.0.0.1:5000", "127.0.0.1:5000"),
    ],
)
def test_registry_base(registry, base, host):
    assert oauth2.registry_base({"registry": registry}) == (base, host)


def test_identity_hashes_the_password():
    ident = oauth2.identity({"registry": "r.example", "username": USER, "password": PAT, "repository": "a/b"})
    assert PAT not in ident and USER in ident and "repository:a/b:pull" in ident
    assert oauth2.identity({"registry": "r.example", "username": USER, "password": "other"}) != ident


@pytest.fixture(scope="module")
def token_service():
    key, cert = make_signing_pair()
    svc = TokenService(key, cert, users={USER: PAT}, token_ttl=900).start()
    yield svc
    svc.stop()


def _opts(svc, **kw):
    opts = {
        "registry": "https://registry.test.invalid",
        "realm": svc.realm,
        "service": svc.service,
        "username": USER,
        "password": PAT,
        "repository": "team/app",
        "allow_http": True,
    }
    opts.update(kw)
    return opts


def test_access_token_for_a_repository_scope(token_service):
    before = token_service.stats()
    cred = oauth2.mint(_opts(token_service))
    claims = jwt.decode(cred.password, options={"verify_signature": False})
    assert claims["sub"] == USER and claims["aud"] == token_service.service
    assert claims["access"] == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    assert cred.username == USER and cred.registry == "registry.test.invalid"
    assert 890 <= cred.seconds_left() <= 900
    assert token_service.stats()["verifications"] == before["verifications"] + 1


def test_refresh_token_flow(token_service):
    cred = oauth2.mint(_opts(token_service, token_type="refresh_token", token_username="<token>"))
    assert cred.expires_at is None and cred.username == "<token>"
    assert token_service.refresh_user(cred.password) == USER


def test_wrong_password_is_a_401_naming_the_fix(token_service):
    with pytest.raises(TokenError) as err:
        oauth2.mint(_opts(token_service, password="wrong-password-value"))
    msg = str(err.value)
    assert "provider=oauth2" in msg and "HTTP 401" in msg and "check username and password" in msg
    assert "wrong-password-value" not in msg


def test_http_realm_needs_allow_http(token_service):
    with pytest.raises(TokenError, match="refusing plain http"):
        oauth2.mint(_opts(token_service, allow_http=False))


def test_registry_without_token_service_is_explained(token_service):
    # the token service's own /v2/ is not a registry: it answers 404 without a challenge
    with pytest.raises(TokenError, match=r"without a Bearer challenge; check registry"):
        oauth2.mint(_opts(token_service, registry=token_service.url, realm=None))


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=10)
_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@given(st.dictionaries(_names, _values, min_size=1, max_size=5))
def test_parse_challenge_round_trips_quoted_parameters(params):
    params = {k.lower(): v for k, v in params.items() if k.lower() != "scheme"}
    header = "Bearer " + ",".join('%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"')) for k, v in params.items())
    parsed = oauth2.parse_challenge(header)
    assert parsed.pop("scheme") == "bearer"
    assert parsed == params
