"""Fill a Word form's content controls in a running LibreOffice, as a person would, and save.

Runs with Debian's /usr/bin/python3 (the one that has ``uno``), not the project's virtualenv:

    /usr/bin/python3 lo_fill.py PIPE_NAME SRC.docx DST VALUES.json [FILTER]

FILTER is the export filter "Save as" uses: "MS Word 2007 XML" (.docx, the default) or
"writer8" (OpenDocument Text, .odt).

VALUES.json maps a control's tag to what to enter: a string for text, a date ("15-01-2027" is
typed; "2027-01-15" is picked, setting the control's date) or a drop-down (its item VALUE, which
is chosen by its display text); true/false for checkboxes. Text is typed into the selected
control with ``.uno:InsertText``; a line break is Shift+Enter (``.uno:InsertLinebreak``). Prints
one JSON line: the tags it filled. Exit status 2 when a tag is not in the document.

A text control's value may also be an object, for editing with changes recorded (Edit > Track
Changes > Record, ``RecordChanges``): ``{"text": "...", "record_typing": false, "edits": [...]}``
types ``text`` (recorded as a change when ``record_typing``), then turns recording on and
makes each edit, given by its position in ``text``: ``{"at": 12, "delete": 1}`` selects that
many characters there and presses Delete; ``{"at": 30, "insert": "..."}`` types there;
``{"at": 13, "table": [["a1", "b1"], ["a2", "b2"]]}`` inserts a table there (Table > Insert
Table) and types each cell's text into it. ``"record": false`` makes the edits unrecorded. Edits
are made from the end backwards, so each position stays where it was in ``text``; a deletion
recorded as a change keeps its characters in the document (struck through), so positions
after it do not move either. Recording stays on for the controls that follow.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def connect(pipe: str, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def paragraphs(text):  # type: ignore[no-untyped-def]
    enum = text.createEnumeration()
    while enum.hasMoreElements():
        el = enum.nextElement()
        if el.supportsService("com.sun.star.text.TextTable"):
            for name in el.getCellNames():
                yield from paragraphs(el.getCellByName(name).getText())
        else:
            yield el


def controls(doc):  # type: ignore[no-untyped-def]
    found = []
    for para in paragraphs(doc.getText()):
        enum = para.createEnumeration()
        while enum.hasMoreElements():
            portion = enum.nextElement()
            if portion.TextPortionType == "ContentControl":
                found.append(portion.ContentControl)
    return found


class Typist:
    """Selects a control's content with the view cursor and types over it."""

    def __init__(self, ctx, doc) -> None:  # type: ignore[no-untyped-def]
        smgr = ctx.ServiceManager
        self.dispatcher = smgr.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
        self.controller = doc.getCurrentController()
        self.frame = self.controller.getFrame()

    def select(self, control) -> None:  # type: ignore[no-untyped-def]
        anchor = control.getAnchor()
        cursor = self.controller.getViewCursor()
        cursor.gotoRange(anchor.getStart(), False)
        cursor.gotoRange(anchor.getEnd(), True)

    def run(self, command: str, *args: PropertyValue) -> None:
        self.dispatcher.executeDispatch(self.frame, command, "", 0, tuple(args))

    def at(self, control, offset: int, length: int = 0) -> None:  # type: ignore[no-untyped-def]
        """Put the view cursor ``offset`` characters into the control, selecting ``length``."""
        cursor = self.controller.getViewCursor()
        cursor.gotoRange(control.getAnchor().getStart(), False)
        # The control's start is the position before its opening mark: one step more to be
        # before its first character.
        cursor.goRight(offset + 1, False)
        if length:
            cursor.goRight(length, True)

    def edit(self, doc, control, spec: dict) -> None:  # type: ignore[no-untyped-def]
        """Type ``spec["text"]``, then make its edits with changes recorded (see the module)."""
        doc.RecordChanges = bool(spec.get("record_typing", False))
        self.type(control, str(spec["text"]))
        doc.RecordChanges = bool(spec.get("record", True))
        for change in sorted(spec.get("edits", []), key=lambda e: -int(e["at"])):
            if "delete" in change:
                self.at(control, int(change["at"]), int(change["delete"]))
                self.run(".uno:Delete")
            elif "table" in change:
                rows = change["table"]
                self.at(control, int(change["at"]))
                columns = max(len(r) for r in rows)
                self.run(".uno:InsertTable", prop("Columns", columns), prop("Rows", len(rows)))
                table = self.controller.getViewCursor().TextTable
                for r, row in enumerate(rows):
                    for c, value in enumerate(row):
                        cell = table.getCellByPosition(c, r)
                        self.controller.getViewCursor().gotoRange(cell.getStart(), False)
                        self.run(".uno:InsertText", prop("Text", str(value)))
            else:
                self.at(control, int(change["at"]))
                self.run(".uno:InsertText", prop("Text", str(change["insert"])))

    def type(self, control, text: str) -> None:  # type: ignore[no-untyped-def]
        self.select(control)
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if i:
                self.run(".uno:InsertLinebreak")
            if line:
                self.run(".uno:InsertText", prop("Text", line))
            elif i == 0:
                self.run(".uno:Delete")


