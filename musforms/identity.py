"""Form ids, the signing key, and the signed identity every form carries.

A form's identity (form id, employee, cycle, question set id/version/digest) and its
prefilled values (the ``mf_`` fields: name, department, last cycle's agreements…) are
signed with an HMAC key only HR holds. The token embedded in a form is::

    MF1.<base64url(JSON payload)>.<base64url(HMAC-SHA256 over "MF1.<payload>")>

The payload holds the identity and a SHA-256 digest of the prefill, so an edited identity,
another employee's form or an edited prefilled field fails verification.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import shlex
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import ValidationError

from musforms.errors import IdentityError, KeyFileError, SignatureError
from musforms.files import FILE_MODE, private_dir
from musforms.i18n import _
from musforms.models import FORM_CODE_RE as FORM_CODE_RE
from musforms.models import FormIdentity
from musforms.models import form_code as form_code
from musforms.models import form_id_from_code as form_id_from_code

TOKEN_PREFIX = "MF1"  # noqa: S105 - a format marker, not a secret
KEY_ENV = "MUSFORMS_KEY_FILE"
KEY_BYTES = 32
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def default_key_path() -> Path:
    """Where the key lives: $MUSFORMS_KEY_FILE, else the user's config folder."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "musforms" / "key"


def load_key(
    path: Path | None = None,
    *,
    create: bool = False,
    warn: Callable[[str], None] | None = None,
) -> bytes:
    """Read the signing key; with ``create``, make a new one (mode 0600) if there is none.

    A key that other users can change is refused (whoever replaces it can sign forms that
    collect accepts); one they can read is used, and ``warn`` is told so."""
    path = path or default_key_path()
    if not path.exists():
        if not create:
            raise KeyFileError(
                _(
                    "no signing key at {path}. Forms are signed with the key made when "
                    "they were generated: copy that key here, or point --key-file (or "
                    "{key_env}) at it."
                ).format(path=path, key_env=KEY_ENV)
            )
        private_dir(path.parent)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            return load_key(path, warn=warn)
        except OSError as exc:
            raise KeyFileError(
                _("cannot create the signing key {path}: {strerror}").format(
                    path=path, strerror=exc.strerror
                )
            ) from exc
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(key).decode("ascii") + "\n")
        return key
    check_key_mode(path, warn)
    try:
        text = path.read_text(encoding="ascii").strip()
        key = base64.b64decode(text, validate=True)
    except (OSError, UnicodeDecodeError, binascii.Error) as exc:
        raise KeyFileError(
            _("the signing key {path} cannot be read: {exc}").format(path=path, exc=exc)
        ) from exc
    if len(key) < 16:
        raise KeyFileError(
            _("the signing key {path} is too short; restore it from your backup").format(path=path)
        )
    return key


def check_key_mode(path: Path, warn: Callable[[str], None] | None = None) -> None:
    """Refuse a key file that group or others may write; warn when they may read it.

    Only the mode bits count (root, who may read any file, is held to them too); a system
    without them (Windows) is not checked."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # reading it says what is wrong
    fix = f"chmod 600 {shlex.quote(str(path))}"
    if mode & 0o022:
        raise KeyFileError(
            _(
                "the signing key {path} can be changed by other users (mode "
                "{mode:04o}): whoever replaces it can sign forms that collect "
                "accepts, so musforms does not use it. Make it yours alone with: "
                "{fix} (and check it is still the key you backed up), then run the "
                "command again."
            ).format(path=path, mode=mode, fix=fix)
        )
    if mode & 0o044 and warn is not None:
        warn(
            _(
                "the signing key {path} can be read by other users (mode "
                "{mode:04o}): whoever copies it can sign forms that collect "
                "accepts. Make it yours alone with: {fix}"
            ).format(path=path, mode=mode, fix=fix)
        )


def canonical_json(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_form_id(key: bytes, cycle: str, employee_id: str, question_set_id: str) -> str:
    """A stable, unguessable form id: the same employee and round always get the same id."""
    mac = hmac.new(key, canonical_json(["form", cycle, employee_id, question_set_id]), "sha256")
    n = int.from_bytes(mac.digest()[:8], "big")
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in range(12))


def _normalise_prefill(prefill: Mapping[str, str | None]) -> dict[str, str]:
    # Line breaks differ between clients (PDFium stores CRLF); empty equals absent.
    out = {}
    for name, value in prefill.items():
        v = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
        if v:
            out[name] = v
    return out


def prefill_digest(prefill: Mapping[str, str | None]) -> str:
    return digest(canonical_json(_normalise_prefill(prefill)))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, identity: FormIdentity, prefill: Mapping[str, str | None]) -> str:
    # A preparation form's payload is as it was before forms had kinds, so its token is too.
    payload = identity.model_dump(exclude_defaults=True, include={"kind", "of_form"})
    payload.update(identity.model_dump(exclude={"kind", "of_form"}))
    payload["prefill"] = prefill_digest(prefill)
    body = f"{TOKEN_PREFIX}.{_b64(canonical_json(payload))}"
    mac = hmac.new(key, body.encode("ascii"), "sha256").digest()[:16]
    return f"{body}.{_b64(mac)}"


def peek(token: str) -> FormIdentity:
    """The identity a token claims, without checking its signature (for matching only)."""
    payload = _decode(token)
    payload.pop("prefill", None)
    try:
        return FormIdentity.model_validate(payload)
    except ValidationError as exc:
        raise IdentityError(_("the form's identity is damaged")) from exc


def _decode(token: str) -> dict[str, object]:
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise IdentityError(_("the form's identity is damaged"))
    try:
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error) as exc:
        raise IdentityError(_("the form's identity is damaged")) from exc
    if not isinstance(payload, dict):
        raise IdentityError(_("the form's identity is damaged"))
    return payload


def verify(key: bytes, token: str, prefill: Mapping[str, str | None]) -> FormIdentity:
    """The identity of a returned form, after checking signature and prefilled values.

    Raises IdentityError saying which part does not hold.
    """
    parts = token.strip().split(".")
    identity = peek(token)
    body = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(key, body.encode("ascii"), "sha256").digest()[:16]
    try:
        given = _unb64(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise IdentityError(_("the form's identity is damaged")) from exc
    if not hmac.compare_digest(expected, given):
        raise SignatureError(
            _("the form's identity does not verify: it was altered, or signed with another key")
        )
    if _decode(token).get("prefill") != prefill_digest(prefill):
        if identity.kind == "conclusion":
            raise IdentityError(
                _(
                    "the prefilled part of the conclusion form (the employee's preparation, "
                    "name, department, leader or date) was altered"
                )
            )
        raise IdentityError(
            _(
                "the prefilled part of the form (name, department, leader, date or last "
                "year's agreements) was altered"
            )
        )
    return identity
