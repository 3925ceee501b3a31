"""The one switch for musforms' hand-written fast paths.

Seven things are done by hand for speed, each beside the plain library way of doing the same:

- the PDF form (``pdf/writer.py``, ``pdf/_template.py``): rendered by reportlab once per
  layout and personalised by substitution; the plain way renders each form with reportlab;
- the Word form (``docx/writer.py``, ``DocxFormWriter``): built by python-docx once per
  question set with markers for the personal values, which each form's XML text gets by
  substitution before its changed parts are zipped again; the plain way builds each form with
  python-docx from its values and saves it with ``Document.save``;
- the minutes draft (``outputs/minutes.py``, ``CompiledTemplate``): the Word template compiled
  once and only its templated parts zipped again per draft; the plain way is docxtpl's
  ``DocxTemplate.render`` and ``save`` per draft;
- a mail reply (``mail/inbox.py``, ``_split``): split at its MIME boundary lines in one
  pass, each part's headers parsed by the standard ``email`` package and a base64 body
  decoded in one call; the plain way is ``email.message_from_bytes``, which reads the
  message a line at a time (20 times slower on a reply with a 200 kB form);
- a message ``send`` mails (``mail/send.py``, ``ready_message``): the email package lays out
  its headers and parts around a short stand-in for each form, which is then replaced by the
  form base64-encoded in one call, and the whole is dot-stuffed once for smtplib's DATA; the
  plain way is the email package's ``EmailMessage`` written out by smtplib's
  ``send_message`` (three times the CPU for a message with a 300 kB form);
- the follow-up workbook (``outputs/followup.py``, ``_write_xlsx_by_hand``): its rows' XML
  written by hand into the workbook openpyxl lays out with the header and the rows that decide
  its styles; the plain way is openpyxl's write-only workbook with a cell object per value
  (four times the time for 10,000 agreements). A text it does not write (an error code, a
  character openpyxl refuses) leaves the whole workbook to openpyxl.
- a form's entry in manifest.json (``manifest.py``, ``_plain_json``): its objects, lists and
  strings written out indented by hand, each string escaped by the json module's own encoder;
  the plain way is ``json.dumps(..., indent=2)``, whose indenting encoder is pure Python (3
  times the time; collect makes one entry per conclusion form, every run). A value holding
  anything else (a number, a null) is left to json.dumps.

``MUSFORMS_FAST_PATHS=0`` turns all of them off, so the library runs alone: slower, and the
thing to try when a form or a draft looks wrong after a library upgrade. The tests run the
real-client checks both ways and compare the two paths' output.
"""

from __future__ import annotations

import os

from musforms.errors import ConfigError
from musforms.i18n import _

ENV = "MUSFORMS_FAST_PATHS"
_ON = frozenset({"", "1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})


def enabled() -> bool:
    """Whether the hand-written fast paths run (the default), read afresh on every call so
    worker processes and tests see the environment as it is."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ConfigError(
        _("{env} must be 0 (fast paths off) or 1 (on), not {value!r}").format(env=ENV, value=value)
    )
