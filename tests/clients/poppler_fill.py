"""Fill a PDF form with poppler (the engine of Evince and Okular) and save it.

Runs under Debian's /usr/bin/python3, which has python3-gi and Poppler's GIR:

    /usr/bin/python3 poppler_fill.py SRC DST PLAN.json

PLAN is a list of targets made by tests/clients/pdf.py: field name, kind, page, widget
rectangle (PDF coordinates), value, and for a drop-down the option index.
"""

import json
import sys
from pathlib import Path

import gi

gi.require_version("Poppler", "0.18")
from gi.repository import Poppler  # noqa: E402


def widget_at(page, target):
    """The form field whose widget rectangle holds the target's centre (PDF coordinates)."""
    x0, y0, x1, y1 = target["rect"]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    for mapping in page.get_form_field_mapping():
        a = mapping.area
        if a.x1 - 0.5 <= cx <= a.x2 + 0.5 and a.y1 - 0.5 <= cy <= a.y2 + 0.5:
            return mapping.field
    raise SystemExit(f"poppler finds no widget for {target['name']} on page {target['page']}")


def main() -> None:
    src, dst, plan_file = sys.argv[1:4]
    plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    doc = Poppler.Document.new_from_file(Path(src).resolve().as_uri(), None)
    for target in plan:
        field = widget_at(doc.get_page(target["page"]), target)
        kind, value = target["kind"], target["value"]
        if kind == "text":
            field.text_set_text(value)
        elif kind == "checkbox":
            field.button_set_state(bool(value))
        elif kind == "radio":
            field.button_set_state(True)
        elif kind == "choice":
            field.choice_select_item(target["index"])
        else:
            raise SystemExit(f"unknown field kind {kind}")
    if not doc.save(Path(dst).resolve().as_uri()):
        raise SystemExit("poppler could not save the document")


if __name__ == "__main__":
    main()
