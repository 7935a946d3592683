/** One structured logger per function (Powertools), its level from LOG_LEVEL. */
import { Logger } from '@aws-lambda-powertools/logger';

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
const loggers: Logger[] = [];

const levelFromEnv = (): Level => {
  const level = (process.env.LOG_LEVEL ?? 'INFO').toUpperCase();
  return (level === 'WARNING' ? 'WARN' : level) as Level;
};

export function logger(serviceName: string): Logger {
  const created = new Logger({ serviceName, logLevel: levelFromEnv() });
  loggers.push(created);
  return created;
}

/** The local stack sets LOG_LEVEL after the functions were imported: apply it to their loggers. */
export function applyLogLevel(): void {
  for (const each of loggers) each.setLogLevel(levelFromEnv());
}
