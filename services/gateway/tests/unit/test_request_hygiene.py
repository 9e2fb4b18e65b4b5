import pytest
from oms_gateway.domain.request_hygiene import encode_query, header_fault, path_fault
from oms_gateway.domain.routing import resolve


@pytest.mark.parametrize(
    "raw",
    [
        b"/api/v1/catalog/skus/../warehouses",
        b"/api/v1/orders/./o1",
        b"/api/v1/catalog/skus/..%2Fwarehouses",
        b"/api/v1/catalog/skus/%2e%2e",
        b"/api/v1/orders/%3F5/conversation",
        b"/api/v1/orders/a%23b",
        b"/api/v1/orders/a%5Cb",
        b"/pay/sandbox/a%0Db",
        b"/pay/sandbox/a\rb",
        b"/pay/sandbox/a\xffb",
        b"/api/v1/orders//o1",
        b"api/v1/orders",
        b"/" + b"a" * 3000,
    ],
)
def test_a_path_that_is_not_plain_segments_is_refused(raw: bytes) -> None:
    assert path_fault(raw) is not None


@pytest.mark.parametrize(
    "raw", [b"/", b"/api/v1/orders/", b"/api/v1/catalog/skus/T%C3%A9e%20%25", b"/api/v1/orders/export.csv"]
)
def test_plain_paths_pass(raw: bytes) -> None:
    assert path_fault(raw) is None


def test_headers_the_gateway_reads_must_be_visible_ascii() -> None:
    names = frozenset({"if-match"})
    assert header_fault([(b"If-Match", b'"1\xc3\xa9"')], names) is not None
    assert header_fault([(b"if-match", b'"1"\x01')], names) is not None
    assert header_fault([(b"if-match", b'"1"\t')], names) is None
    assert header_fault([(b"user-agent", b"\xc3\xa9")], names) is None  # dropped anyway


def test_the_upstream_path_is_encoded_segment_by_segment() -> None:
    resolved = resolve("GET", "/api/v1/catalog/skus/Tée %/x")
    assert resolved is not None
    assert resolved.upstream_path == "/skus/T%C3%A9e%20%25/x"


def test_the_query_keeps_its_escapes_and_encodes_raw_bytes() -> None:
    assert encode_query(b"q=a%20b&x=%3F") == "q=a%20b&x=%3F"
    assert encode_query(b"q=a b\x01\xff#") == "q=a%20b%01%FF%23"
