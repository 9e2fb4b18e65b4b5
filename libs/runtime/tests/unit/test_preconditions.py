from __future__ import annotations

import pytest
from oms_runtime.preconditions import etag, expected_version
from oms_runtime.problems import Problem


@pytest.mark.parametrize(
    ("header", "version"), [('"3"', 3), ("3", 3), ('W/"12"', 12), (" 7 ", 7), (None, None), ("", None)]
)
def test_if_match_carries_the_version_as_sent_in_the_etag(header, version):
    assert expected_version(header) == version


def test_a_version_in_the_body_wins_over_the_header():
    assert expected_version('"3"', 5) == 5


def test_an_unreadable_if_match_names_the_header():
    with pytest.raises(Problem) as raised:
        expected_version('"abc"')
    assert raised.value.status == 422
    assert raised.value.errors is not None
    assert [e["field"] for e in raised.value.errors] == ["If-Match"]


def test_etag_round_trips():
    assert expected_version(etag(42)) == 42


def test_an_if_match_beyond_an_8_byte_integer_is_refused_not_sent_to_mongodb():
    assert expected_version(f'"{2**63 - 1}"') == 2**63 - 1
    with pytest.raises(Problem) as raised:
        expected_version('"100000000000000000000"')
    assert raised.value.status == 422
