#!/usr/bin/env node
// Batch form of render.js: the same citeproc-js calls (updateItems, makeBibliography,
// previewCitationCluster), but one engine per style for many independent jobs, so the
// style is parsed once instead of once per item (render.js takes 1.3-3 s per process).
//
// Usage: node render-batch.js <jobs.json> <out.json> [text|html|rtf] [locale] style [style...]
//   jobs.json: [{"job": "name", "items": [CSL-JSON item, ...]}, ...]
//   out.json:  {"name": {"<style>": {"citations": ["..."], "bibliography": ["..."]}}, ...}
// Each job is rendered on its own (updateItems resets the registry), so items of different
// jobs never disambiguate against each other.
'use strict';
const fs = require('fs');
const path = require('path');
const LAB = process.env.LAB || path.resolve(__dirname, '..');
// citeproc-js is installed in the lab (npm ci in LAB/render, from this folder's package-lock.json).
const CSL = require(path.join(LAB, 'render', 'node_modules', 'citeproc'));


const [jobsFile, outFile, format = 'text', lang = 'en-US', ...styles] = process.argv.slice(2);
if (!jobsFile || !outFile || styles.length === 0) {
  console.error('usage: node render-batch.js jobs.json out.json [text|html|rtf] [locale] style [style...]');
  process.exit(2);
}
const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8'));
let byId = {};
const sys = {
  retrieveLocale: (l) => {
    const f = path.join(LAB, 'csl/locales', `locales-${l}.xml`);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : false;
  },
  retrieveItem: (id) => byId[String(id)],
};
const out = {};
for (const styleArg of styles) {
  const stylePath = fs.existsSync(styleArg) ? styleArg : path.join(LAB, 'csl/styles', styleArg + '.csl');
  const engine = new CSL.Engine(sys, fs.readFileSync(stylePath, 'utf8'), lang, true);
  engine.setOutputFormat(format);
  for (const { job, items } of jobs) {
    const res = (out[job] = out[job] || {});
    if (!items || items.length === 0) { res[styleArg] = { citations: [], bibliography: [] }; continue; }
    // ids are made unique per job; citeproc needs string ids
    byId = {};
    items.forEach((it, i) => { const c = { ...it, id: `${job}#${i}` }; byId[c.id] = c; });
    const ids = Object.keys(byId);
    try {
      engine.updateItems(ids);
      const bib = engine.makeBibliography();
      const citations = ids.map(id => engine.previewCitationCluster(
        { citationItems: [{ id }], properties: { noteIndex: 0 } }, [], [], format));
      res[styleArg] = { citations, bibliography: bib ? bib[1].map(e => e.trim()) : [] };
    } catch (e) {
      res[styleArg] = { error: String(e && e.stack || e) };
    }
  }
}
fs.writeFileSync(outFile, JSON.stringify(out, null, 1));
