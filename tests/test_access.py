"""Who gets in: the allow-list, verified addresses, admins, the public-link warning (access)."""

from __future__ import annotations

import pytest

from spend import access
from spend.access import Policy, Viewer
from spend.errors import ConfigError

ACME = Policy(
    sign_in=True,
    allowed_emails=frozenset({"partner@outside.io"}),
    allowed_domains=frozenset({"acme.com"}),
    admins=frozenset({"boss@acme.com", "ops@contractor.net"}),
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("   ", ()),
        ("a@x.io", ("a@x.io",)),
        ("a@x.io, b@y.io", ("a@x.io", "b@y.io")),
        ("a@x.io;b@y.io\nc@z.io", ("a@x.io", "b@y.io", "c@z.io")),
        (" a@x.io ,, b@y.io ,", ("a@x.io", "b@y.io")),
        (["a@x.io", " b@y.io "], ("a@x.io", "b@y.io")),
        (["a@x.io, b@y.io", "c@z.io"], ("a@x.io", "b@y.io", "c@z.io")),
        ([], ()),
        (("acme.com",), ("acme.com",)),
    ],
)
def test_parse_list__strings_and_toml_arrays(value, expected):
    assert access.parse_list(value) == expected


def test_parse_list__rejects_a_number():
    with pytest.raises(ConfigError, match="comma-separated"):
        access.parse_list(42)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
    ],
)
def test_spend_public__accepts_the_usual_spellings(value, expected):
    # config.parse_flag reads it (access has no twin of its own): strings, TOML bools and numbers
    assert Policy.from_mapping({"SPEND_PUBLIC": value}, sign_in=False).public is expected


@pytest.mark.parametrize("value", ["maybe", "tru", "2", "public"])
def test_spend_public__rejects_anything_else_naming_the_setting(value):
    with pytest.raises(ConfigError, match="SPEND_PUBLIC"):
        Policy.from_mapping({"SPEND_PUBLIC": value}, sign_in=False)


def test_spend_public__no_twin_of_config_parse_flag():
    assert not hasattr(access, "parse_bool")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ana@acme.com", "ana@acme.com"),
        (" Ana@ACME.com ", "ana@acme.com"),
        ("ana+spend@acme.com", "ana+spend@acme.com"),
        ("ana", None),
        ("", None),
        ("@acme.com", None),
        ("ana@", None),
        ("a@b@acme.com", None),
        ("ana @acme.com", None),
        ("ana@acme.com,bo@acme.com", None),
        (None, None),
        (42, None),
        (["ana@acme.com"], None),
    ],
)
def test_normalize_email__one_address_or_none(text, expected):
    assert access.normalize_email(text) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, Policy(sign_in=True)),
        (
            {
                "SPEND_ALLOWED_EMAILS": "Partner@Outside.io",
                "SPEND_ALLOWED_DOMAINS": ["ACME.com", "@acme.org"],
                "SPEND_ADMINS": "boss@acme.com ops@contractor.net",
                "SPEND_PUBLIC": "true",
            },
            Policy(
                sign_in=True,
                allowed_emails=frozenset({"partner@outside.io"}),
                allowed_domains=frozenset({"acme.com", "acme.org"}),
                admins=frozenset({"boss@acme.com", "ops@contractor.net"}),
                public=True,
            ),
        ),
        ({"SPEND_ALLOWED_DOMAINS": "eu.acme.com"}, Policy(True, allowed_domains={"eu.acme.com"})),
        ({"UNRELATED": "x", "SPEND_PUBLIC": ""}, Policy(sign_in=True)),
    ],
)
def test_policy_from_mapping__reads_every_setting(values, expected):
    policy = Policy.from_mapping(values, sign_in=True)
    assert policy.allowed_emails == frozenset(expected.allowed_emails)
    assert policy.allowed_domains == frozenset(expected.allowed_domains)
    assert policy.admins == frozenset(expected.admins)
    assert policy.public is expected.public
    assert policy.sign_in is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"SPEND_ALLOWED_EMAILS": "ana"}, "SPEND_ALLOWED_EMAILS: 'ana' is not an e-mail address"),
        ({"SPEND_ADMINS": "boss@acme.com, root"}, "SPEND_ADMINS: 'root' is not an e-mail"),
        ({"SPEND_ALLOWED_DOMAINS": "*.acme.com"}, "no wildcards"),
        ({"SPEND_ALLOWED_DOMAINS": "acme"}, "'acme' is not a domain"),
        ({"SPEND_ALLOWED_DOMAINS": "ana@acme.com"}, "is not a domain"),
        ({"SPEND_ALLOWED_DOMAINS": "https://acme.com"}, "is not a domain"),
        ({"SPEND_PUBLIC": "sometimes"}, "SPEND_PUBLIC must be true or false"),
    ],
)
def test_policy_from_mapping__bad_entries_name_the_setting(values, message):
    with pytest.raises(ConfigError, match=message):
        Policy.from_mapping(values, sign_in=True)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"email_verified": True}, True),
        ({"email_verified": "true"}, True),
        ({"email_verified": "True"}, True),
        ({"email_verified": False}, False),
        ({"email_verified": "false"}, False),
        ({"email_verified": None}, False),
        ({"email_verified": 1}, False),
        ({}, False),
        # Microsoft Entra: no email_verified; the optional xms_edov claim stands in.
        ({"xms_edov": True}, True),
        ({"xms_edov": "true"}, True),
        ({"xms_edov": False}, False),
        # ...but only when email_verified is absent: an explicit false is never overridden.
        ({"email_verified": False, "xms_edov": True}, False),
    ],
)
def test_email_verified__only_a_true_claim_counts(claims, expected):
    assert access.email_verified(claims) is expected


