"""XML parsing refuses DTDs and entities before anything is expanded."""

import time

import pytest

from vendorkit.xmlsafe import XMLRejected, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Request><LoginName>&lol3;</LoginName></Request>"""

EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL, b"<!doctype html><r/>"])
def test_doctypes_are_refused_quickly(body):
    started = time.monotonic()
    with pytest.raises(XMLRejected) as caught:
        parse_xml(body)
    assert caught.value.reason == "doctype"
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("body", [b"<r>", b"not xml", b"<r>\xff</r>", b""])
def test_malformed_xml_is_refused(body):
    with pytest.raises(XMLRejected) as caught:
        parse_xml(body)
    assert caught.value.reason == "malformed"


def test_well_formed_xml_parses():
    root = parse_xml(b'<Api_OffboardUserReq userName="kim"><userId>5</userId></Api_OffboardUserReq>')
    assert (
        root.tag == "Api_OffboardUserReq" and root.get("userName") == "kim" and root.findtext("userId") == "5"
    )
