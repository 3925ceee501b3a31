"""``musforms init``: a folder ready for a MUS round — question set, settings, roster, how-to."""

from __future__ import annotations

from pathlib import Path

from musforms.errors import ConfigError
from musforms.files import write_bytes, write_text
from musforms.i18n import _
from musforms.mail.texts import FOLDER as MAIL_FOLDER
from musforms.mail.texts import builtin_files
from musforms.questionset import builtin_sets, load_question_set

SETTINGS_TEMPLATE = """\
# Indstillinger for musforms (organisationen). Tjek dem med:
#     musforms check config/questions.yaml
#
# Tekst skal stå i anførselstegn. Linjer, der starter med #, er kommentarer.

# Organisationens navn: står øverst på skemaer og referater.
organisation = "{organisation}"

# Logo (PNG eller JPEG), i forhold til denne mappe. Fjern # for at bruge det.
# logo = "logo.png"

# Sprog, når medarbejderlisten ikke siger andet: "da" (dansk) eller "en" (engelsk).
default_language = "da"

# Opfølgning på aftalerne: hvor mange måneder efter samtalen (bruges i opfølgningslisten).
followup_months = 3

# Hvor længe de indsamlede svar gemmes, i måneder, før de skal slettes (musforms purge).
retention_months = 36

# Statusrapporten (musforms report): en gruppe med færre svar end dette viser ingen tal,
# kun "færre end 5 svar". Mindst 3.
anonymity_min = 5
"""

ROSTER_HEADER = ("Medarbejdernr", "Navn", "E-mail", "Afdeling", "Leder", "Leders e-mail",
                 "Mødedato", "Sprog")  # fmt: skip
ROSTER_EXAMPLES = (
    ("1001", "Eksempel Eksempelsen", "eksempel@eksempel.example", "Økonomi",
     "Leder Ledersen", "leder@eksempel.example", "14-01-2027", "da"),
    ("1002", "Example Person", "person@eksempel.example", "Økonomi",
     "Leder Ledersen", "leder@eksempel.example", "15-01-2027", "en"),
)  # fmt: skip

HOWTO = """\
# Sådan gør du: MUS med musforms

Denne mappe er klar til en MUS-runde. Den indeholder:

- `config/questions.yaml` — spørgsmålene (spørgsmålssættet „{set_name}“). Ret gerne i dem.
- `config/musforms.toml` — organisationens navn, logo, sprog og opfølgning.
- `config/mail/` — emne og tekst i de mails, `musforms send` sender (se trin 3).
- `roster.csv` — medarbejderlisten. Åbn den i Excel, erstat de to eksempler med jeres
  medarbejdere, og gem som CSV. Kolonnerne Medarbejdernr og Navn skal udfyldes; resten er
  frivillige. Datoer skrives som 14-01-2027, sprog som da eller en.

## 1. Tjek spørgsmål og medarbejderliste

    musforms check config/questions.yaml
    musforms roster roster.csv

`check` siger OK eller peger på fil, linje og hvad der er galt. Hold skemaet kort: få,
konkrete spørgsmål giver bedre samtaler end mange.

## 2. Lav skemaerne

    musforms generate --questions config/questions.yaml --roster roster.csv \\
                      --out skemaer/2026 --cycle 2026

Der kommer et udfyldeligt PDF- og Word-skema pr. medarbejder. Første gang laves en nøgle
(`~/.config/musforms/key`): tag en sikkerhedskopi af den — den skal bruges for at indsamle
skemaerne igen.

## 3. Send skemaerne

    musforms send skemaer/2026 --smtp smtp.eksempel.dk --from hr@eksempel.dk --user hr \
                  --deadline 15-01-2027

Hver medarbejder får én mail med sine egne skemaer vedhæftet. Emne og tekst står i
`config/mail/invitation.da.txt` (og `.en.txt` for dem med sprog en): første linje er emnet,
så en tom linje, så teksten. `{{navn}}`, `{{fornavn}}`, `{{leder}}`, `{{mødedato}}`,
`{{frist}}`, `{{afdeling}}` og `{{organisation}}` udfyldes pr. medarbejder. Adgangskoden
læses fra `MUSFORMS_SMTP_PASSWORD` eller spørges om. Kommandoen viser først, hvem der får
hvad, og spørger. Hellere kladder i Outlook? `--drafts udbakke/` skriver én .eml pr.
medarbejder.

Senere sender samme kommando med `--remind resultater/2026` påmindelsen (`reminder.da.txt`)
til dem, der mangler, og med `--leaders resultater/2026` hver leder konklusionsskemaerne for sine
egne medarbejdere (referatudkastet for den, der ikke har et), at udfylde under samtalen og
sende tilbage.

## 4. Saml svarene ind

Læg de returnerede filer i én mappe (navnene er ligegyldige) og kør:

    musforms collect returnerede/ --forms skemaer/2026 --out resultater/2026

Du får svarene pr. medarbejder, en status (hvem mangler), udkast til referater og en
opfølgningsliste over aftalerne.

## Husk

- Skemaer og svar er fortrolige personoplysninger: gem dem sikkert, og slet dem, når
  opbevaringsperioden er udløbet.
- Opfølgning er alfa og omega: tag aftalerne op igen efter ca. tre måneder.
"""


def init_folder(
    folder: Path,
    set_name: str = "standard",
    *,
    organisation: str = "",
    force: bool = False,
    xlsx: bool = False,
) -> list[Path]:
    """Write a question set, settings, a roster template and a how-to into ``folder``.

    With ``xlsx`` the question set is an Excel workbook (``questions.xlsx``, with a guide
    sheet) instead of YAML. Refuses to overwrite existing files unless ``force``; returns
    the files written, the question set first.
    """
    sets = builtin_sets()
    if set_name not in sets:
        raise ConfigError(
            _("no built-in question set {set_name!r}; choose one of {sets}").format(
                set_name=set_name, sets=", ".join(sets)
            )
        )
    questions = folder / "config" / ("questions.xlsx" if xlsx else "questions.yaml")
    settings = folder / "config" / "musforms.toml"
    roster = folder / "roster.csv"
    howto = folder / "SÅDAN-GØR-DU.md"
    mail = {folder / MAIL_FOLDER / name: text for name, text in builtin_files().items()}
    targets = [questions, settings, *mail, roster, howto]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise ConfigError(
            _("{names} already exist; use --force to overwrite them").format(names=names)
        )
    if folder.exists() and not folder.is_dir():
        raise ConfigError(_("{folder} is a file, not a folder").format(folder=folder))
    if xlsx:
        from musforms.questionbook import write_question_book

        write_question_book(load_question_set(sets[set_name]), questions)
    else:
        write_text(questions, sets[set_name].read_text(encoding="utf-8"))
    settings_text = SETTINGS_TEMPLATE.format(organisation=organisation or "Min organisation")
    if xlsx:
        settings_text = settings_text.replace("questions.yaml", "questions.xlsx")
    write_text(settings, settings_text)
    write_bytes(roster, roster_template())
    for path, text in mail.items():
        write_text(path, text)
    text = HOWTO.format(set_name=set_name)
    if xlsx:
        text = text.replace("config/questions.yaml", "config/questions.xlsx").replace(
            "spørgsmålene (spørgsmålssættet", "spørgsmålene i Excel (spørgsmålssættet"
        )
    write_text(howto, text)
    return targets


def roster_template() -> bytes:
    """A roster as Danish Excel saves "CSV UTF-8": BOM, semicolons, CRLF."""
    lines = [";".join(ROSTER_HEADER), *(";".join(row) for row in ROSTER_EXAMPLES)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
