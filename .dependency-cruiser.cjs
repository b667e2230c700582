/**
 * Import rules checked by `npm test` (npm run check:imports): no cycles, and every arrow points
 * down the layers of the README's Layout section. A layer may import its own layer and the ones
 * below it, never one above.
 */
const LAYERS = [
  ['^src/cli/', '^src/index\\.ts$'],
  ['^src/serve/', '^src/orchestrate/'],
  ['^src/eval/', '^src/alert\\.ts$', '^src/metrics\\.ts$'],
  ['^src/pipeline/', '^src/retrieve/'],
  ['^src/embed/', '^src/objects/', '^src/prompt/'],
  ['^src/store/', '^src/catalog/', '^src/images/'],
  ['^src/(config|config-env|errors|log|retry|names|defaults|make-dir|version)\\.ts$'],
];

const upward = LAYERS.flatMap((layer, i) =>
  i === 0
    ? []
    : [
        {
          name: `layer-${i}-imports-upward`,
          comment: `${layer.join(' ')} may not import a layer above it (${LAYERS.slice(0, i).flat().join(' ')})`,
          severity: 'error',
          from: { path: layer },
          to: { path: LAYERS.slice(0, i).flat() },
        },
      ],
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle, type-only imports included',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-in-a-layer',
      comment: 'every module of src/ belongs to a layer in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.flat() },
      to: {},
    },
    {
      name: 'src-imports-test-code',
      comment: 'the shipped package never imports test, testkit, bench or scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|testkit|bench|scripts)/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle of types is still a cycle in the design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
