/**
 * Reads environment variables into typed values, recording every problem instead of throwing, so one
 * ConfigError can list all of them and an operator fixes a bad deployment in one go.
 */
import { readFileSync } from 'node:fs';

export type Env = Readonly<Record<string, string | undefined>>;

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** "1h", "30s", "500ms", "2d", or a bare number of seconds, in milliseconds; undefined when it is none of those. */
export function parseDurationMs(raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
  const value = match ? Math.round(Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 1000)) : Number.NaN;
  return Number.isFinite(value) ? value : undefined;
}

/** An RFC 9110 token: header names and cookie names (RFC 6265 §4.1.1). */
export const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** Records one problem; a message starts with the variable it names. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** A plain variable; empty counts as unset. */
  string(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  /** A secret: NAME or NAME_FILE (Docker/Kubernetes secrets), never both. Trailing newlines are dropped. */
  secret(name: string): string | undefined {
    const direct = this.string(name);
    const file = this.string(`${name}_FILE`);
    if (direct !== undefined && file !== undefined) {
      this.problem(`${name} and ${name}_FILE are both set: choose one`);
      return undefined;
    }
    return file === undefined ? direct : this.file(`${name}_FILE`, file)?.replace(/\r?\n$/, '');
  }

  /** The contents of the file a variable names. */
  file(name: string, path: string | undefined = this.string(name)): string | undefined {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      this.problem(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problem(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    this.problem(`${name}: expected true or false, got "${raw}"`);
    return fallback;
  }

  /** "1h", "30s", "500ms", "2d", or a bare number of seconds; in milliseconds. */
  durationMs(name: string, fallback: string, min = 0): number {
    const raw = this.string(name) ?? fallback;
    const value = parseDurationMs(raw);
    if (value === undefined || value < min) {
      this.problem(`${name}: expected a duration such as 30s, 5m or 1h${min > 0 ? ` of at least ${min} ms` : ''}, got "${raw}"`);
      return 0;
    }
    return value;
  }

  /**
   * A duration for a consumer that counts whole seconds (a JWT NumericDate, X-Accel-Expires, a rate
   * limiter window), in milliseconds rounded down to a whole second so no consumer has to round.
   */
  wholeSecondsMs(name: string, fallback: string, min = 0): number {
    return Math.floor(this.durationMs(name, fallback, min) / 1000) * 1000;
  }

  /** "16kb", "1mb", or a bare number of bytes. */
  bytes(name: string, fallback: string): number {
    const raw = this.string(name) ?? fallback;
    const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(raw.trim());
    const value = match ? Number(match[1]) * (SIZE_UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1) : Number.NaN;
    if (!Number.isSafeInteger(value) || value <= 0) {
      this.problem(`${name}: expected a size such as 16kb or 1mb, got "${raw}"`);
      return 1;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const found = allowed.find((candidate) => candidate.toLowerCase() === raw.toLowerCase());
    if (found === undefined) {
      this.problem(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return found;
  }

  list(name: string, fallback: string): string[] {
    return (this.string(name) ?? fallback)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
}
