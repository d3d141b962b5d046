"""Parser errors: each with a clear message and the exact 0-based position of the problem."""

from __future__ import annotations

import pytest

from services.core.errors import ExpressionError, InvalidInput
from services.query.parser import MAX_DEPTH, parse

UUID = "3f2a9c1e-4b7d-4e2a-9c1e-0123456789ab"

CASES = [
    # empty input and empty text terms
    ("", 0, "empty expression"),
    ("   \n ", 0, "empty expression"),
    ('""', 0, "empty text term"),
    ('"a" + ""', 6, "empty text term"),
    ('"   "', 0, "empty text term"),
    # strings
    ('"a" + "winter', 6, "unterminated text term"),
    ('"abc\\', 0, "unterminated text term"),
    ('"a\\nb"', 2, "unknown escape '\\n'"),
    # characters
    ('"a" # "b"', 4, "unexpected character '#'"),
    ('"a" & "b"', 4, "unexpected character '&'"),
    ("'cat'", 0, "straight double quotes"),
    ("“cat”", 0, "straight double quotes"),
    ('"a" + .', 6, "unexpected character '.'"),
    # unexpected end / missing operand
    ('"a" +', 5, "unexpected end of expression: expected a term after '+'"),
    ('"a" + ', 6, "unexpected end of expression: expected a term after '+'"),
    ("0.3*", 4, "unexpected end of expression: expected a term after '*'"),
    ("-", 1, "unexpected end of expression: expected a term after '-'"),
    ('"a" - -', 7, "expected a term after '-'"),
    ('"a" + * "b"', 6, "expected a term after '+', found '*'"),
    ('* "a"', 0, "expected a term, found '*'"),
    ("()", 1, "expected a term after '(', found ')'"),
    ('"a" + )', 6, "expected a term after '+', found ')'"),
    ('"a" / ,', 6, "expected a term after '/', found ','"),
    # parentheses
    ('("a" + "b"', 10, "missing ')' to close '(' at character 1"),
    ('2*(("a")', 8, "missing ')' to close '(' at character 3"),
    ('("a" "b")', 5, "expected an operator or ')' to close '(' at character 1, found text term \"b\""),
    ('"a")', 3, "unmatched ')'"),
    # juxtaposition
    ('"a" "b"', 4, "expected an operator (+, -, *, /) or the end, found text term"),
    ('2 "a"', 2, "expected an operator"),
    ("image(3) image(4)", 9, "found 'image'"),
    # bare numbers are not vectors
    ("0.3", 0, "a number on its own is not a vector: 0.3 has no term"),
    ("-0.3", 0, "a number on its own is not a vector: -0.3"),
    ('"a" + 0.3', 6, "a number on its own is not a vector: 0.3"),
    ('0.3 + "a"', 0, "a number on its own is not a vector"),
    ('"a" - (1 + 2)', 6, "(1 + 2) has no term to weight"),
    ("(1)", 0, "a number on its own is not a vector"),
    ("1 + 2", 0, "1 + 2 has no term"),
    ('axis(1, "b")', 5, "a number on its own is not a vector"),
    ('axis("a", 2)', 10, "a number on its own is not a vector"),
    # products and quotients
    ('"a" * "b"', 4, "cannot multiply two terms"),
    ('("a" + "b")*image(3)', 11, "cannot multiply two terms"),
    ('"a" / "b"', 6, "cannot divide by a term"),
    ('2/"a"', 2, "cannot divide by a term"),
    ('"x"/0', 4, "division by zero"),
    ('"x" / 0.0', 6, "division by zero"),
    ('"x"/(1-1)', 4, "division by zero"),
    ('"x"/(0*5)', 4, "division by zero"),
    # numbers
    ('1e*"a"', 0, "malformed number '1e'"),
    ('1.2.3*"a"', 0, "malformed number '1.2.3'"),
    ('1e-*"a"', 0, "malformed number '1e-'"),
    ('1e999*"a"', 0, "number 1e999 is out of range"),
    ('1e308*10*"a"', 5, "weight is out of range"),
    ('1e308*"a"*10', 9, "weight is out of range"),
    ('"a"/1e-320', 4, "weight is out of range"),
    ('(1e308 + 1e308)*"a"', 1, "number is out of range"),
    ('"a" - (1e308 + 1e308)', 7, "number is out of range"),
    ('1e308*"a" + 1e308*"a"', 0, "weights are out of range"),
    ('axis(1e308*"a" + 1e308*"a", "b")', 0, "weights are out of range"),
    # functions and words
    ("imag(3)", 0, "unknown function 'imag'; expected image, text, upload or axis"),
    ('"a" + img (3)', 6, "unknown function 'img'"),
    ("cat", 0, "unexpected word 'cat': text terms go in double quotes"),
    ('"a" - winter', 6, "unexpected word 'winter'"),
    ("image 5", 6, "expected '(' after 'image', found number 5"),
    ("axis", 4, "expected '(' after 'axis', found the end of the expression"),
    # point ids
    ("image()", 6, "expected a point id"),
    ("image(", 6, "unexpected end of expression: expected a point id"),
    ("image(abc)", 6, "invalid point id 'abc'"),
    ("image(12-34)", 6, "invalid point id '12-34'"),
    (f"text({UUID[:-1]})", 5, "invalid point id"),
    ('image("")', 6, "empty point id"),
    ('image("a', 6, "unterminated text term"),
    ("image(5", 7, "missing ')' to close 'image('"),
    ('image(5 "a")', 8, "expected ')' to close 'image(', found text term"),
    ("image(5 - 3)", 8, "expected ')' to close 'image('"),
    # uploads
    ("upload(x)", 7, "upload() takes an image index"),
    ("upload(1.5)", 7, "upload() takes an image index"),
    ("upload(-1)", 7, "upload() takes an image index"),
    ("upload()", 7, "upload() takes an image index"),
    ("upload(1", 8, "missing ')' to close 'upload('"),
    # concepts
    ("@", 1, "expected a concept name after '@'"),
    ("@ happy", 1, "expected a concept name"),
    ("@-x", 1, "expected a concept name"),
    # ensembles
    ('"a" | image(3)', 6, "only text terms in double quotes can be joined with '|', found 'image'"),
    ('"a" | 2', 6, "only text terms in double quotes can be joined"),
    ('"a" |', 5, "unexpected end of expression: expected a text term after '|'"),
    ('image(3) | "a"', 9, "'|' joins text terms into an ensemble"),
    ('("a") | "b"', 6, "'|' joins text terms"),
    ('2 | "a"', 2, "'|' joins text terms"),
    ('@c | "a"', 3, "'|' joins text terms"),
    # axis arity
    ('axis("a")', 8, "axis needs two expressions separated by ','"),
    ('axis("a"', 8, "unexpected end of expression: axis needs two expressions"),
    ('axis("a", "b", "c")', 13, "axis takes exactly two expressions"),
    ('axis("a", "b"', 13, "missing ')' to close 'axis(' at character 1"),
    ('axis(, "b")', 5, "expected a term after 'axis(', found ','"),
    ('axis("a",)', 9, "expected a term after ',', found ')'"),
]


