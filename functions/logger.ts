/** One structured logger per function (Powertools), its level from LOG_LEVEL. */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = (serviceName: string) =>
  new Logger({ serviceName, logLevel: (process.env.LOG_LEVEL ?? 'INFO').toUpperCase() as 'INFO' });
