// Follows one worker's live configuration (config/<id>) and hands on the settings in force each
// time they change: start-up flags as defaults, the store over them.
import { KeyFollower } from '../../recipes/key-follower.js';
import type { Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import { decodeConfig, inForce, type WorkerSettingsInForce } from './worker-config.js';

/** The settings a worker started with (its flags). */
export interface StartupSettings {
  capacity: number;
  labels: Record<string, string>;
  priority?: number;
}

/** Calls `apply` with the settings in force, first once read, then on every change. */
export class ConfigFollower {
  private readonly follower: KeyFollower;
  private last?: string;

  constructor(store: Store, keys: Keys, id: string, defaults: StartupSettings, log: Logger, apply: (s: WorkerSettingsInForce) => void) {
    this.follower = new KeyFollower(store, keys.config(id));
    this.follower.on('value', (value) => {
      const settings = inForce(defaults, decodeConfig(value));
      const text = JSON.stringify(settings);
      if (text === this.last) return;
      if (this.last !== undefined) log.info('configuration changed', { config: text });
      this.last = text;
      apply(settings);
    });
    this.follower.on('failed', (err) => log.debug('following the configuration failed, reading it again', { error: err.message }));
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  close(): Promise<void> {
    return this.follower.close();
  }
}
