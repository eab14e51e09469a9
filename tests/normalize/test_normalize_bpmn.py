"""BPMN canonical XML, process keys, elements for the diff, hostile XML and .bar archives."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from normalize_helpers import BPMN_FILES, IDM

from flowvault.errors import InputError
from flowvault.normalize import bpmn

IDS = [p.name for p in BPMN_FILES]
ONBOARDING = IDM / "workflow__workflow__contractorOnboarding.bpmn20.xml"


def test_all_corpus_files_copied():
    assert len(BPMN_FILES) == 8


@pytest.mark.parametrize("path", BPMN_FILES, ids=IDS)
def test_canonical_is_idempotent_and_well_formed(path):
    once = bpmn.canonical_xml(path.read_bytes())
    assert bpmn.canonical_xml(once) == once
    assert once.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n') and once.endswith(b">\n")
    assert bpmn.process_key(once) == bpmn.process_key(path.read_bytes())
    assert bpmn.elements(once) == bpmn.elements(path.read_bytes())


@pytest.mark.parametrize("path", BPMN_FILES, ids=IDS)
def test_attribute_order_and_indentation_do_not_change_bytes(path):
    text = path.read_text(encoding="utf-8")
    # reverse the attributes of every start tag written on one line and re-indent with tabs
    def flip(match):
        attrs = re.findall(r'\s+[\w:.-]+="[^"]*"', match.group(2))
        return f"<{match.group(1)}{''.join(reversed(attrs))}{match.group(3)}>"

    shuffled = re.sub(r"<([\w:.-]+)((?:\s+[\w:.-]+=\"[^\"]*\")+)\s*(/?)>", flip, text)
    # indentation between tags (not the text of scripts and CDATA, which is content)
    shuffled = re.sub(r"(?<=[^\]]>)\n[ ]+<(?![!/])", lambda m: "\n" + "\t" * (len(m.group(0)) % 3) + "<", shuffled)
    assert shuffled != text
    assert bpmn.canonical_xml(shuffled.encode("utf-8")) == bpmn.canonical_xml(path.read_bytes())


def test_two_space_indentation_and_prefixes_kept():
    out = bpmn.canonical_xml(ONBOARDING.read_bytes()).decode("utf-8")
    assert "\n  <process " in out and "\n    <startEvent " in out
    assert "<activiti:formProperty " in out and out.count('xmlns:activiti="http://activiti.org/bpmn"') == 1
    assert "\t" not in out


def test_cddl_header_comment_is_kept():
    out = bpmn.canonical_xml(ONBOARDING.read_bytes()).decode("utf-8")
    assert out.index("Common Development and") < out.index("<definitions")
    assert "Copyright (c) 2011-2015 ForgeRock AS" in out


def test_content_change_changes_bytes():
    data = ONBOARDING.read_bytes()
    assert bpmn.canonical_xml(data.replace(b'name="First Name"', b'name="Given Name"')) != bpmn.canonical_xml(data)


def test_process_key_and_elements():
    data = (IDM / "usecase__workflow__accessRequest.bpmn20.xml").read_bytes()
    assert bpmn.process_key(data) == "accessRequest"
    found = bpmn.elements(data)
    assert found["process"]["name"] == "Access request process"
    task = found["elements"]["userAccessRequest"]
    assert task["tag"] == "userTask" and task["name"] == "User Access Request"
    assert [f["attributes"]["id"] for f in task["properties"]["formProperties"]][:2] == ["business", "project"]
    assert "openidm.read" in found["elements"]["readUserData"]["properties"]["script"]
    gateways = [k for k, v in found["elements"].items() if v["tag"].endswith("Gateway")]
    assert len(gateways) == 3
    conditional = [f for f in found["flows"].values() if "conditionExpression" in f]
    assert conditional and all(f["sourceRef"] and f["targetRef"] for f in found["flows"].values())
    timers = [v for v in found["elements"].values() if v["tag"] == "boundaryEvent"]
    assert timers and timers[0]["properties"]["eventDefinitions"][0]["type"] == "timerEventDefinition"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" name="&lol3;"/></definitions>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">&x;</process></definitions>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
@pytest.mark.parametrize("func", [bpmn.canonical_xml, bpmn.process_key, bpmn.elements])
def test_hostile_xml_is_refused(data, func):
    with pytest.raises(InputError) as info:
        func(data)
    assert "DOCTYPE" in str(info.value) and "\n" not in str(info.value)


def test_malformed_xml_and_no_process():
    with pytest.raises(InputError, match=r"not a valid BPMN/XML file \(line \d+, column \d+\)"):
        bpmn.canonical_xml(b"<definitions><process></definitions>")
    with pytest.raises(InputError, match="no <process"):
        bpmn.process_key(b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buf.getvalue()


def test_read_bar():
    data = _zip({"contractorOnboarding.bpmn20.xml": ONBOARDING.read_bytes(), "forms/contractorForm.js": b"x"})
    files = bpmn.read_bar(data)
    assert set(files) == {"contractorOnboarding.bpmn20.xml", "forms/contractorForm.js"}
    assert bpmn.process_key(files["contractorOnboarding.bpmn20.xml"]) == "contractorOnboarding"


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/passwd", "a/../../b", "C:\\x.xml", "a\\..\\b"])
def test_read_bar_refuses_path_traversal(name):
    with pytest.raises(InputError, match="outside the archive"):
        bpmn.read_bar(_zip({name: b"x"}))


def test_read_bar_refuses_bombs_and_junk(monkeypatch):
    monkeypatch.setattr(bpmn, "MAX_BAR_MEMBER_BYTES", 1000)
    with pytest.raises(InputError, match="over the limit|size limit"):
        bpmn.read_bar(_zip({"big.xml": b"0" * 5000}))
    with pytest.raises(InputError, match="not a .bar"):
        bpmn.read_bar(b"not a zip")


def test_secrets_in_scripts_and_attributes_are_redacted_in_place():
    from flowvault.normalize.redact import Redactor

    doc = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="p" name="P">
    <scriptTask id="s" name="Create" scriptFormat="groovy">
      <script>openidm.create("managed/user", null, [userName:"a", password:"SBXSECRET-pw-1"])</script>
    </scriptTask>
    <serviceTask id="h" name="Call" implementation="https://svc:SBXSECRET-url-2@idm.example.com/x"/>
  </process>
</definitions>"""
    redactor = Redactor(b"k" * 32)
    out = bpmn.canonical_xml(doc, redact=redactor.redact_inline).decode()
    assert "SBXSECRET" not in out
    assert 'password:"\u00abredacted:hmac-sha256:' in out and "https://svc:\u00abredacted:hmac-sha256:" in out
    assert bpmn.canonical_xml(out.encode(), redact=redactor.redact_inline).decode() == out  # idempotent
    assert "SBXSECRET-pw-1" in bpmn.canonical_xml(doc).decode()  # without a redactor nothing is touched
