#!/usr/bin/env node
// Entry point: the compiled CLI (built by `npm install` through the `prepare` script).
import '../dist/cli/entry.js';
