"""The fixed wording musforms puts on forms and minutes, in Danish and English.

Writers for every format take their words from here, so a PDF and a Word form say the same.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["da", "en"]

_TEXTS: dict[str, dict[str, str]] = {
    "name": {"da": "Navn", "en": "Name"},
    "department": {"da": "Afdeling", "en": "Department"},
    "manager": {"da": "Leder", "en": "Leader"},
    "meeting_date": {"da": "Mødedato", "en": "Meeting date"},
    "form_code": {"da": "Formkode", "en": "Form code"},
    "page": {"da": "Side {page} af {pages}", "en": "Page {page} of {pages}"},
    "date_hint": {"da": "dd-mm-åååå", "en": "dd-mm-yyyy"},
    "required": {"da": "skal udfyldes", "en": "required"},
    "what": {"da": "Hvad", "en": "What"},
    "owner": {"da": "Hvem", "en": "Who"},
    "due": {"da": "Hvornår", "en": "By when"},
    "status": {"da": "Status", "en": "Status"},
    "comment": {"da": "Kommentar", "en": "Comment"},
    "previous_title": {
        "da": "Opfølgning på sidste års aftaler",
        "en": "Follow-up on last year's agreements",
    },
    "previous_intro": {
        "da": "Vælg status for hver aftale, og skriv gerne en kort kommentar.",
        "en": "Choose a status for each agreement and add a short comment if you like.",
    },
    "status_done": {"da": "Gennemført", "en": "Done"},
    "status_in_progress": {"da": "I gang", "en": "In progress"},
    "status_dropped": {"da": "Droppet", "en": "Dropped"},
    "placeholder_text": {"da": "Skriv dit svar her", "en": "Type your answer here"},
    "placeholder_choice": {"da": "Vælg", "en": "Choose"},
    "placeholder_date": {"da": "Vælg en dato", "en": "Pick a date"},
    "how_to": {
        "da": "Udfyld skemaet i Word, LibreOffice, Acrobat, Preview eller din browser, gem "
        "det, og send det tilbage som vedhæftet fil. Skriv kort og konkret; det er et "
        "udgangspunkt for samtalen, ikke en eksamen.",
        "en": "Fill in the form in Word, LibreOffice, Acrobat, Preview or your browser, save "
        "it and send it back as an attachment. Be brief and concrete: it is a starting point "
        "for the conversation, not an exam.",
    },
    "confidential": {"da": "Fortroligt", "en": "Confidential"},
    # Minutes (referat), follow-up list and calendar.
    "minutes_title": {"da": "Referat af MUS", "en": "Minutes of the development conversation"},
    "employee": {"da": "Medarbejder", "en": "Employee"},
    "employee_id": {"da": "Medarbejdernr.", "en": "Employee no."},
    "preparation": {"da": "Medarbejderens forberedelse", "en": "The employee's preparation"},
    "conversation": {"da": "Samtalen", "en": "The conversation"},
    "conversation_intro": {
        "da": "Hvad blev drøftet, og hvad blev konkluderet?",
        "en": "What was discussed, and what was concluded?",
    },
    "agreements": {"da": "Aftaler", "en": "Agreements"},
    "no_agreements": {"da": "Ingen aftaler skrevet i skemaet.", "en": "No agreements in the form."},
    "agreement": {"da": "Aftale", "en": "Agreement"},
    "signatures": {"da": "Underskrifter", "en": "Signatures"},
    "date_signature": {"da": "Dato og underskrift", "en": "Date and signature"},
    "not_answered": {"da": "—", "en": "—"},
    "yes": {"da": "Ja", "en": "Yes"},
    "no": {"da": "Nej", "en": "No"},
    "of_scale": {"da": "{value} (skala {min}–{max})", "en": "{value} (scale {min}–{max})"},
    "status_open": {"da": "Åben", "en": "Open"},
    "status_none": {"da": "Ikke angivet", "en": "Not given"},
    "origin": {"da": "Fra", "en": "From"},
    "no_department": {"da": "Uden afdeling", "en": "No department"},
    "origin_current": {"da": "Denne samtale", "en": "This conversation"},
    "origin_previous": {"da": "Sidste samtale", "en": "Last conversation"},
    "form_id": {"da": "Formular-id", "en": "Form id"},
    "cycle": {"da": "Runde", "en": "Round"},
    "ics_due": {"da": "MUS-aftale med {name}: {what}", "en": "MUS agreement with {name}: {what}"},
    "ics_due_description": {
        "da": "Frist for en aftale fra MUS med {name}.\nAftale: {what}\nHvem: {owner}",
        "en": "Due date of an agreement from the conversation with {name}.\n"
        "Agreement: {what}\nWho: {owner}",
    },
    "ics_checkin": {
        "da": "Opfølgning på MUS-aftaler med {name}",
        "en": "Follow up the MUS agreements with {name}",
    },
    "ics_checkin_description": {
        "da": "Tag en kort snak med {name} om, hvordan det går med aftalerne fra jeres "
        "MUS{meeting}.\n\n{agreements}",
        "en": "Have a short talk with {name} about how the agreements from your development "
        "conversation{meeting} are going.\n\n{agreements}",
    },
    "on_date": {"da": " den {date}", "en": " on {date}"},
    "ics_calendar_name": {"da": "MUS-opfølgning", "en": "MUS follow-up"},
}

AGREEMENT_STATUSES = ("done", "in_progress", "dropped")


def t(key: str, lang: str, **values: object) -> str:
    """The fixed text ``key`` in ``lang`` (Danish when there is no such language)."""
    entry = _TEXTS[key]
    text = entry.get(lang) or entry["da"]
    return text.format(**values) if values else text


def status_label(status: str, lang: str) -> str:
    return t(f"status_{status}", lang)
