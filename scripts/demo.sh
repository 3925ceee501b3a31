#!/usr/bin/env bash
# `make demo`: a whole MUS round on the samples, step by step. Stops at the first failure.
# In Danish; LANG=en_GB.UTF-8 make demo gives it in English.
set -euo pipefail
cd "$(dirname "$0")/.."
MUSFORMS=.venv/bin/musforms
OUT=demo-out
# The samples are signed with a key made for them alone; real rounds use your own key
# (made on first use in ~/.config/musforms/key).
# A checkout gives it the mode 0644 that git keeps, which musforms would warn about.
chmod 600 samples/demo.key
KEY=(--key-file samples/demo.key)

# The demo speaks as musforms does (musforms.i18n): Danish, or English when the locale or
# config/musforms.toml says so. step DANISH ENGLISH prints the header in that language.
DEMO_LANG=$(.venv/bin/python -c 'from musforms.i18n import command_language; print(command_language([]))')
step() { if [ "$DEMO_LANG" = en ]; then printf '\n== %s\n' "$2"; else printf '\n== %s\n' "$1"; fi; }
say() { if [ "$DEMO_LANG" = en ]; then echo "$2"; else echo "$1"; fi; }

rm -rf "$OUT"
mkdir -p "$OUT"

step "De indbyggede spørgsmålssæt" "The built-in question sets"
$MUSFORMS sets

step "Hvert indbygget sæt består check" "Each built-in set passes check"
for name in standard kort leder opfoelgning; do
  $MUSFORMS check "$name"
done

step "Spørgsmålssættet og indstillingerne i config/" "The question set and settings in config/"
$MUSFORMS check config/questions.yaml

step "Eksempel-medarbejderlisten (samples/roster.csv, gemt som dansk Excel gør)" \
  "The sample roster (samples/roster.csv, saved as Danish Excel does)"
$MUSFORMS roster samples/roster.csv

step "En ny rundemappe med musforms init" "A new round folder with musforms init"
$MUSFORMS init "$OUT/mus2026" --set kort --organisation "Eksempel Kommune"
$MUSFORMS check "$OUT/mus2026/config/questions.yaml"

step "Et PDF- og et Word-skema til hver medarbejder" "Generate a PDF and a Word form for every employee"
$MUSFORMS generate --questions config/questions.yaml --roster samples/roster.csv \
  --out "$OUT/forms/2026" --cycle 2026 "${KEY[@]}"
ls "$OUT/forms/2026" | head -6

step "Mail hver medarbejder deres egne skemaer: her som kladder at åbne i Outlook (send --drafts)" \
  "Mail each employee their own forms: here as drafts to open in Outlook (send --drafts)"
# With --smtp HOST instead of --drafts the same command sends them (and asks first).
$MUSFORMS send "$OUT/forms/2026" --drafts "$OUT/outbox" --from "HR <hr@eksempel-kommune.example>" \
  --texts "$OUT/mus2026/config/mail" --deadline 10-01-2027
ls "$OUT/outbox" | head -3
head -4 "$OUT/outbox/1042-soeren-aeroe.eml"

step "Indsaml de returnerede skemaer i samples/returned/ (udfyldt i pdf.js, PDFium, poppler, LibreOffice)" \
  "Collect the returned forms in samples/returned/ (filled in pdf.js, PDFium, poppler, LibreOffice)"
# Exit code 1 says some files could not be used (the samples include broken ones on purpose).
status=0
$MUSFORMS collect samples/returned --forms "$OUT/forms/2026" --out "$OUT/results/2026" \
  --roster samples/roster.csv "${KEY[@]}" || status=$?

step "Hver returneret fil fik den status, samples/RETURNED.md lover" \
  "Each returned file got the status samples/RETURNED.md promises"
.venv/bin/python scripts/check_samples.py samples/RETURNED.md "$OUT/results/2026/report.json" \
  --folder samples/returned --exit-code "$status"

step "Et konklusionsskema til hver returneret forberedelse, til samtalen (results/2026/conclusions/)" \
  "A conclusion form per returned preparation, for the conversation (results/2026/conclusions/)"
ls "$OUT/results/2026/conclusions" | grep docx | head -4

step "Hver leders konklusionsskemaer for egne medarbejdere, som kladder (send --leaders)" \
  "Each leader's conclusion forms of their own employees, as drafts (send --leaders)"
$MUSFORMS send "$OUT/forms/2026" --leaders "$OUT/results/2026" --drafts "$OUT/outbox-leaders" \
  --from "HR <hr@eksempel-kommune.example>" --texts "$OUT/mus2026/config/mail"
ls "$OUT/outbox-leaders"

step "Indsaml konklusionerne fra samtalerne i samples/konklusion/ (udfyldt i LibreOffice), sammen med resten" \
  "Collect the conclusions from the conversations in samples/konklusion/ (filled in LibreOffice), with the rest"
status=0
$MUSFORMS collect samples/returned samples/konklusion --forms "$OUT/forms/2026" \
  --out "$OUT/results/2026" --roster samples/roster.csv "${KEY[@]}" || status=$?

