// Lets a child `node` run the TypeScript sources directly (node -r this-file src/….ts), compiled with
// the same swc jest uses; the lifecycle tests start the harness CLI this way, without a prior build.
const { transformFileSync } = require('@swc/core');
const { swcOptions } = require('../../../../swc.options');

const options = swcOptions();
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformFileSync(filename, options);
  module._compile(code, filename);
};
