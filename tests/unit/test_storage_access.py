"""How the store is reached and how its failures are told (``taipod.storage``'s Access and error classification)."""

from __future__ import annotations

import pytest

from taipod import storage
from taipod.core.plan import parse_termination_message


def test_access_options_are_for_s3_urls_only() -> None:
    access = storage.Access(endpoint="http://127.0.0.1:7070", key="k", secret="s", region="eu-west-1")
    options = access.options("s3://bucket/prefix/x.pkl")
    assert options["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:7070", "region_name": "eu-west-1"}
    assert (options["key"], options["secret"], options["use_listings_cache"]) == ("k", "s", False)
    assert access.options("file:///data/x.pkl") == {} and access.options("/data/x.pkl") == {}
    assert "key" not in storage.Access().options("s3://b/x")  # credentials left to botocore's chain


def test_access_from_env_prefers_taipods_variable_then_aws() -> None:
    env = {"AWS_ENDPOINT_URL": "http://aws", "TAIPOD_STORAGE_ENDPOINT": "http://taipod", "TAIPOD_STORAGE_REGION": "r"}
    assert storage.Access.from_env(env) == storage.Access(endpoint="http://taipod", region="r")
    assert storage.Access.from_env({"AWS_ENDPOINT_URL": "http://aws"}).endpoint == "http://aws"
    assert storage.Access.from_env({}) == storage.Access()


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (PermissionError("Forbidden"), "credentials"),
        (
            OSError(5, "An error occurred (XAdminUserNotFound): No user exists with the provided access key ID."),
            "credentials",
        ),
        (Exception("NoCredentialsError: Unable to locate credentials"), "credentials"),
        (FileNotFoundError("The specified bucket does not exist."), "bucket"),
        (Exception('EndpointConnectionError: Could not connect to the endpoint URL: "http://x"'), "unreachable"),
        (ConnectionRefusedError("refused"), "unreachable"),
    ],
)
def test_store_failures_are_classified_with_a_fix(error: Exception, cause: str) -> None:
    classified = storage._classify("s3://b/x", storage.Access("http://127.0.0.1:1"), error)
    assert classified is not None and classified.cause == cause and "Fix:" in str(classified)


def test_a_missing_object_is_not_a_store_failure() -> None:
    assert storage._classify("s3://b/x", None, FileNotFoundError("b/x")) is None
    assert storage._classify("/local/x", None, PermissionError("no")) is None  # local files keep their own errors


def test_the_operator_takes_the_runners_reason() -> None:
    report = parse_termination_message('{"ok":false,"error":"E","reason":"StorageUnavailable","stacktrace":""}')
    assert report.reason == "StorageUnavailable"
    assert parse_termination_message('{"ok":false,"error":"E","reason":"not an identifier!"}').reason is None
