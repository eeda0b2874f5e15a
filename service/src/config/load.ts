import path from 'node:path';
import { isMap, isScalar } from 'yaml';
import { ConfigSchema, type BackworksConfig } from './schema.js';
import { checkPlugins } from './plugin-checks.js';
import { checkReferences } from './semantics.js';
import { formatIssue, YamlSource, type ConfigIssue, type ConfigPath } from '../../../sdk/typescript/yaml.js';
import { readConfigSource } from './source.js';
import { interpolate } from './interpolate.js';
import { validateAgainst } from './validate.js';
import { redact } from './redact.js';

/** What the deep checks found for the plugins, as the manager needs it to start them. */
export interface PluginFindings {
  /** External plugins without `path`: the library found in plugin_discovery.directories. */
  libraries?: ReadonlyMap<string, string>;
  /** Plugins the deep checks refused (with `pluginsFailAlone`), with the issues as one reason. */
  problems?: ReadonlyMap<string, string>;
}

export interface LoadedConfig {
  file: string;
  /** Folder of the file: every relative path in it is relative to this. */
  dir: string;
  config: BackworksConfig;
  /** Paths whose values came from `${VAR}`: redacted wherever config is shown. */
  fromEnv: ConfigPath[];
  /** The config safe to print or log. */
  redacted(): unknown;
  plugins: PluginFindings;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Also check files on disk and each plugin's own config (what `check` and `run` do). */
  deep?: boolean;
  /** Check this text as if it were the file's (the console's editor): nothing is read or written. */
  text?: string;
  /**
   * `run` and reload: a plugin the deep checks refuse (its library, its own config) does not
   * refuse the file; it starts as `failed` with those issues as its reason, and the rest runs.
   */
  pluginsFailAlone?: boolean;
}

/** Reads, interpolates and validates backworks.yaml; throws a ConfigError listing every mistake. */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  const { source, issues: syntax } = options.text === undefined ? readConfigSource(absolute) : YamlSource.parse(absolute, options.text);
  if (!source) throw new ConfigError(syntax);

  if (isEmpty(source)) {
    throw new ConfigError([source.issueAt(0, 'the file is empty (or only comments): a gateway needs at least its plugins and endpoints; start from examples/quickstart/backworks.yaml')]);
  }

  const { fromEnv, issues: missing } = interpolate(source, options.env ?? process.env);
  const { value, issue: aliasBomb } = source.toJS();
  if (aliasBomb) throw new ConfigError([aliasBomb]);
  const config = value as BackworksConfig;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError([source.issue([], 'backworks.yaml must be a map of sections (server, plugins, endpoints, ...)')]);
  }

  // One pass: the schema, the references between sections and each plugin's own checks all run,
  // each on the parts it can read, so the technician sees every mistake at once.
  const deep = options.deep !== false ? await checkPlugins(config, source, path.dirname(absolute)) : undefined;
  const problems = new Map<string, string>();
  if (deep && options.pluginsFailAlone) {
    for (const [name, found] of deep.byPlugin) problems.set(name, found.map(formatIssue).join('; '));
  }
  const issues = [
    ...missing,
    ...validateAgainst(ConfigSchema, config, source),
    ...checkReferences(config, source),
    ...(deep ? deep.issues : []),
    ...(deep && !options.pluginsFailAlone ? [...deep.byPlugin.values()].flat() : []),
  ];
  // A value left as "${VAR}" is reported as unset, not again as the wrong type.
  const at = (i: ConfigIssue) => `${i.line}:${i.column}`;
  const unset = new Set(missing.map(at));
  const reported = issues.filter((i) => missing.includes(i) || !unset.has(at(i)));
  if (reported.length) throw new ConfigError(sortIssues(reported));

  return {
    file: absolute, dir: path.dirname(absolute), config, fromEnv, redacted: () => redact(config, fromEnv),
    plugins: { libraries: deep?.discovered ?? new Map(), problems },
  };
}

/** In file order, each mistake once (two checks may find the same one). */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => { const key = formatIssue(i); return !seen.has(key) && !!seen.add(key); })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Nothing but comments and blank lines (a `---` or `{}` alone included). */
function isEmpty(source: YamlSource): boolean {
  const contents = source.doc.contents;
  return contents === null || (isScalar(contents) && (contents.value === null || contents.value === '')) || (isMap(contents) && contents.items.length === 0);
}
