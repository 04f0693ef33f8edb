"""The converter benchmark runs and reports figures in the shape bench/run.py expects.
Timings are not asserted: they belong to the benchmark, not to CI."""

from bench.converter import build_document, run
from confluence.converter import convert

KEYS = {"figure", "value", "unit", "baseline", "ratio", "target", "met", "details"}


def test_smoke_run_reports_every_figure_in_shape():
    figures = run(smoke=True)
    assert [figure["unit"] for figure in figures] == ["ratio", "MB/s", "MB", "ms", "ms"]
    for figure in figures:
        assert set(figure) == KEYS
        assert isinstance(figure["figure"], str) and figure["figure"]
        assert isinstance(figure["value"], float) and figure["value"] > 0
        assert figure["baseline"] is None or isinstance(figure["baseline"], float)
        assert figure["ratio"] is None or isinstance(figure["ratio"], float)
        assert isinstance(figure["target"], str)
        assert figure["met"] in (True, False, None)
        assert isinstance(figure["details"], dict)
    assert figures[0]["details"]["converter_s"]["runs"] == 2


def test_benchmark_document_exercises_every_construct():
    body = convert(build_document(20_000)).body
    for construct in [
        "<h2>", "<em>", "<strong>", "<del>", "<code>", "<br/>", "<hr/>", "<a href=", "ac:anchor=", "<ul>", '<ol start="3">',
        "<ac:task-list>", 'ac:name="code"', "]]]]><![CDATA[>", "<table>", "<th", "<blockquote>", 'ac:name="note"',
        'ac:name="tip"', "<ri:attachment", "<ri:url", 'ac:name="toc"', 'ac:name="expand"', "<dl>", 'ac:name="anchor"', 'ac:anchor="fn-0"',
        "<sub>", "<code>Ctrl</code>",
    ]:
        assert construct in body, construct
