/** The chaos suite, short form, part "stealing" (test/tools/chaos/short-suite.ts says how the suite is cut). */
import { describeChaosPart } from './short-suite.js';

describeChaosPart('stealing');
