"""Issue 15: records read like a review: text values as text, changed spans, safe names, no renderer importing the
dispatcher."""

import ast
import io
import re
from pathlib import Path

from flowvault.diff import Change, DiffResult
from flowvault.masking import safe_markdown, safe_text
from flowvault.render import render
from flowvault.render.values import MARKDOWN, hunks, slate_text
from flowvault.render.wording import describe
from flowvault.ui import UI
from tests.diff.diff_helpers import summary

RENDER = Path(__file__).resolve().parents[2] / "flowvault" / "render"
SLATE_OLD = ('[\n  {\n    "children": [\n      {\n        "text": "Hello "\n      },\n      {\n'
             '        "type": "link",\n'
             '        "data": "{{local.6e6a1i57ur.payload.name}}",\n        "children": [{"text": "name"}]\n      }\n'
             '    ]\n  }\n]')


def _node(path, old, new, label="Http - Http / customHtmlMessage"):
    return Change("prod", "F", "node", "changed", "n1", label, path, old, new)


def _text(*changes):
    return render(DiffResult(summary(flows_changed=1, changes=len(changes)), list(changes)), "text")


def test_slate_rich_text_reads_as_its_text_with_variable_references():
    assert slate_text(SLATE_OLD) == "Hello {{local.6e6a1i57ur.payload.name}}"
    new = SLATE_OLD.replace('"Hello "', '"Goodbye "')
    out = _text(_node("/nodes/n1/properties/message/value", SLATE_OLD, new))
    assert "'Hello {{local.6e6a1i57ur.payload.name}}' -> 'Goodbye {{local.6e6a1i57ur.payload.name}}'" in out
    assert "children" not in out


def test_a_long_one_line_value_shows_the_changed_span():
    old = ("https://auth.example.com/as/authorize?client_id=abc&scope=openid%20profile&response_type=code"
           "&state=0123456789abcdef&x=1")
    new = old.replace("openid%20profile", "openid%20email")
    out = _text(_node("/nodes/n1/properties/url/value", old, new))
    assert "property `url` changed: `…" in out and "openid%20profile" in out and "openid%20email" in out
    assert "state=0123456789abcdef&x=1" not in out.split("changed:")[1]  # the unchanged tail is left out


def test_a_multi_line_value_shows_its_changed_lines_with_context():
    old = "\n".join(f"line {i}" for i in range(20))
    new = old.replace("line 10", "line ten")
    c = _node("/nodes/n1/properties/code/value", {"value": old}, {"value": new})
    assert hunks(c) == [" line 8", " line 9", "-line 10", "+line ten", " line 11", " line 12"]
    lines = _text(c).splitlines()
    assert lines[1].endswith("property `code` changed") and lines[2:] == ["     line 8", "     line 9",
                                                                          "    -line 10", "    +line ten",
                                                                          "     line 11", "     line 12"]


def test_names_are_escaped_for_terminal_and_markdown():
    evil = "x\nflowvault: FAILED\u202e"
    assert safe_text(evil) == "x\\nflowvault: FAILED\\u202e"
    assert safe_markdown("[a](https://e.x) *b* <i>|") == "\\[a\\]\\(https\\://e.x\\) \\*b\\* \\<i\\>\\|"
    c = Change("prod", evil, "node", "changed", "n1", f"{evil} - EVAL", "/nodes/n1/properties/x/value", "a", "b")
    out = _text(c)
    assert len(out.splitlines()) == 2 and "\u202e" not in out
    assert "[a]" not in describe(Change("p", "F", "variable", "added", "flow/[a](x)", "flow variable [a](x)",
                                        "/variables/flow~1[a](x)", None, 1), MARKDOWN)


def test_ui_progress_and_info_lines_are_one_line_each():
    stream = io.StringIO()
    ui = UI(stream, interactive=False)
    with ui.progress("backing up", 1) as task:
        task.advance("renamed\nflowvault: FAILED injected line\u202e")
    ui.info("exported renamed\nflowvault: FAILED")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and not any(line.startswith("flowvault: FAILED") for line in lines)
    assert "\u202e" not in stream.getvalue()


def test_no_renderer_imports_the_dispatcher():
    for path in RENDER.glob("*.py"):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "flowvault.render", f"{path.name} imports the dispatcher"
            if isinstance(node, ast.Import):
                assert all(a.name != "flowvault.render" for a in node.names), path.name


EVIL_NAME = "renamed\nflowvault: FAILED injected line\u202e"


def test_a_name_with_a_newline_is_one_line_never_a_line_diff():
    flow = Change("prod", EVIL_NAME, "flow", "changed", "name", "name", "/name", "old", EVIL_NAME)
    title = _node("/nodes/n1/properties/nodeTitle/value", None, {"value": "title\nflowvault: FAILED node"})
    policy = Change("prod", None, "policy", "changed", "app/p", "app/p",
                    "/applications/a1/flowPolicies/p1/name", "p", "p\n+injected")
    assert [hunks(c) for c in (flow, title, policy)] == [[], [], []]
    out = _text(flow, title, policy)
    assert len(out.splitlines()) == 4 and "\u202e" not in out
    assert "flow `name` changed: 'old' -> 'renamed\\nflowvault: FAILED injected line\\u202e'" in out
    assert "property `nodeTitle` added: 'title\\nflowvault: FAILED node'" in out
    assert "'p' -> 'p\\n+injected'" in out
    markdown = render(DiffResult(summary(flows_changed=1, changes=3), [flow, title, policy]), "markdown")
    assert "```diff" not in markdown and "\u202e" not in markdown
    assert not any(line.startswith(("flowvault: FAILED", "+injected")) for line in markdown.splitlines())
    # a description is text: it keeps its line diff
    description = Change("prod", "F", "flow", "changed", "description", "description", "/description", "a\nb",
                         "a\nc")
    assert hunks(description) == [" a", "-b", "+c"]


def test_tabs_in_changed_code_lines_read_as_spaces_other_controls_stay_escaped():
    old = "function f() {\n\tif (a) {\n\t\treturn 1;\n\t}\n}"
    new = old.replace("return 1;", "return 2;\u202e\x07")
    out = _text(_node("/nodes/n1/properties/code/value", {"value": old}, {"value": new}))
    assert "\\t" not in out and "\t" not in out
    assert "    -        return 1;" in out.splitlines()
    assert "    +        return 2;\\u202e\\u0007" in out.splitlines()


def test_markdown_neutralises_mentions_and_issue_references_in_names():
    name = "@octocat fixes #123 & owner/repo#7"
    assert safe_markdown(name) == "&#64;octocat fixes &#35;123 &amp; owner/repo&#35;7"
    changes = [Change("prod", name, "flow", "changed", "name", "name", "/name", "old", name),
               _node("/nodes/n1/properties/x/value", "a", "b", label=f"{name} - EVAL")]
    out = render(DiffResult(summary(flows_changed=1, changes=2), changes), "markdown")
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", out, flags=re.DOTALL))
    assert "@" not in prose and "#1" not in prose and "#7" not in prose
    assert prose.count("&#64;octocat") >= 3  # the table, the <summary> and the records