@pytest.mark.parametrize(
    ("email", "verified", "allowed", "admin"),
    [
        ("ana@acme.com", True, True, False),
        ("Ana@ACME.COM", True, True, False),
        (" ana@acme.com ", True, True, False),
        ("ana@acme.com", False, False, False),
        # a domain matches exactly: no subdomains, no suffix or prefix look-alikes
        ("ana@eu.acme.com", True, False, False),
        ("ana@acme.com.evil.io", True, False, False),
        ("ana@evilacme.com", True, False, False),
        ("ana@acme.co", True, False, False),
        ("ana@acme.com@evil.io", True, False, False),
        ("acme.com@evil.io", True, False, False),
        # exact addresses
        ("partner@outside.io", True, True, False),
        ("PARTNER@outside.io", True, True, False),
        ("other@outside.io", True, False, False),
        ("partner@outside.io", False, False, False),
        # admins are allowed too, even outside the listed domains
        ("boss@acme.com", True, True, True),
        ("BOSS@acme.com", True, True, True),
        ("ops@contractor.net", True, True, True),
        ("ops@contractor.net", False, False, False),
        ("intern@contractor.net", True, False, False),
        # no usable address
        (None, True, False, False),
        ("", True, False, False),
        ("acme.com", True, False, False),
    ],
)
def test_is_allowed_and_is_admin__verified_exact_matches(email, verified, allowed, admin):
    assert access.is_allowed(email, verified, ACME) is allowed
    assert access.is_admin(email, verified, ACME) is admin


def test_is_allowed__an_empty_policy_lets_nobody_in():
    assert access.is_allowed("ana@acme.com", True, Policy(sign_in=True)) is False
    assert access.is_admin("ana@acme.com", True, Policy(sign_in=True)) is False


@pytest.mark.parametrize(
    ("email", "verified", "policy", "expected"),
    [
        ("ana@acme.com", True, ACME, None),
        ("ana@acme.com", False, ACME, "did not confirm that this e-mail address is verified"),
        (None, True, ACME, "did not send an e-mail address"),
        ("ana", True, ACME, "did not send an e-mail address"),
        ("eve@evilacme.com", True, ACME, "not on this app's list"),
        ("ana@acme.com", True, Policy(sign_in=True), "Nobody is allowed in yet"),
    ],
)
def test_refusal__says_why(email, verified, policy, expected):
    reason = access.refusal(email, verified, policy)
    if expected is None:
        assert reason is None
    else:
        assert expected in reason


@pytest.mark.parametrize(
    ("claims", "policy", "expected"),
    [
        # without sign-in everyone is an admin, whatever st.user holds
        ({}, Policy(), Viewer(email=None, signed_in=False, is_admin=True, allowed=True)),
        (
            {"email": "eve@evil.io", "is_logged_in": True},
            Policy(),
            Viewer(email=None, signed_in=False, is_admin=True, allowed=True),
        ),
        # with sign-in, nobody signed in sees nothing
        ({}, ACME, Viewer(email=None, signed_in=False, is_admin=False, allowed=False)),
        (
            {"is_logged_in": False, "email": "boss@acme.com", "email_verified": True},
            ACME,
            Viewer(email=None, signed_in=False, is_admin=False, allowed=False),
        ),
        (
            {"is_logged_in": True, "email": "ana@acme.com", "email_verified": True},
            ACME,
            Viewer(email="ana@acme.com", signed_in=True, is_admin=False, allowed=True),
        ),
        (
            {"is_logged_in": True, "email": "Boss@Acme.com", "email_verified": True},
            ACME,
            Viewer(email="Boss@Acme.com", signed_in=True, is_admin=True, allowed=True),
        ),
        (
            {"is_logged_in": True, "email": "boss@acme.com", "email_verified": False},
            ACME,
            Viewer(email="boss@acme.com", signed_in=True, is_admin=False, allowed=False),
        ),
        (
            {"is_logged_in": True, "email": "ana@acme.com.evil.io", "email_verified": True},
            ACME,
            Viewer(email="ana@acme.com.evil.io", signed_in=True, is_admin=False, allowed=False),
        ),
        (
            {"is_logged_in": True, "sub": "123", "name": "No Mail"},
            ACME,
            Viewer(email=None, signed_in=True, is_admin=False, allowed=False),
        ),
        (
            {"is_logged_in": True, "email": "ana@acme.com", "xms_edov": True},
            ACME,
            Viewer(email="ana@acme.com", signed_in=True, is_admin=False, allowed=True),
        ),
    ],
)
def test_viewer_for__claims_and_policy_into_a_viewer(claims, policy, expected):
    viewer = access.viewer_for(claims, policy)
    assert viewer == expected
    assert viewer.needs_sign_in is (policy.sign_in and not claims.get("is_logged_in"))


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"email": "ana@acme.com", "name": "Ana"}, "ana@acme.com"),
        ({"email": "  ", "preferred_username": "ana@corp"}, "ana@corp"),
        ({"name": "Ana Lima", "sub": "42"}, "Ana Lima"),
        ({"sub": "42"}, "42"),
        ({"email": None, "sub": 42}, "an account without a name"),
        ({}, "an account without a name"),
    ],
)
def test_display_name__the_best_name_the_claims_give(claims, expected):
    assert access.display_name(claims) == expected


