/**
 * The Python worker package's own rules (test/python/package_test.py), without the local stack: the boto3
 * check made on import (boto3 and botocore >= 1.34.90, the first that speak SQS's JSON protocol; the error
 * names the installed and the required versions), the request_id rule, identities, smoke copies, the
 * pyproject's minimum, the stealing choice rule over the shared cases (test/python/conformance/steal-choices.json),
 * the stealing settings, presence's rules and requests, and Worker.run deleting a stolen copy with its
 * region's client. Needs python3 with boto3: without them this test fails and says so (never skipped).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the Python worker package', () => {
  it('checks boto3 on import, refuses request ids the intake refuses, reads identities and smoke copies; choose_steal, stealing settings, presence', () => {
    const probe = spawnSync('python3', ['-c', 'import boto3'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(`python3 with boto3 >= 1.34.90 is needed to test the Python worker package (pip install 'boto3>=1.34.90'): ${probe.error?.message ?? probe.stderr}`);
    }
    const result = spawnSync('python3', ['test/python/package_test.py'], { encoding: 'utf8', timeout: 60_000 });
    const output = `${result.stdout}${result.stderr}`;
    expect(output).toMatch(/Ran 27 tests/);
    expect(result.status, output).toBe(0);
  });
});
