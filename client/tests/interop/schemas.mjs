// Validators from the public test data in ../shared/vendor (read in place, never copied):
// the IIIF Presentation 3 JSON Schema (draft-07), and the W3C Web Annotation data-model
// MUST assertions (draft-04 schemas) for annotations, collections and pages.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv from 'ajv';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));

/** `shared/vendor` beside the checkout or beside one of its parent folders, or the same
 *  around the checkout it was cloned from (CI runs in a clone of main);
 *  HUGEPIC_VENDOR_DIR names it when it is elsewhere. */
function vendorDir() {
  const root = path.resolve(here, '../../..');
  const bases = [root];
  try {
    const origin = execFileSync('git', ['-C', root, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    if (origin && fs.existsSync(path.resolve(root, origin))) bases.push(path.resolve(root, origin));
  } catch {
    // not a clone
  }
  const candidates = [process.env.HUGEPIC_VENDOR_DIR];
  for (const base of bases) {
    for (let dir = path.dirname(base); ; dir = path.dirname(dir)) {
      candidates.push(path.join(dir, 'shared', 'vendor'));
      if (path.dirname(dir) === dir) break;
    }
  }
  const found = candidates.find((dir) => dir && fs.existsSync(path.join(dir, 'web-annotation-tests')));
  if (!found) throw new Error(`the vendored schemas are not found (looked in ${candidates.filter(Boolean).join(', ')}); set HUGEPIC_VENDOR_DIR`);
  return found;
}
const vendor = vendorDir();
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** Validates against the IIIF Presentation 3 schema; returns the errors (none: []). */
export function iiifValidator() {
  const schema = readJson(path.join(vendor, 'iiif-presentation-validator/schema/iiif_3_0.json'));
  // As the IIIF validator runs it: draft-07, formats not asserted.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  return (value) => (validate(value) ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
}

/** The W3C MUST assertions: `check(kind, value)` with kind `annotation`, `collection` or
 *  `page` returns the titles of the assertions `value` fails. */
export function w3cValidator() {
  const root = path.join(vendor, 'web-annotation-tests');
  const ajv = new Ajv04({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const file of fs.readdirSync(path.join(root, 'definitions'))) {
    ajv.addSchema(readJson(path.join(root, 'definitions', file)));
  }
  const suite = (list) => {
    const test = readJson(path.join(root, list));
    return test.assertions.map((file) => {
      const schema = readJson(path.join(root, file));
      return { title: schema.title ?? file, file, expected: schema.expectedResult ?? 'valid', validate: ajv.compile(schema) };
    });
  };
  const suites = {
    annotation: suite('annotations/annotationMusts.test'),
    collection: suite('collections/collectionMusts.test'),
    page: suite('collections/pages/pageMusts.test'),
  };
  return (kind, value) =>
    suites[kind]
      .filter((a) => a.validate(value) !== (a.expected === 'valid'))
      .map((a) => `${a.file}: ${a.title}`);
}