@pytest.mark.parametrize(("text", "position", "message"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_error_message_and_position(text: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    err = info.value
    assert message in err.message
    assert err.position == position, err.message
    assert err.expression == text


def test_error_is_an_invalid_input_with_code_and_position_in_str() -> None:
    with pytest.raises(InvalidInput) as info:
        parse('"a" +')
    assert info.value.code == "invalid_expression"
    assert str(info.value).endswith("(at position 5)")


def test_max_chars() -> None:
    with pytest.raises(ExpressionError) as info:
        parse('"abc"', max_chars=4)
    assert info.value.position == 4
    assert "too long: 5 characters, at most 4" in info.value.message


@pytest.mark.parametrize(
    ("text", "limit", "position"),
    [
        ('"a" + "b" + "c"', 2, 12),
        ('"a" | "b" | "c"', 2, 12),
        ('axis("a", "b")', 1, 10),
        ("image(1) + text(2) + upload(0) + @c", 3, 33),
        ('@c + axis("a" + image(1), "b")', 2, 16),
    ],
)
def test_max_terms(text: str, limit: int, position: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text, max_terms=limit)
    assert info.value.position == position
    assert f"too many terms: at most {limit}" in info.value.message


def test_nesting_depth_is_capped() -> None:
    depth = MAX_DEPTH + 10
    with pytest.raises(ExpressionError) as info:
        parse("(" * depth + '"a"' + ")" * depth, max_chars=10_000)
    assert info.value.position == MAX_DEPTH
    assert "nested too deeply" in info.value.message


def test_nested_axis_depth_is_capped() -> None:
    text = "axis(" * (MAX_DEPTH + 1) + '"a"' + ', "b")' * (MAX_DEPTH + 1)
    with pytest.raises(ExpressionError) as info:
        parse(text, max_chars=10_000, max_terms=1000)
    assert info.value.position == 5 * MAX_DEPTH


# Characters that ``str.isdigit`` calls digits but the number grammar (ASCII 0-9) does not: these used to
# reach an ``assert`` in the lexer (HTTP 500). Each is now an ExpressionError at its position.
UNICODE_DIGIT_CASES = [
    ('²*"a"', 0, "unexpected character '²': write numbers with the digits 0-9"),
    ("③", 0, "unexpected character '③'"),
    ("①", 0, "write numbers with the digits 0-9"),
    ('"a" + ٣*"b"', 6, "unexpected character '٣'"),  # Arabic-Indic three: \d matched it, float() took it
    ('.²*"a"', 0, "unexpected character '.'"),
    ('2²*"a"', 0, "malformed number '2²'"),
    ("upload(²)", 7, "unexpected character '²'"),
    ("upload(1²)", 7, "malformed number '1²'"),
]


@pytest.mark.parametrize(("text", "position", "message"), UNICODE_DIGIT_CASES, ids=[c[0] for c in UNICODE_DIGIT_CASES])
def test_non_ascii_digits_are_expression_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert message in info.value.message
    assert info.value.position == position, info.value.message


@pytest.mark.parametrize(
    ("text", "position"),
    [("\udc30", 0), ('"a" + "b\ud800"', 8), ('"a\udfff" - "b"', 2), ("@x\udc00", 2)],
)
def test_lone_surrogates_are_refused_with_their_position(text: str, position: int) -> None:
    """A JSON escape such as "\\udc30" decodes to a lone surrogate, which no encoder or tokenizer takes."""
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.position == position
    assert "lone surrogate" in info.value.message
    info.value.message.encode("utf-8")  # the message itself is safe to send


def test_a_surrogate_pair_is_refused_too_it_is_not_valid_text_in_a_python_str() -> None:
    # json.loads('"\\ud83d\\ude00"') joins the pair into one code point; only unpaired halves stay.
    with pytest.raises(ExpressionError):
        parse('"\ud83d\ude00"')
    assert parse('"\U0001f600"') is not None
