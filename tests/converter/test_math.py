"""Math: the LaTeX macros of the site's math app when configured, else readable LaTeX in code."""

import pytest

from confluence.converter import MathMacros, convert

from .xml import assert_converts

LATEX_MATH = MathMacros()
MATHJAX = MathMacros("mathjax-block-macro", "mathjax-inline-macro", "equation")


def inline(latex: str, name: str = "mathinline", parameter: str = "body") -> str:
    return f'<ac:structured-macro ac:name="{name}"><ac:parameter ac:name="{parameter}">{latex}</ac:parameter></ac:structured-macro>'


def block(latex: str, name: str = "mathblock") -> str:
    return f'<ac:structured-macro ac:name="{name}"><ac:plain-text-body><![CDATA[{latex}]]></ac:plain-text-body></ac:structured-macro>'


def latex_code(latex: str) -> str:
    return ('<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">latex</ac:parameter>'
            f"<ac:plain-text-body><![CDATA[{latex}]]></ac:plain-text-body></ac:structured-macro>")


def test_inline_math_becomes_the_inline_macro():
    assert_converts(
        r"Euler: $e^{i\pi} + 1 = 0$, shown: $$\frac{a}{b}$$.",
        "<p>Euler: " + inline(r"e^{i\pi} + 1 = 0") + ", shown: " + inline(r"\frac{a}{b}") + ".</p>",
        math=LATEX_MATH,
    )
    assert_converts("$x_1$", f"<p>{inline('x_1', 'mathjax-inline-macro', 'equation')}</p>", math=MATHJAX)


def test_inline_macro_without_a_parameter_takes_the_equation_as_its_body():
    assert_converts(
        "$x^2$",
        '<p><ac:structured-macro ac:name="mathinline"><ac:plain-text-body><![CDATA[x^2]]></ac:plain-text-body>'
        "</ac:structured-macro></p>",
        math=MathMacros(inline_parameter=None),
    )


@pytest.mark.parametrize(
    "markdown",
    [
        "$$\n\\int_0^1 x\\,dx = \\tfrac{1}{2} \\\\\na & b\n$$",
        "$$ \\int_0^1 x\\,dx = \\tfrac{1}{2} \\\\\na & b $$",
        "```math\n\\int_0^1 x\\,dx = \\tfrac{1}{2} \\\\\na & b\n```",
    ],
)
def test_display_math_becomes_the_block_macro(markdown):
    assert_converts(markdown, block("\\int_0^1 x\\,dx = \\tfrac{1}{2} \\\\\na & b"), math=LATEX_MATH)


def test_display_math_in_a_quote_and_on_one_line():
    assert_converts("> $$\n> q\n> $$", f"<blockquote>{block('q')}</blockquote>", math=LATEX_MATH)
    assert_converts("$$ E = mc^2 $$", block("E = mc^2", "mathjax-block-macro"), math=MATHJAX)


def test_without_math_macros_math_is_readable_latex():
    assert_converts(
        r"Euler: $e^{i\pi} < 1 \& 2$." + "\n\n$$\nx < y\n$$",
        r"<p>Euler: <code>e^{i\pi} &lt; 1 \&amp; 2</code>.</p>" + latex_code("x < y"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "Costs $5 and $10 a month.",
        "US$5 or $ 10, $5-$10",
        "Between $5 and $6.50.",
        r"Escaped \$x\$ stays.",
        "A shell `$HOME` and $PATH only.",
    ],
)
def test_dollars_in_prose_stay_text(text):
    converted = convert(text, math=LATEX_MATH)
    assert "ac:structured-macro" not in converted.body
    assert "$" in converted.body


def test_unclosed_display_math_is_text():
    assert_converts("$$ not closed\n\ntext", "<p>$$ not closed</p><p>text</p>", math=LATEX_MATH)


def test_math_macros_setting_form():
    assert MathMacros.parse("mathblock,mathinline,body") == MathMacros()
    assert MathMacros.parse("mathjax-block-macro, mathjax-inline-macro, equation") == MATHJAX
    assert MathMacros.parse("a,b") == MathMacros("a", "b", None)
    assert MathMacros.parse("") is None
    for wrong in ("one", "a,b,c,d", "a b,c", "a,<b>"):
        with pytest.raises(ValueError, match="expected|parameter"):
            MathMacros.parse(wrong)
