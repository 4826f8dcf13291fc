/** One jest config for the whole monorepo: unit specs and integration specs (real PG/Redis). */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/plugins', '<rootDir>/apps', '<rootDir>/e2e'],
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: {
    '^@pith/plugin-api$': '<rootDir>/packages/plugin-api/src',
    '^@pith/platform$': '<rootDir>/packages/platform/src',
    '^@pith/test-utils$': '<rootDir>/packages/test-utils/src',
    '^@pith/plugin-(file|rpm|container)$': '<rootDir>/plugins/$1/src',
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
