"""BPMN 2.0 workflow files (PingIDM): canonical XML, the process key, the elements a diff reads, .bar unpacking.

docs/canonical-format.md "PingIDM workflow". lxml, because the standard library's ElementTree renames namespace
prefixes (pyproject). The parser never resolves entities, never loads a DTD or touches the network, and a
document with a DOCTYPE is refused outright: BPMN has no use for one, and that closes billion-laughs and XXE.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable
from typing import Any

from lxml import etree

from flowvault.errors import InputError

MAX_XML_BYTES = 20 * 1024 * 1024
MAX_BAR_MEMBERS = 2000
MAX_BAR_MEMBER_BYTES = 20 * 1024 * 1024
MAX_BAR_TOTAL_BYTES = 100 * 1024 * 1024
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Flow nodes a diff shows by id (BPMN 2.0 §10); sequence flows are listed separately.
FLOW_ELEMENT_TAGS = frozenset(
    {
        "task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask", "businessRuleTask",
        "callActivity", "subProcess", "transaction", "adHocSubProcess",
        "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
        "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
    }
)  # fmt: skip


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        remove_blank_text=True,
    )


def parse(data: bytes) -> etree._ElementTree:
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(f"BPMN input must be bytes, got {type(data).__name__}")
    if len(data) > MAX_XML_BYTES:
        raise InputError(f"BPMN file is {len(data)} bytes, over the {MAX_XML_BYTES}-byte limit")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError("BPMN file declares a DOCTYPE or ENTITY: refused (entities are never expanded)")
    try:
        tree = etree.parse(io.BytesIO(bytes(data)), _parser())
    except etree.XMLSyntaxError as e:
        # where the parser stopped, said once (libxml's own message repeats a line number of its own)
        line, column = getattr(e, "position", None) or (getattr(e, "lineno", None), getattr(e, "offset", None))
        where = f" (line {line}, column {column})" if line else ""
        raise InputError(f"not a valid BPMN/XML file{where}") from e
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InputError("BPMN file declares a DOCTYPE: refused (entities are never expanded)")
    return tree


def _strip_blank(root: etree._Element) -> None:
    # Whitespace-only text between elements is indentation, not content; indent() writes it afresh.
    for el in root.iter():
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None


def _c14n_attribute_key(item: tuple) -> tuple:
    qname = etree.QName(item[0])
    return (qname.namespace or "", qname.localname)  # C14N: unqualified first, then by namespace URI, local name


def _sort_attributes(el: etree._Element) -> None:
    if len(el.attrib) > 1:
        items = sorted(el.attrib.items(), key=_c14n_attribute_key)
        el.attrib.clear()
        for key, value in items:
            el.set(key, value)


def _sorted_root(tree: etree._ElementTree) -> etree._Element:
    """The root rebuilt with its namespace declarations in prefix order; comments before it are kept."""
    root = tree.getroot()
    before = list(root.itersiblings(preceding=True))[::-1]
    after = list(root.itersiblings())
    own = {p: u for p, u in root.nsmap.items()}
    nsmap = dict(sorted(own.items(), key=lambda kv: kv[0] or ""))
    new = etree.Element(root.tag, nsmap=nsmap)
    for key, value in sorted(root.attrib.items(), key=_c14n_attribute_key):
        new.set(key, value)
    new.text = root.text
    new.extend(list(root))
    for node in before:
        new.addprevious(node)
    for node in reversed(after):
        new.addnext(node)
    return new


def canonical_xml(data: bytes, redact: Callable[[str], str] | None = None) -> bytes:
    """Return the BPMN document in canonical form: attributes in C14N 2.0 order, namespace declarations sorted and
    kept where they were declared (prefixes unchanged), comments kept, 2-space indentation, UTF-8 with an XML
    declaration and a trailing newline. canonical_xml(canonical_xml(x)) == canonical_xml(x).

    `redact(text) -> text` is applied to every text, comment and attribute value (a script's password, a URL's
    credentials: Redactor.redact_inline), so a secret never reaches the canonical bytes."""
    tree = parse(data)
    _strip_blank(tree.getroot())
    if redact is not None:
        _redact_values(tree, redact)
    for el in tree.getroot().iter(etree.Element):
        _sort_attributes(el)
    root = _sorted_root(tree)
    etree.indent(root, space="  ")
    parts = [etree.tostring(node, encoding="utf-8", with_tail=False)
             for node in root.itersiblings(preceding=True)][::-1]
    parts.append(etree.tostring(root, encoding="utf-8", with_tail=False))
    parts += [etree.tostring(node, encoding="utf-8", with_tail=False) for node in root.itersiblings()]
    return DECLARATION + b"\n".join(parts) + b"\n"


def _redact_values(tree: etree._ElementTree, redact: Callable[[str], str]) -> None:
    for node in tree.getroot().iter():
        if node.text:
            node.text = redact(node.text)
        if node.tail and node.tail.strip():
            node.tail = redact(node.tail)
        if isinstance(node.tag, str):
            for name, value in node.attrib.items():
                node.attrib[name] = redact(value)


def local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _attr_name(el: etree._Element, name: str) -> str:
    qname = etree.QName(name)
    if qname.namespace is None:
        return name
    for prefix, uri in el.nsmap.items():
        if uri == qname.namespace and prefix:
            return f"{prefix}:{qname.localname}"
    return name


def attributes(el: etree._Element) -> dict:
    return {_attr_name(el, k): v for k, v in sorted(el.attrib.items())}


def _processes(tree: etree._ElementTree) -> list:
    return [el for el in tree.getroot().iter() if local(el.tag) == "process"]


def process_key(data: bytes) -> str:
    """Return the id of the document's (first) <process>: PingIDM's process definition key."""
    tree = parse(data)
    for process in _processes(tree):
        key = process.get("id")
        if key:
            return key
    raise InputError("BPMN file has no <process id=...>: not a workflow definition")


def _text(el: etree._Element) -> str:
    return "".join(el.itertext()).strip()


def _describe(el: etree._Element) -> dict:
    """The properties of one flow element: attributes, documentation, script, form properties, definitions."""
    props: dict = {"attributes": attributes(el)}
    for child in el:
        tag = local(child.tag)
        if tag == "documentation":
            props["documentation"] = _text(child)
        elif tag == "script":
            props["script"] = child.text or ""
        elif tag == "extensionElements":
            for ext in child:
                ext_tag = local(ext.tag)
                if not ext_tag:
                    continue
                entry: dict[str, Any] = {"attributes": attributes(ext)}
                if ext_tag == "formProperty":
                    values = [attributes(v) for v in ext if local(v.tag) == "value"]
                    if values:
                        entry["values"] = values
                    props.setdefault("formProperties", []).append(entry)
                else:
                    entry["tag"] = f"{ext.prefix}:{ext_tag}" if ext.prefix else ext_tag
                    text = _text(ext)
                    if text:
                        entry["text"] = text
                    nested = [
                        {"tag": local(n.tag), "attributes": attributes(n), "text": _text(n)}
                        for n in ext if local(n.tag)
                    ]
                    if nested:
                        entry["children"] = nested
                    props.setdefault("extensions", []).append(entry)
        elif tag.endswith("EventDefinition"):
            definition = {"type": tag, "attributes": attributes(child)}
            for part in child:
                if local(part.tag):
                    definition[local(part.tag)] = _text(part)
            props.setdefault("eventDefinitions", []).append(definition)
        elif tag == "multiInstanceLoopCharacteristics":
            props["multiInstance"] = {
                "attributes": attributes(child),
                **{local(p.tag): _text(p) for p in child if local(p.tag)},
            }
    return props


def elements(data: bytes) -> dict:
    """Return {"process": {...}, "elements": {id: {tag, name, parent?, properties}}, "flows": {id: {sourceRef,
    targetRef, name?, conditionExpression?}}} for the diff: what the workflow does, without diagram layout."""
    tree = parse(data)
    processes = _processes(tree)
    if not processes:
        raise InputError("BPMN file has no <process>: not a workflow definition")
    out: dict = {"process": {}, "elements": {}, "flows": {}}
    process = processes[0]
    out["process"] = attributes(process)
    docs = [c for c in process if local(c.tag) == "documentation"]
    if docs:
        out["process"]["documentation"] = _text(docs[0])

    def walk(container: etree._Element, parent: str | None) -> None:
        for el in container:
            tag = local(el.tag)
            el_id = el.get("id")
            if tag == "sequenceFlow" and el_id:
                flow = {"sourceRef": el.get("sourceRef"), "targetRef": el.get("targetRef")}
                if el.get("name") is not None:
                    flow["name"] = el.get("name")
                for child in el:
                    if local(child.tag) == "conditionExpression":
                        flow["conditionExpression"] = (child.text or "").strip()
                if parent:
                    flow["parent"] = parent
                out["flows"][el_id] = flow
            elif tag in FLOW_ELEMENT_TAGS and el_id:
                entry = {"tag": tag, "name": el.get("name"), "properties": _describe(el)}
                if parent:
                    entry["parent"] = parent
                out["elements"][el_id] = entry
                if tag in ("subProcess", "transaction", "adHocSubProcess"):
                    walk(el, el_id)

    walk(process, None)
    return out


def _safe_member(name: str) -> bool:
    if not name or "\\" in name or name.startswith("/") or "\x00" in name:
        return False
    if len(name) > 1 and name[1] == ":":  # C:... drive letter
        return False
    parts = posixpath.normpath(name).split("/")
    return ".." not in parts and not posixpath.isabs(name)


def read_bar(data: bytes) -> dict[str, bytes]:
    """Return the files of a .bar (zip) archive by name, refusing path traversal, too many or too large members."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except (zipfile.BadZipFile, ValueError) as e:
        raise InputError(f"not a .bar (zip) archive: {e}") from e
    files: dict[str, bytes] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_BAR_MEMBERS:
            raise InputError(f".bar archive has {len(infos)} members, over the limit of {MAX_BAR_MEMBERS}")
        for info in infos:
            if info.is_dir():
                continue
            if not _safe_member(info.filename):
                raise InputError(f".bar member {info.filename!r} points outside the archive: refused")
            if info.file_size > MAX_BAR_MEMBER_BYTES:
                raise InputError(f".bar member {info.filename!r} is {info.file_size} bytes, over the limit")
            try:
                with archive.open(info) as handle:
                    content = handle.read(MAX_BAR_MEMBER_BYTES + 1)  # the header's size may lie (zip bomb)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as e:
                raise InputError(f".bar member {info.filename!r} cannot be read: {e}") from e
            if len(content) > MAX_BAR_MEMBER_BYTES:
                raise InputError(f".bar member {info.filename!r} unpacks past the size limit: refused")
            total += len(content)
            if total > MAX_BAR_TOTAL_BYTES:
                raise InputError(f".bar archive unpacks past {MAX_BAR_TOTAL_BYTES} bytes: refused")
            name = posixpath.normpath(info.filename)
            if name in files:
                raise InputError(f".bar archive holds {name!r} twice")
            files[name] = content
    return files
