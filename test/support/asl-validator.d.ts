// asl-validator ships no type declarations; this is the part the tests use.
declare module 'asl-validator' {
  interface Result {
    isValid: boolean;
    errors: unknown[];
    errorsText(separator?: string): string;
  }
  export default function aslValidator(definition: object, options?: Record<string, unknown>): Result;
}
