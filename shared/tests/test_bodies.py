"""The shared strict JSON reader: each rule, its reason word, and the order the rules apply in."""

import pytest

from vendorkit import bodies
from vendorkit.bodies import MalformedInput, parse_json, text_problem


def reason_of(raw: bytes, **options) -> str:
    with pytest.raises(MalformedInput) as caught:
        parse_json(raw, **options)
    assert caught.value.reason in bodies.REASONS
    assert caught.value.detail
    return caught.value.reason


def test_a_plain_document_is_returned_as_python_values():
    raw = '{"name": "Kim Ünal", "roles": ["a", "b"], "age": 41, "ratio": 0.5, "ok": true, "x": null}'
    assert parse_json(raw.encode()) == {
        "name": "Kim Ünal",
        "roles": ["a", "b"],
        "age": 41,
        "ratio": 0.5,
        "ok": True,
        "x": None,
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", bodies.SYNTAX),
        (b"{", bodies.SYNTAX),
        (b'{"a": 1,}', bodies.SYNTAX),
        (b"{'a': 1}", bodies.SYNTAX),
        (b'{"a": "tab\there"}', bodies.SYNTAX),  # a raw control character inside a string
        (b'{"a": 1} {"b": 2}', bodies.SYNTAX),
        (b'{"a": "\xff"}', bodies.NOT_UTF8),
        (b'{"a": "\xc3"}', bodies.NOT_UTF8),
        (b"\xfe\xff{}", bodies.NOT_UTF8),
        (b"NaN", bodies.NAN),
        (b'{"a": NaN}', bodies.NAN),
        (b'{"a": -Infinity}', bodies.NAN),
        (b'{"a": 1e999}', bodies.NAN),
        (b'{"a": 1' + b"0" * 5000 + b"}", bodies.HUGE_NUMBER),
        (b'{"a": -1' + b"0" * 200 + b"}", bodies.HUGE_NUMBER),
        (b'{"a": "\\ud800"}', bodies.LONE_SURROGATE),
        (b'{"\\udfff": 1}', bodies.LONE_SURROGATE),
        (b'["ok", ["\\ud800x"]]', bodies.LONE_SURROGATE),
        (b"[" * 10_000 + b"]" * 10_000, bodies.TOO_DEEP),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, bodies.TOO_DEEP),
    ],
)
def test_each_malformed_body_is_refused_with_its_reason(raw, reason):
    assert reason_of(raw) == reason


def test_a_paired_surrogate_escape_is_one_character():
    assert parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def test_nesting_is_allowed_up_to_max_depth_and_refused_beyond():
    assert parse_json(b"[" * 64 + b"]" * 64) is not None
    assert reason_of(b"[" * 65 + b"]" * 65) == bodies.TOO_DEEP
    assert parse_json(b'{"a":' * 3 + b"1" + b"}" * 3, max_depth=3) == {"a": {"a": {"a": 1}}}
    assert reason_of(b'{"a":' * 4 + b"1" + b"}" * 4, max_depth=3) == bodies.TOO_DEEP


def test_nan_and_overflow_may_be_allowed():
    document = parse_json(b"[NaN, Infinity, 1e999]", allow_nan=True)
    assert [str(number) for number in document] == ["nan", "inf", "inf"]


def test_large_but_bounded_integers_are_kept_exactly():
    digits = "9" * bodies.MAX_INTEGER_DIGITS
    assert parse_json(f"[{digits}, -{digits}]".encode()) == [int(digits), -int(digits)]


def test_size_is_checked_first():
    assert parse_json(b'{"a": 1}', max_bytes=8) == {"a": 1}
    assert reason_of(b'{"a": 10}', max_bytes=8) == bodies.TOO_LARGE
    assert reason_of(b"\xff" * 9, max_bytes=8) == bodies.TOO_LARGE


def test_utf8_is_checked_before_syntax():
    assert reason_of(b"{\xff") == bodies.NOT_UTF8


def test_syntax_is_checked_before_the_top_level_type():
    assert reason_of(b"[", require_object=True) == bodies.SYNTAX
    assert reason_of(b'["\\ud800"]', require_object=True) == bodies.LONE_SURROGATE


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"5", b"null", b"true", b" [1] "])
def test_require_object_refuses_other_top_level_values(raw):
    parse_json(raw)  # valid JSON: only the object rule refuses it
    assert reason_of(raw, require_object=True) == bodies.NOT_OBJECT


