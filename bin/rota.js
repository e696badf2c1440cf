#!/usr/bin/env node
// The `rota` command; the code is built into dist/ by `npm run build` (npm start and npm test build first).
import '../dist/cli/main.js';
