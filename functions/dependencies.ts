/**
 * What each handler is built from (createIntakeHandler and the others): its typed config, its AWS
 * clients, and optionally its logger and where its metrics go. Lambda's entry points build theirs from
 * the environment, once per container; the local stack builds its own from each stack's resources, so
 * that several stacks run in one process without sharing configuration, clients or caches.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { bind, clientsFor, type AwsClients } from '../aws/clients.js';
import { config as configFromEnvironment, type DispatchConfig } from '../core/config.js';
import { logger } from './logger.js';
import { metricsFromEnvironment, type MetricsDestination } from './metrics.js';

export interface HandlerDependencies {
  readonly config: DispatchConfig;
  /** The aws/ helpers that take only the config use these clients too (aws/clients.ts bind). */
  readonly clients: AwsClients;
  /** Default: a logger of the function's service at the config's level. */
  readonly logger?: Logger;
  /** Default: printed, in the local namespace (as with no environment at all). */
  readonly metrics?: MetricsDestination;
}

/** The dependencies with every default filled in. */
export interface Resolved {
  readonly config: DispatchConfig;
  readonly clients: AwsClients;
  readonly log: Logger;
  readonly metrics: MetricsDestination;
}

export function resolve(service: string, deps: HandlerDependencies): Resolved {
  bind(deps.config, deps.clients);
  return {
    config: deps.config,
    clients: deps.clients,
    log: deps.logger ?? logger(service, deps.config.logLevel),
    metrics: deps.metrics ?? metricsFromEnvironment({}),
  };
}

/** A deployed function's dependencies: its environment, read and validated once (core/config.ts). */
export function dependenciesFromEnvironment(): HandlerDependencies {
  const config = configFromEnvironment();
  return { config, clients: clientsFor(config), metrics: metricsFromEnvironment(process.env) };
}

/**
 * Lambda's entry point: the handler is built at the first invocation, so importing a function's module
 * reads no environment (the local stack and the tests import the factories from the same modules), and
 * a bad configuration fails the invocation with a message naming the variable, as it always has.
 */
export function builtOnFirstCall<H extends (event: never, context: never) => Promise<unknown>>(build: () => H): H {
  let built: H | undefined;
  const call = async (event: Parameters<H>[0], context: Parameters<H>[1]) => {
    built ??= build();
    return built(event, context);
  };
  return call as unknown as H;
}