def test_duplicate_keys_last_wins_unless_refused():
    assert parse_json(b'{"a": 1, "a": 2}') == {"a": 2}
    assert reason_of(b'{"a": 1, "b": {"c": 1, "c": 2}}', allow_duplicate_keys=False) == bodies.DUPLICATE_KEY
    assert parse_json(b'{"a": 1, "A": 2}', allow_duplicate_keys=False) == {"a": 1, "A": 2}


def test_nul_and_control_escapes_are_refused_only_when_asked():
    assert parse_json(b'{"a": "x\\u0000y"}') == {"a": "x\x00y"}
    assert reason_of(b'{"a": "x\\u0000y"}', allow_nul=False) == bodies.NUL
    assert reason_of(b'{"x\\u0000": 1}', allow_nul=False) == bodies.NUL
    assert parse_json(b'{"a": "x\\u0007y"}', allow_nul=False) == {"a": "x\x07y"}
    assert reason_of(b'{"a": "x\\u0007y"}', allow_controls=False) == bodies.CONTROL
    assert reason_of(b'{"a": "x\\u0085y"}', allow_controls=False) == bodies.CONTROL


def test_lone_surrogates_may_be_left_to_the_caller():
    assert parse_json(b'{"a": "\\ud800"}', allow_lone_surrogates=True) == {"a": "\ud800"}


def test_a_byte_order_mark_is_refused_unless_stripped():
    assert reason_of(b"\xef\xbb\xbf{}") == bodies.SYNTAX
    assert parse_json(b"\xef\xbb\xbf{}", strip_bom=True) == {}


class Pairs(list):
    """An object as its pairs, the way a caller that must see repeated keys keeps it."""


def test_an_object_pairs_hook_sees_every_pair_and_still_gets_every_check():
    document = parse_json(b'{"a": 1, "a": {"b": 2}}', object_pairs_hook=Pairs, require_object=True)
    assert document == [("a", 1), ("a", [("b", 2)])]
    assert isinstance(document, Pairs)
    assert reason_of(b'[{"a": 1}]', object_pairs_hook=Pairs, require_object=True) == bodies.NOT_OBJECT
    assert reason_of(b'{"a": "\\ud800"}', object_pairs_hook=Pairs) == bodies.LONE_SURROGATE
    # Each object is one level, as without the hook.
    assert parse_json(b'{"a":' * 63 + b"1" + b"}" * 63, object_pairs_hook=Pairs) is not None
    assert reason_of(b'{"a":' * 65 + b"1" + b"}" * 65, object_pairs_hook=Pairs) == bodies.TOO_DEEP


def test_the_error_is_a_value_error_so_older_callers_keep_working():
    with pytest.raises(ValueError):
        parse_json(b"{")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("admin", None),
        ("Kim Ünal-O'Neil", None),
        ("admin\x00", bodies.NUL),
        ("a\x07b", bodies.CONTROL),
        ("a\nb", bodies.CONTROL),
        ("a\x7fb", bodies.CONTROL),
        ("a\x9bb", bodies.CONTROL),
        ("a\ud800", bodies.LONE_SURROGATE),
    ],
)
def test_text_problem_names_what_a_query_or_form_value_holds(value, reason):
    assert text_problem(value) == reason


def test_controls_may_be_allowed_in_text_but_nul_never():
    assert text_problem("a\tb", allow_controls=True) is None
    assert text_problem("a\x00b", allow_controls=True) == bodies.NUL


def test_brackets_inside_strings_are_no_nesting():
    text = '{"a": "' + "[{" * 500 + '", "b": ["\\\\", "\\"[[["]}'
    assert parse_json(text.encode())["b"] == ["\\", '"[[[']


def test_an_escaped_backslash_before_u_is_no_escape():
    document = parse_json(b'["\\\\ud800", "\\\\u0000", "\\\\n"]', allow_nul=False, allow_controls=False)
    assert document == ["\\ud800", "\\u0000", "\\n"]


def test_raw_c1_controls_and_del_are_caught_when_controls_are_refused():
    assert parse_json('["a\u0085b"]'.encode()) == ["a\u0085b"]
    assert reason_of('["a\u0085b"]'.encode(), allow_controls=False) == bodies.CONTROL
    assert reason_of(b'{"a\x7f": 1}', allow_controls=False) == bodies.CONTROL
