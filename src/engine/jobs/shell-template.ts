// A job's command given as one shell line (`command: echo {spec}`), run by `sh -c` as
// `rota task add --exec` runs one. Matrix values never become shell code: each {axis} turns into
// "$ROTA_MATRIX_<AXIS>", a quoted reference the shell reads as one argument whatever the value
// holds. An {axis} inside quotes is refused: the quoted text may be handed to another shell
// (`timeout 5 sh -c "echo {x}"`), which would read the value as code.

/** A shell line whose {axis} stands where its value could become code. */
export class ShellTemplateError extends Error {}

/** `line` as the script of `sh -c`, {name} of `names` made variable references; a leading `sh -c '…'` is unwrapped. */
export function shellTemplate(line: string, names: ReadonlySet<string>): string {
  const script = unwrapShell(line.trim());
  let out = '';
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    // A comment runs to the end of its line: quotes in it ("don't") quote nothing.
    if (c === '#' && quote === '' && (i === 0 || /\s/.test(script[i - 1]))) {
      const end = script.indexOf('\n', i);
      out += script.slice(i, end < 0 ? undefined : end);
      i = end < 0 ? script.length : end - 1;
      continue;
    }
    const field = c === '{' ? /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(script.slice(i)) : null;
    if (field && names.has(field[1])) {
      if (quote !== '') throw new ShellTemplateError(`{${field[1]}} is inside quotes: put it outside them (echo got {${field[1]}}, not echo "got {${field[1]}}"); it reaches the command as one argument as it is`);
      out += `"$ROTA_MATRIX_${field[1].toUpperCase()}"`;
      i += field[0].length - 1;
      continue;
    }
    out += c;
    if (quote !== "'" && c === '\\' && i + 1 < script.length) out += script[++i];
    else if (quote === '' && (c === "'" || c === '"')) quote = c;
    else if (quote === c) quote = '';
  }
  return out;
}

/** `sh -c 'script'` (or bash, or "script") → script: the line is run by sh -c already. */
function unwrapShell(line: string): string {
  const m = /^(?:\/bin\/)?(?:sh|bash)\s+-c\s+(['"])([\s\S]*)\1$/.exec(line);
  if (!m) return line;
  const [, q, inner] = m;
  if (q === "'") return inner.includes("'") ? line : inner;
  // Inside "…" only \" \\ \$ \` are escapes; an unescaped " would end it early: then keep the line.
  if (/(^|[^\\])(\\\\)*"/.test(inner)) return line;
  return inner.replace(/\\(["\\$`])/g, '$1');
}
