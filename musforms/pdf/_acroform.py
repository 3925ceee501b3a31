"""PDF names and flag values the form writer and reader use, in one place.

ISO 32000-1 §12.5 (annotations) and §12.7 (interactive forms). Field names here are the
dictionary keys as pypdf and pikepdf spell them (``/T``, ``/V``…).
"""

from __future__ import annotations

from typing import Final

# Document information dictionary (§14.3.3) and the key musforms adds to it.
INFO_PRODUCER: Final = "/Producer"
INFO_MOD_DATE: Final = "/ModDate"
INFO_CREATION_DATE: Final = "/CreationDate"
INFO_IDENTITY: Final = "/MusformsIdentity"
INFO_KEYWORDS: Final = "/Keywords"  # a Word form exported by LibreOffice: its identity

# Document catalog (§7.7.2) and interactive form dictionary (§12.7.2).
ROOT: Final = "/Root"
ACROFORM: Final = "/AcroForm"
FIELDS: Final = "/Fields"
XFA: Final = "/XFA"


class Annot:
    """Annotation dictionary keys (§12.5.2, Table 164) and widget keys (§12.5.6.19)."""

    SUBTYPE: Final = "/Subtype"
    WIDGET: Final = "/Widget"
    ANNOTS: Final = "/Annots"
    RECT: Final = "/Rect"
    AS: Final = "/AS"  # appearance state: the on-state name of a ticked button, else /Off
    AP: Final = "/AP"
    N: Final = "/N"  # the normal appearance inside /AP
    PARENT: Final = "/Parent"
    F: Final = "/F"


class Field:
    """Field dictionary keys (§12.7.3.1, Table 220; §12.7.4.4, Table 231)."""

    FT: Final = "/FT"  # field type: /Btn, /Tx, /Ch, /Sig (inheritable)
    T: Final = "/T"  # partial field name
    V: Final = "/V"  # value (inheritable)
    FF: Final = "/Ff"  # field flags (inheritable)
    KIDS: Final = "/Kids"
    OPT: Final = "/Opt"  # choice options, or export values of button kids


class FieldType:
    BUTTON: Final = "/Btn"
    TEXT: Final = "/Tx"
    CHOICE: Final = "/Ch"
    SIGNATURE: Final = "/Sig"


OFF: Final = "/Off"


class FieldFlag:
    """Bit positions of /Ff (§12.7.3.1 Table 221, §12.7.4.2.1 Table 226)."""

    READ_ONLY: Final = 1 << 0
    REQUIRED: Final = 1 << 1
    MULTILINE: Final = 1 << 12
    NO_TOGGLE_TO_OFF: Final = 1 << 14
    RADIO: Final = 1 << 15
    PUSH_BUTTON: Final = 1 << 16
    COMBO: Final = 1 << 17


class AnnotFlag:
    """Bit positions of an annotation's /F (§12.5.3, Table 165)."""

    HIDDEN: Final = 1 << 1
    PRINT: Final = 1 << 2


# reportlab's acroForm spells flags as space-separated words (reportlab.pdfbase.acroform).
RL_TEXT: Final = ""
RL_MULTILINE: Final = "multiline"
RL_READ_ONLY: Final = "readOnly"
RL_CHECKBOX: Final = ""  # reportlab's default would make every box "required"
RL_RADIO: Final = "noToggleToOff radio"  # reportlab's default adds "required"
RL_COMBO: Final = "combo"
RL_ANNOT_PRINT: Final = "print"
