"""The report's fixed wording, in Danish and English."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "title": {
        "da": "Status for MUS-runden {cycle}",
        "en": "Development conversations {cycle}: status",
    },
    "confidential": {
        "da": "Fortroligt: indeholder personoplysninger (navne). Del kun med dem, der skal "
        "bruge det.",
        "en": "Confidential: holds personal data (names). Share only with those who need it.",
    },
    "made": {
        "da": "Lavet {today} af musforms ud fra {results}",
        "en": "Made {today} by musforms from {results}",
    },
    "collected_at": {"da": "Senest indsamlet {when}", "en": "Last collected {when}"},
    "threshold_note": {
        "da": "Tal om trivsel vises kun for grupper med mindst {n} svar. En gruppe, der ellers "
        "kunne regnes ud fra de andre, skjules også. Fritekst og aftalernes indhold vises aldrig.",
        "en": "Wellbeing figures are shown only for groups with at least {n} answers. A group "
        "that could otherwise be worked out from the others is hidden too. Free text and the "
        "agreements' content never appear.",
    },
    "contents": {"da": "Indhold", "en": "Contents"},
    "status": {"da": "Runden", "en": "The round"},
    "status_by": {"da": "Pr. {by}", "en": "By {by}"},
    "expected": {"da": "Skal svare", "en": "Expected"},
    "returned": {"da": "Afleveret", "en": "Returned"},
    "blank": {"da": "Tomme", "en": "Blank"},
    "missing": {"da": "Mangler", "en": "Missing"},
    "problems": {"da": "Skal ses efter", "en": "To check"},
    "share": {"da": "Andel afleveret", "en": "Share returned"},
    "unusable_files": {
        "da": "{n} indsendte filer kunne ikke bruges og kan ikke knyttes til en medarbejder "
        "(se report.json).",
        "en": "{n} files sent in could not be used and belong to no known employee "
        "(see report.json).",
    },
    "problems_note": {
        "da": "«Skal ses efter»: en aflevering, der er læst fra siden, har problemer eller "
        "ikke kunne bruges.",
        "en": "“To check”: a return read from the page, with problems, or one that could not "
        "be used.",
    },
    "whole": {"da": "Hele organisationen", "en": "Whole organisation"},
    "no_group": {"da": "(ikke angivet)", "en": "(not given)"},
    "missing_title": {"da": "Mangler at aflevere, pr. leder", "en": "Not returned yet, by leader"},
    "none_missing": {"da": "Alle har afleveret.", "en": "Everyone has returned."},
    "blank_mark": {"da": "tom", "en": "blank"},
    "no_names": {
        "da": "Navne og afdelinger for dem, der mangler, står i formularmappens manifest.json; "
        "giv --forms for at få dem med. Her står de med medarbejdernummer.",
        "en": "The names and departments of those missing are in the forms folder's "
        "manifest.json; give --forms to include them. Here they are listed by employee id.",
    },
    "conclusions": {"da": "Konklusioner", "en": "Conclusions"},
    "no_conclusions": {
        "da": "Ingen konklusionsskemaer er indsamlet i denne runde.",
        "en": "No conclusion forms have been collected in this round.",
    },
    "conclusions_counts": {
        "da": "Konklusioner indsamlet: {collected}. Godkendt af både medarbejder og leder: "
        "{approved}. Mangler en godkendelse: {unapproved} (se report.json i conclusions/).",
        "en": "Conclusions collected: {collected}. Approved by both the employee and the "
        "leader: {approved}. An approval missing: {unapproved} (see report.json in "
        "conclusions/).",
    },
    "agreements": {"da": "Aftaler, pr. leder", "en": "Agreements, by leader"},
    "open": {"da": "Åbne", "en": "Open"},
    "due_soon": {"da": "Frist inden {days} dage", "en": "Due within {days} days"},
    "overdue": {"da": "Overskredet", "en": "Overdue"},
    "no_agreements": {"da": "Ingen åbne aftaler.", "en": "No open agreements."},
    "agreements_note": {
        "da": "Åbne: aftaler fra årets samtale og sidste års, der er i gang eller uden status. "
        "Talt pr. {today}.",
        "en": "Open: this round's agreements and last round's in progress or without a status. "
        "Counted on {today}.",
    },
    "leader": {"da": "Leder", "en": "Leader"},
    "department": {"da": "afdeling", "en": "department"},
    "leader_lc": {"da": "leder", "en": "leader"},
    "wellbeing": {"da": "Trivsel og arbejdsmængde", "en": "Wellbeing and workload"},
    "no_wellbeing": {
        "da": "Ingen skala- eller valgspørgsmål i de indsamlede svar.",
        "en": "No scale or choice questions in the responses collected.",
    },
    "answers": {"da": "Svar", "en": "Answers"},
    "mean": {"da": "Gns.", "en": "Mean"},
    "group": {"da": "Gruppe", "en": "Group"},
    "fewer": {"da": "færre end {n} svar", "en": "fewer than {n} answers"},
    "remainder": {
        "da": "skjult, så en gruppe med færre end {n} svar ikke kan regnes ud",
        "en": "hidden, so that a group of fewer than {n} answers cannot be worked out",
    },
    "no_answers": {"da": "ingen svar", "en": "no answers"},
    "chart_label": {
        "da": "Diagram over svarene på «{q}»; tallene står i tabellen ved siden af.",
        "en": "Chart of the answers to “{q}”; the figures are in the table beside it.",
    },
    "chart_some": {
        "da": "Diagrammet viser de {k} største grupper; tabellen viser alle.",
        "en": "The chart shows the {k} largest groups; the table shows them all.",
    },
    "unknown_sets": {
        "da": "Spørgsmålene til {n} svar blev ikke fundet; de er ikke talt med under trivsel.",
        "en": "The questions of {n} responses were not found; they are not counted under "
        "wellbeing.",
    },
    "changes": {"da": "Ændringer siden {cycle}", "en": "Changes since {cycle}"},
    "changes_note": {
        "da": "Gennemsnit på skalaspørgsmål; kun hvor begge runder har nok svar.",
        "en": "Means of scale questions; only where both rounds have enough answers.",
    },
    "now": {"da": "Nu", "en": "Now"},
    "before": {"da": "Før", "en": "Before"},
    "change": {"da": "Ændring", "en": "Change"},
    "no_changes": {
        "da": "Ingen grupper med nok svar i begge runder.",
        "en": "No group with enough answers in both rounds.",
    },
    "changes_by": {
        "da": "Ændringer kan kun vises pr. afdeling eller leder.",
        "en": "Changes can only be shown by department or leader.",
    },
}


def w(key: str, lang: str, **values: object) -> str:
    text = WORDS[key].get(lang) or WORDS[key]["da"]
    return text.format(**values) if values else text