@pytest.mark.parametrize(
    ("policy", "deployment_key", "expected"),
    [
        (Policy(), True, True),
        (Policy(), False, False),
        (Policy(public=True), True, False),
        (Policy(sign_in=True), True, False),
        (Policy(sign_in=True, public=True), True, False),
    ],
)
def test_needs_public_warning__key_without_sign_in_unless_public(policy, deployment_key, expected):
    assert access.needs_public_warning(policy, deployment_key=deployment_key) is expected


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"redirect_uri": "u", "cookie_secret": "s", "client_id": "c", "client_secret": "x"},
            [None],
        ),
        ({"redirect_uri": "u", "google": {"client_id": "c"}}, ["google"]),
        (
            {"redirect_uri": "u", "microsoft": {"client_id": "c"}, "okta": {"client_id": "d"}},
            ["microsoft", "okta"],
        ),
        ({"redirect_uri": "u", "client_kwargs": {"prompt": "login"}}, [None]),
        ({}, [None]),
        (None, [None]),
    ],
)
def test_sign_in_providers__default_or_named_sections(section, expected):
    assert access.sign_in_providers(section) == expected


KELVIN = "\u212a"  # KELVIN SIGN: str.lower() turns it into a plain "k"
UNICODE_POLICY = Policy(
    sign_in=True,
    allowed_emails=frozenset({"jürgen@partner.de", "ana@acme.io"}),
    allowed_domains=frozenset({"acme.com"}),
    admins=frozenset({"kboss@acme.io", "istanbul@acme.io"}),
)


@pytest.mark.parametrize(
    ("email", "allowed", "admin"),
    [
        ("kboss@acme.io", True, True),
        ("KBoss@ACME.io", True, True),
        # no Unicode case folding: a look-alike of an admin is not that admin
        (f"{KELVIN}boss@acme.io", False, False),
        (f"{KELVIN.lower()}boss@acme.io", True, True),  # a plain "k" typed as such
        ("\u0130stanbul@acme.io", False, False),  # İ (dotted capital I) lowers to "i̇"
        ("ıstanbul@acme.io", False, False),  # dotless ı
        ("ana@acme.\u0130o", False, False),
        ("ana@acme.io\u200b", False, False),  # a zero-width space is a character too
        ("ａna@acme.io", False, False),  # fullwidth a: no NFKC normalization either
        # other non-ASCII characters match only an entry spelled identically
        ("jürgen@partner.de", True, False),
        ("Jürgen@PARTNER.de", True, False),
        ("JÜRGEN@partner.de", False, False),
        ("ju\u0308rgen@partner.de", False, False),  # the same letters, decomposed
        # a listed domain still admits its addresses, non-ASCII local parts included
        ("ßen@acme.com", True, False),
        ("ana@ACME.COM", True, False),
        (f"ana@acme.co{KELVIN}", False, False),
    ],
)
def test_unicode_addresses__only_ascii_letters_fold(email, allowed, admin):
    assert access.is_allowed(email, True, UNICODE_POLICY) is allowed
    assert access.is_admin(email, True, UNICODE_POLICY) is admin


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"SPEND_ADMINS": "KBoss@Acme.io"}, {"kboss@acme.io"}),
        ({"SPEND_ADMINS": f"{KELVIN}boss@acme.io"}, {f"{KELVIN}boss@acme.io"}),
        ({"SPEND_ADMINS": "JÜRGEN@partner.de"}, {"jÜrgen@partner.de"}),
    ],
)
def test_unicode_addresses__entries_fold_ascii_only_too(values, expected):
    assert Policy.from_mapping(values, sign_in=True).admins == frozenset(expected)


def test_unicode_domains__an_entry_is_never_folded_into_ascii():
    with pytest.raises(ConfigError, match="is not a domain"):
        Policy.from_mapping({"SPEND_ALLOWED_DOMAINS": f"{KELVIN}acme.com"}, sign_in=True)
