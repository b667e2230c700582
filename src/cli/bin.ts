#!/usr/bin/env node
/** The `itemvec` executable: one command line, run in this process, its exit code the process's. */
import { main } from './main.js';

process.exitCode = await main();
