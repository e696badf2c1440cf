// A job's command given as one shell line (`command: echo {spec}`), run by `sh -c` as
// `rota task add --exec` runs one. Matrix values never become shell code: each {axis} turns into a
// reference to the task's ROTA_MATRIX_<AXIS> variable, quoted for where it stands (outside quotes,
// inside "…", inside '…'), so the shell reads the value as data whatever it holds.

/** `line` as the script of `sh -c`, {name} of `names` made variable references; a leading `sh -c '…'` is unwrapped. */
export function shellTemplate(line: string, names: ReadonlySet<string>): string {
  const script = unwrapShell(line.trim());
  let out = '';
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    const field = c === '{' ? /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(script.slice(i)) : null;
    if (field && names.has(field[1])) {
      const v = `ROTA_MATRIX_${field[1].toUpperCase()}`;
      out += quote === '' ? `"$${v}"` : quote === '"' ? `\${${v}}` : `'"$${v}"'`;
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
