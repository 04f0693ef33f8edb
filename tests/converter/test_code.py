"""Fenced and indented code become the code macro, whose CDATA survives any content."""

import pytest

from confluence.converter import convert

from .xml import assert_converts, parse


def code(body: str, language: str | None = None, title: str | None = None) -> str:
    parameter = f'<ac:parameter ac:name="language">{language}</ac:parameter>' if language else ""
    if title:
        parameter += f'<ac:parameter ac:name="title">{title}</ac:parameter>'
    return f'<ac:structured-macro ac:name="code">{parameter}<ac:plain-text-body><![CDATA[{body}]]></ac:plain-text-body></ac:structured-macro>'


def test_fenced_code_with_language():
    assert_converts("```python\nprint('hi')\n```", code("print('hi')", "python"))


@pytest.mark.parametrize(
    ("info", "language"),
    [("js", "javascript"), ("sh", "bash"), ("C#", "csharp"), ("c++", "cpp"), ("yml", "yaml"), ("html", "xml"), ("{.py}", "python"), ("ts linenums=1", "typescript")],
)
def test_language_names_are_mapped_to_confluences(info, language):
    assert_converts(f"```{info}\nx\n```", code("x", language))


@pytest.mark.parametrize(
    ("info", "language", "title"),
    [('python title="app.py"', "python", "app.py"), ("{.js title=main.js}", "javascript", "main.js"),
     ("title='setup notes'", None, "setup notes")],
)
def test_a_title_in_the_info_string_titles_the_code_macro(info, language, title):
    assert_converts(f"```{info}\nx\n```", code("x", language, title))


def test_unknown_language_gets_no_parameter():
    assert_converts("```brainfudge\n+-\n```", code("+-"))


def test_tilde_fence_and_longer_fences():
    assert_converts("~~~\na\n~~~\n\n````\n```\ninner\n```\n````", code("a") + code("```\ninner\n```"))


def test_indented_code():
    assert_converts("text\n\n    if a < b:\n        pass\n", "<p>text</p>" + code("if a < b:\n    pass"))


def test_cdata_terminator_inside_code_is_split():
    body = convert("```\nx = a[b[0]]>c\n```").body
    assert "]]]]><![CDATA[>" in body
    assert parse(body).find(".//{http://atlassian.com/content}plain-text-body").text == "x = a[b[0]]>c"


def test_code_keeps_markup_literally():
    assert_converts("```\n<script>&amp; **no**\n```", code("<script>&amp; **no**"))


def test_code_keeps_tabs():
    assert_converts("```\n\tindented\n```", code("\tindented"))


def test_unclosed_fence_runs_to_the_end():
    assert_converts("```\nopen\n\nstill code", code("open\n\nstill code"))


def test_fence_in_blockquote():
    assert_converts("> ```\n> a\n> ```", "<blockquote>" + code("a") + "</blockquote>")


def test_fence_interrupts_a_paragraph():
    assert_converts("Run:\n```bash\nmake\n```", "<p>Run:</p>" + code("make", "bash"))