def item_display(control, value: str) -> str:  # type: ignore[no-untyped-def]
    for item in control.ListItems:
        fields = {p.Name: p.Value for p in item}
        if fields.get("Value") == value:
            return str(fields.get("DisplayText") or value)
    raise SystemExit(f"drop-down {control.Tag!r} has no item with value {value!r}")


WORD_FILTER = "MS Word 2007 XML"
ODT_FILTER = "writer8"


def fill(  # type: ignore[no-untyped-def]
    ctx, src: Path, dst: Path, values: dict[str, object], filter_name: str = WORD_FILTER
) -> list[str]:
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(src.resolve().as_uri(), "_blank", 0, (prop("Hidden", True),))
    try:
        typist = Typist(ctx, doc)
        done: list[str] = []
        for control in controls(doc):
            tag = control.Tag
            if tag not in values or tag in done:
                continue
            value = values[tag]
            if control.Checkbox:
                if bool(control.Checked) != bool(value):
                    # A click toggles the box and its glyph.
                    control.Checked = bool(value)
                    glyph = control.CheckedState if value else control.UncheckedState
                    typist.type(control, glyph)
            elif control.DropDown or control.ComboBox:
                typist.type(control, item_display(control, str(value)))
            elif control.Date:
                text = str(value)
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                    # Picked from the calendar: the control stores the date and shows it.
                    control.CurrentDate = f"{text}T00:00:00Z"
                    y, m, d = text.split("-")
                    text = f"{d}-{m}-{y}"
                typist.type(control, text)
            elif isinstance(value, dict):
                typist.edit(doc, control, value)
            else:
                typist.type(control, str(value))
            done.append(tag)
        missing = sorted(set(values) - set(done))
        if missing:
            print(json.dumps({"missing": missing}))
            sys.exit(2)
        doc.storeToURL(
            dst.resolve().as_uri(),
            (prop("FilterName", filter_name), prop("Overwrite", True)),
        )
        return done
    finally:
        doc.close(True)


def main() -> None:
    pipe, src, dst, values_file = sys.argv[1:5]
    filter_name = sys.argv[5] if len(sys.argv) > 5 else WORD_FILTER
    values = json.loads(Path(values_file).read_text(encoding="utf-8"))
    ctx = connect(pipe)
    done = fill(ctx, Path(src), Path(dst), values, filter_name)
    print(json.dumps({"filled": done}), flush=True)
    # The document is stored and closed: leave without tearing the UNO bridge down, which
    # now and then crashes this interpreter at exit (signal 11) after the work is done.
    os._exit(0)


if __name__ == "__main__":
    main()
