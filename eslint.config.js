// Lint = the layer map (docs/CONVENTIONS.md), no import cycles, no floating/misused promises, no `any`.
// Typed linting: every file is linted with the program of the tsconfig that builds it (see TS_PROJECTS).
import { readdirSync } from 'node:fs';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layer map, lower layers first. A folder (or file) may import itself, src/errors.ts and the
 * entries listed for it — nothing else under src/. Paths are relative to src/.
 */
const LAYERS = {
  'protocol': [],
  // Prometheus registry and collectors (prom-client only): main.ts hands in the sources.
  'metrics': [],
  'modes': ['protocol'],
  'port': ['protocol'],
  'driver': ['port', 'protocol', 'modes'],
  'sim': ['protocol', 'port', 'modes'],
  'pool': ['modes', 'protocol'],
  'storage': ['modes', 'protocol'],
  'plots': ['pool', 'storage', 'modes'],
  'recording': ['modes', 'plots', 'storage'],
  'nas': ['storage', 'pool'],
  'slots': ['driver', 'port', 'protocol', 'modes', 'pool', 'recording', 'plots', 'storage'],
  'jobs': ['slots', 'recording', 'plots', 'storage', 'nas', 'driver', 'modes', 'pool'],
  'services': ['jobs', 'slots', 'recording', 'plots', 'storage', 'nas', 'driver', 'modes', 'pool', 'port', 'protocol', 'metrics'],
  'http': ['services', 'modes', 'metrics'],
  // The base: imports nothing from src/.
  'errors.ts': [],
};
/** Thread entry points in workers/ (outside src/): the same layer as src/slots. */
const WORKERS_MAY_IMPORT = ['slots', ...LAYERS.slots];
/** Composition root and entry points: may import anything; nothing else may import main.ts or cli/. */
const ENTRY_POINTS = ['main.ts', 'cli', 'config.ts', 'event-loop-monitor.ts'];
/** Ambient declarations only (`.d.ts`, nothing imports them). */
const DECLARATIONS = ['types'];

const describeAllowed = (allowed) => ['itself', 'src/errors.ts', ...allowed.map((a) => `src/${a}`)].join(', ');
const layerZones = [
  ...Object.entries(LAYERS).map(([layer, allowed]) => ({
    target: `./src/${layer}`,
    from: './src',
    except: [...new Set([`./${layer}`, './errors.ts', ...allowed.map((a) => `./${a}`)])],
    message: `layer map: src/${layer} may import only ${describeAllowed(allowed)} (docs/CONVENTIONS.md).`,
  })),
  {
    target: './workers',
    from: './src',
    except: ['./errors.ts', ...WORKERS_MAY_IMPORT.map((a) => `./${a}`)],
    message: `layer map: workers/ may import only src/errors.ts, ${WORKERS_MAY_IMPORT.map((a) => `src/${a}`).join(', ')} (docs/CONVENTIONS.md).`,
  },
  {
    target: ENTRY_POINTS.filter((e) => e !== 'main.ts' && e !== 'cli').map((e) => `./src/${e}`),
    from: ['./src/main.ts', './src/cli'],
    message: 'layer map: only src/main.ts and src/cli/ may import src/main.ts or src/cli/ (docs/CONVENTIONS.md).',
  },
  // Anything new under src/ that the map does not place yet gets only src/errors.ts until it is added to LAYERS.
  ...readdirSync(new URL('./src/', import.meta.url), { withFileTypes: true })
    .map((e) => e.name)
    .filter((name) => !(name in LAYERS) && !ENTRY_POINTS.includes(name) && !DECLARATIONS.includes(name) && !name.endsWith('.d.ts'))
    .map((name) => ({
      target: `./src/${name}`,
      from: './src',
      except: [`./${name}`, './errors.ts'],
      message: `layer map: src/${name} is not in the layer map yet (LAYERS in eslint.config.js, docs/CONVENTIONS.md); until it is, it may import only itself and src/errors.ts.`,
    })),
];

/** Which tsconfig builds which files; typed lint rules use that program. */
const PAGE_FILES = ['src/plots/page-script.ts', 'src/plots/page-spec.ts'];
const TS_PROJECTS = [
  { files: ['src/**/*.ts', 'workers/**/*.ts'], ignores: PAGE_FILES, project: './tsconfig.daemon.json' },
  { files: PAGE_FILES, project: './tsconfig.page.json' },
  // The dashboard's page code (served by src/http/routes/dashboard.ts).
  { files: ['web/src/**/*.ts'], project: './tsconfig.web.json' },
  { files: ['test/**/*.ts', 'bench/**/*.ts'], project: './tsconfig.test.json' },
];

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'runs/', 'tmp/', '**/*.d.ts']),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      // Our relative imports say `./x.js` and mean `./x.ts`.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'], '.mjs': ['.mts', '.mjs'] },
          conditionNames: ['types', 'import', 'node', 'default'],
        }),
      ],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'import-x/no-unresolved': 'error',
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],

      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/test/it return promises the runner itself tracks.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      // src/nas validates names against control characters on purpose and says so with eslint-disable directives.
      'no-control-regex': 'error',
    },
  },
  ...TS_PROJECTS.map(({ files, ignores, project }) => ({
    files,
    ...(ignores ? { ignores } : {}),
    languageOptions: { parserOptions: { project } },
  })),
  {
    // Loaded by the daemon too, though compiled with the DOM lib: keep browser globals out.
    files: ['src/plots/page-spec.ts'],
    rules: {
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'self', 'location', 'atob', 'btoa'],
    },
  },
);
