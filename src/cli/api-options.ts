// The options of every command that talks to a node's API.
import type { Command } from 'commander';
import { HttpClient } from '../client/http-client.js';
import { withIdPrefixes } from './id-prefix.js';

export interface ApiOptions {
  api?: string;
  token?: string;
  json?: boolean;
}

/** The API client the options name (ids may be given by a unique start). */
export const clientFor = (opts: ApiOptions) => withIdPrefixes(new HttpClient(apiUrl(opts.api ?? process.env.ROTA_API ?? 'http://127.0.0.1:3000'), opts.token ?? process.env.ROTA_TOKEN));

/** An API address as people write it: `localhost:3000` and `:3000` are taken as http:// URLs; anything else must be one. */
export function apiUrl(text: string): string {
  const t = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t.startsWith(':') ? `127.0.0.1${t}` : t}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`--api "${text}" is not an address: write e.g. http://127.0.0.1:3000 or localhost:3000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--api "${text}": rota's API speaks http:// or https://, not ${url.protocol}`);
  return url.toString().replace(/\/$/, '');
}

/** Adds --api and --token to a command. */
export const withApi = (cmd: Command) =>
  cmd.option('--api <url>', 'the API of any node (default: $ROTA_API or http://127.0.0.1:3000)').option('--token <token>', 'API token (default: $ROTA_TOKEN)');

/** Prints `data` as JSON with --json, else the text `text` makes. */
export const print = (opts: ApiOptions, data: unknown, text: () => string): void => console.log(opts.json ? JSON.stringify(data, null, 2) : text());
