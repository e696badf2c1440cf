// rota as a library: `import { … } from 'rota'`.
export * from './store/index.js';
