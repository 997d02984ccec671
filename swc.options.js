// The one set of swc options: .swcrc, read by jest (jest.config.js), by the child-process builds of the
// tests (test/integration/attach/support/build.ts, kube-harness/support/ts-require.js, the migrator
// test) and by swc's own CLI. Change compilation here, nowhere else.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** .swcrc's options, with `sourceMaps` as the caller needs them (jest and children: inline). */
function swcOptions(sourceMaps = 'inline') {
  const options = JSON.parse(readFileSync(join(__dirname, '.swcrc'), 'utf8'));
  delete options.$schema;
  return { ...options, sourceMaps };
}

module.exports = { swcOptions };
