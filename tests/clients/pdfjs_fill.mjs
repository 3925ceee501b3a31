// Fill a PDF form with pdf.js (the engine in Firefox) and save it the way Firefox does.
//
//   node pdfjs_fill.mjs SRC DST VALUES.json
//
// VALUES maps field names to a string (text, or a radio / drop-down export value) or a
// boolean (checkbox). Every named field must exist, or the script fails.
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const pdfjsDir = path.dirname(require.resolve("pdfjs-dist/package.json"));
const pdfjs = await import(path.join(pdfjsDir, "legacy/build/pdf.mjs"));

const [src, dst, valuesFile] = process.argv.slice(2);
if (!src || !dst || !valuesFile) {
  console.error("usage: node pdfjs_fill.mjs SRC DST VALUES.json");
  process.exit(2);
}
const values = JSON.parse(await readFile(valuesFile, "utf8"));
const data = new Uint8Array(await readFile(src));
const doc = await pdfjs.getDocument({
  data,
  standardFontDataUrl: path.join(pdfjsDir, "standard_fonts") + path.sep,
  verbosity: 0,
}).promise;
const fields = (await doc.getFieldObjects()) || {};
const storage = doc.annotationStorage;

for (const [name, value] of Object.entries(values)) {
  const objects = fields[name];
  if (!objects) throw new Error(`no field named ${name}`);
  let done = false;
  for (const obj of objects) {
    // A radio group's parent has type "" and no widget of its own.
    switch (obj.type) {
      case "text":
        storage.setValue(obj.id, { value: String(value) });
        done = true;
        break;
      case "checkbox":
        storage.setValue(obj.id, { value: Boolean(value) });
        done = true;
        break;
      case "radiobutton":
        storage.setValue(obj.id, { value: obj.exportValues === value });
        done ||= obj.exportValues === value;
        break;
      case "combobox":
      case "listbox":
        storage.setValue(obj.id, { value: String(value) });
        done = true;
        break;
      default:
        break;
    }
  }
  if (!done) throw new Error(`field ${name} did not take the value ${JSON.stringify(value)}`);
}

const saved = await doc.saveDocument();
await writeFile(dst, saved);
await doc.destroy();
