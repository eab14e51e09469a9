"""Renderers: the text sentence, JSON as DESIGN.md, Markdown within GitHub's limit, Mermaid escaping."""

import json

from flowvault.diff import Change, DiffResult
from flowvault.render import render
from flowvault.render.markdown import LIMIT, render_markdown
from flowvault.render.mermaid import escape, flowchart
from tests.diff.diff_helpers import summary

NODE = Change("prod", "PingOne Sign On", "node", "changed", "1u2m5vzr49",
              "Check password - PingOne SSO / checkPassword", "/nodes/1u2m5vzr49/properties/username/value", "a", "b")


def _result(changes):
    flows = {c.flow for c in changes}
    return DiffResult(summary(flows_changed=len(flows), changes=len(changes)), changes, "HEAD~1", "HEAD")


def test_text_reads_like_a_sentence():
    out = render(_result([NODE]), "text")
    assert ("PingOne Sign On: node 'Check password' (PingOne SSO / checkPassword): property `username` changed: "
            "'a' -> 'b'") in out
    assert "\x1b[" not in out
    assert "\x1b[" in render(_result([NODE]), "text", color=True)


def test_text_of_an_eval_condition_and_no_changes():
    cond = Change(None, "F", "edge", "changed", "e1", "Evaluator -> Error Message",
                  "/nodes/ev/properties/err/value", "anyTriggersTrue", "allTriggersTrue")
    assert "edge Evaluator -> Error Message: condition anyTriggersTrue -> allTriggersTrue" in render(
        _result([cond]), "text")
    assert render(_result([]), "text").strip() == "No changes."


def test_json_is_exactly_the_design_record_shape():
    doc = json.loads(render(_result([NODE]), "json"))
    assert list(doc) == ["old", "new", "summary", "changes"]
    assert (doc["old"], doc["new"]) == ("HEAD~1", "HEAD")
    assert set(doc["summary"]) == set(summary())
    (rec,) = doc["changes"]
    assert rec == {"source": "prod", "flow": "PingOne Sign On", "category": "node", "action": "changed",
                   "target": "1u2m5vzr49", "label": "Check password - PingOne SSO / checkPassword",
                   "path": "/nodes/1u2m5vzr49/properties/username/value", "old": "a", "new": "b"}


def test_markdown_has_table_and_details_per_flow():
    other = Change("prod", "Other | flow", "setting", "changed", "logLevel", "logLevel", "/settings/logLevel", 3, 2)
    out = render_markdown(_result([NODE, other]))
    assert "| flow | source | | nodes | edges | variables | settings | other |" in out
    assert "| Other \\| flow | prod | flow changed |  |  |  | ~1 |  |" in out
    assert out.count("<details>") == 2 and out.count("</details>") == 2
    assert "more change" not in out


def test_huge_markdown_stays_under_the_limit_with_a_tail():
    changes = [Change("prod", f"Flow {i // 500}", "node", "changed", f"n{i}", f"Node {i} - Http / customHtmlMessage",
                      f"/nodes/n{i}/properties/message/value", "x" * 40, "y" * 40) for i in range(5000)]
    out = render_markdown(_result(changes))
    assert len(out) <= LIMIT
    shown = out.count("\n- ")
    assert 0 < shown < 5000
    assert f"{5000 - shown} more changes not shown" in out
    assert out.count("<details>") == out.count("</details>")


def test_mermaid_escapes_labels_and_shows_conditions():
    flow = {"nodes": {"a": {"nodeType": "CONNECTION", "connectorId": "httpConnector", "capabilityName": "x",
                            "label": 'Say "hi"]; click a href "javascript:x"'},
                      "e": {"nodeType": "EVAL", "properties": {"b": {"value": "allTriggersTrue"}}},
                      "b": {"nodeType": "CONNECTION", "connectorId": "errorConnector", "capabilityName": "y"}},
            "edges": {"1": {"source": "a", "target": "e"}, "2": {"source": "e", "target": "b"}}}
    chart = flowchart(flow, marks={"b": "changed"})
    assert chart.startswith("flowchart LR\n")
    assert '"hi"' not in chart and "#quot;hi#quot;" in chart and "#93;#59;" in chart
    assert '-->|"allTriggersTrue"|' in chart
    assert "classDef changed" in chart and "class n1 changed" in chart
    assert escape("a\nb") == "a b"


def test_workflow_chart_highlights_the_changed_elements():
    from flowvault.render.mermaid import workflow_chart

    elements = {"elements": {"approve": {"tag": "userTask", "name": "Approve"},
                             "decide": {"tag": "exclusiveGateway", "name": "Decide"}},
                "flows": {"f1": {"sourceRef": "approve", "targetRef": "decide", "conditionExpression": "${ok}"}}}
    chart = workflow_chart(elements, marks={"decide": "added"})
    assert '-->|"$#123;ok#125;"|' in chart  # braces escaped: Mermaid would read them as a shape
    assert "classDef added" in chart and "class n1 added" in chart and "changed" not in chart
