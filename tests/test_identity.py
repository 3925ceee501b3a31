"""The signed identity catches every edit, and the key is private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from musforms.errors import IdentityError, KeyFileError
from musforms.formdata import make_form_data
from musforms.identity import form_code, form_id_from_code, load_key, peek, verify
from musforms.models import Employee, FormData, QuestionSet


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    """A new key is mode 0600 in a 0700 folder, and the same key is read back."""
    path = tmp_path / "cfg" / "musforms" / "key"
    key = load_key(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_key(path) == key and len(key) == 32


def test_missing_key_says_what_to_do(tmp_path: Path) -> None:
    """Without the key, the message names the path and how to supply it."""
    with pytest.raises(KeyFileError, match="--key-file"):
        load_key(tmp_path / "nope")


def test_untouched_form_verifies(form_data: FormData, key: bytes) -> None:
    identity = verify(key, form_data.token, form_data.prefill)
    assert identity == form_data.identity


def test_edited_prefill_is_caught(form_data: FormData, key: bytes) -> None:
    """Changing the printed name or last year's agreement fails verification."""
    for name in ("mf_name", "mf_prev__1__what"):
        edited = dict(form_data.prefill, **{name: form_data.prefill[name] + "x"})
        with pytest.raises(IdentityError, match="prefilled"):
            verify(key, form_data.token, edited)


def test_edited_identity_is_caught(form_data: FormData, key: bytes) -> None:
    """Swapping in another employee id (re-encoding the payload) breaks the signature."""
    import base64
    import json

    head, payload, mac = form_data.token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["employee_id"] = "9999"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(IdentityError, match="does not verify"):
        verify(key, f"{head}.{forged}.{mac}", form_data.prefill)
    assert peek(f"{head}.{forged}.{mac}").employee_id == "9999"


def test_other_key_is_caught(form_data: FormData) -> None:
    with pytest.raises(IdentityError, match="another key"):
        verify(b"k" * 32, form_data.token, form_data.prefill)


def test_line_endings_do_not_break_verification(form_data: FormData, key: bytes) -> None:
    """PDFium stores CRLF; the prefill digest normalises line breaks."""
    prefill = {k: v.replace("\n", "\r\n") for k, v in form_data.prefill.items()}
    assert verify(key, form_data.token, prefill) == form_data.identity


def test_form_ids_are_stable_and_codes_round_trip(
    every_type: QuestionSet, employee: Employee, key: bytes
) -> None:
    """The same employee and round get the same id; the printed code maps back to it."""
    a = make_form_data(every_type, employee, key=key, cycle="2026")
    b = make_form_data(every_type, employee, key=key, cycle="2026")
    c = make_form_data(every_type, employee, key=key, cycle="2027")
    assert a.identity.form_id == b.identity.form_id != c.identity.form_id
    code = form_code(a.identity.form_id)
    assert form_id_from_code(f"Formkode {code.lower()} side 1") == a.identity.form_id