step "Hver konklusion fik den status, samples/KONKLUSION.md lover" \
  "Each conclusion got the status samples/KONKLUSION.md promises"
.venv/bin/python scripts/check_samples.py samples/KONKLUSION.md \
  "$OUT/results/2026/conclusions/report.json" --folder samples/konklusion --exit-code "$status"

step "Opfølgningslisten har nu de aftalte aftaler (sidste kolonne)" \
  "The follow-up list now holds the agreed agreements (last column)"
cut -d';' -f1,5,12 "$OUT/results/2026/agreements.csv" | head -8

step "Åbne og overskredne aftaler pr. leder" "Open and overdue agreements by leader"
$MUSFORMS followup "$OUT/results/2026"

step "Forslag, der stadig venter på en konklusion" "Proposals still waiting for a conclusion"
$MUSFORMS followup "$OUT/results/2026" --proposed

step "Tre måneder efter samtalen: et kort opfølgningsskema til hver med åbne aftaler (generate --followup)" \
  "Three months after the conversation: a short check-in form for each with open agreements (generate --followup)"
$MUSFORMS generate --followup "$OUT/results/2026" --out "$OUT/forms/2026-opfoelgning" "${KEY[@]}"

step "Mail opfølgningsskemaerne, her som kladder (send --drafts)" \
  "Mail the check-in forms, here as drafts (send --drafts)"
$MUSFORMS send "$OUT/forms/2026-opfoelgning" --drafts "$OUT/outbox-opfoelgning" \
  --from "HR <hr@eksempel-kommune.example>" --texts "$OUT/mus2026/config/mail" --deadline 15-04-2027
ls "$OUT/outbox-opfoelgning"

step "Indsaml de returnerede opfølgningsskemaer i samples/checkins/ (udfyldt i pdf.js og LibreOffice)" \
  "Collect the returned check-ins in samples/checkins/ (filled in pdf.js and LibreOffice)"
# Into the round's results folder: the check-ins go to checkins/, the follow-up list and the
# calendar get their statuses, the preparation's answers stay as they are.
status=0
$MUSFORMS collect samples/checkins --forms "$OUT/forms/2026-opfoelgning" --out "$OUT/results/2026" \
  "${KEY[@]}" || status=$?
.venv/bin/python scripts/check_samples.py samples/CHECKINS.md \
  "$OUT/results/2026/checkins/report.json" --folder samples/checkins --exit-code "$status"

step "Åbne aftaler efter opfølgningen: de gennemførte er væk" \
  "Open agreements after the check-ins: the done ones are gone"
$MUSFORMS followup "$OUT/results/2026"

step "Næste års skemaer har årets aftaler med, hver med sin seneste status" \
  "Next year's forms carry this year's agreements, each by its latest status"
$MUSFORMS generate --questions config/questions.yaml --roster samples/roster.csv \
  --out "$OUT/forms/2027" --cycle 2027 --previous "$OUT/results/2026" "${KEY[@]}"

step "Rundens status i én HTML-fil, til HR og ledelsen (musforms report)" \
  "The round's status in one HTML file, for HR and management (musforms report)"
# Opens in any browser, offline; a group with fewer than 5 answers shows no figures.
$MUSFORMS report "$OUT/results/2026" --out "$OUT/report.html"

step "Færdig. Se:" "Done. Look at:"
say "  skemaer:         $OUT/forms/2026/" "  forms:           $OUT/forms/2026/"
say "  mailkladder:     $OUT/outbox/ (medarbejdere), $OUT/outbox-leaders/ (ledere)" \
  "  mail drafts:     $OUT/outbox/ (employees), $OUT/outbox-leaders/ (leaders)"
say "  svar:            $OUT/results/2026/responses/ og responses.json" \
  "  answers:         $OUT/results/2026/responses/ and responses.json"
say "  statusrapport:   $OUT/results/2026/report.json" "  status report:   $OUT/results/2026/report.json"
say "  referater:       $OUT/results/2026/minutes/" "  minutes:         $OUT/results/2026/minutes/"
say "  konklusioner:    $OUT/results/2026/conclusions/" "  conclusions:     $OUT/results/2026/conclusions/"
say "  opfølgning:      $OUT/results/2026/agreements.xlsx, agreements.csv, followup.ics" \
  "  follow-up list:  $OUT/results/2026/agreements.xlsx, agreements.csv, followup.ics"
say "  opfølgningsskemaer: $OUT/forms/2026-opfoelgning/, svar i $OUT/results/2026/checkins/" \
  "  check-ins:       $OUT/forms/2026-opfoelgning/, answers in $OUT/results/2026/checkins/"
say "  næste år:        $OUT/forms/2027/" "  next year:       $OUT/forms/2027/"
say "  HTML-rapport:    $OUT/report.html (åbn den i en browser, eller udskriv den)" \
  "  HTML report:     $OUT/report.html (open it in a browser, or print it)"
