// A minimal terminal: replays what a program wrote to a pseudo-terminal and
// returns the screen a person would see at the end (lines, right-trimmed).
// It implements what progress bars use: CR, LF, BS, save/restore cursor
// (ESC 7 / ESC 8, CSI s / u), erase in line (CSI K), erase below (CSI J),
// cursor moves (CSI A/B/C/D/G/H) and private modes (ignored but for
// auto-wrap, CSI ?7 h/l). SGR colours are dropped. No scrolling region: the
// screen grows downward, which is what a long enough terminal shows.

export function renderScreen(raw: string, width = 200): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  let wrap = true;
  const line = (r: number): string[] => {
    while (lines.length <= r) lines.push([]);
    return lines[r];
  };
  const chars = Array.from(raw);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '\x1b') {
      const next = chars[i + 1];
      if (next === '7' || next === '8') {
        if (next === '7') saved = { row, col };
        else ({ row, col } = saved);
        i += 1;
        continue;
      }
      if (next !== '[') throw new Error(`renderScreen: unsupported escape ESC ${JSON.stringify(next)}`);
      let j = i + 2;
      let params = '';
      while (j < chars.length && /[0-9;?]/.test(chars[j])) params += chars[j++];
      const final = chars[j];
      i = j;
      const priv = params.startsWith('?');
      const nums = (priv ? params.slice(1) : params).split(';').map((x) => (x === '' ? NaN : Number(x)));
      const n = Number.isFinite(nums[0]) ? nums[0] : undefined;
      const cur = line(row);
      switch (final) {
        case 'K':
          if ((n ?? 0) === 0) cur.length = Math.min(cur.length, col);
          else if (n === 1) for (let k = 0; k <= col && k < cur.length; k++) cur[k] = ' ';
          else cur.length = 0;
          break;
        case 'J':
          if ((n ?? 0) !== 0) throw new Error(`renderScreen: unsupported CSI ${params}J`);
          cur.length = Math.min(cur.length, col);
          lines.length = row + 1;
          break;
        case 'A':
          row = Math.max(0, row - (n ?? 1));
          break;
        case 'B':
          row += n ?? 1;
          break;
        case 'C':
          col = Math.min(width - 1, col + (n ?? 1));
          break;
        case 'D':
          col = Math.max(0, col - (n ?? 1));
          break;
        case 'G':
          col = Math.max(0, (n ?? 1) - 1);
          break;
        case 'H':
          row = Math.max(0, (n ?? 1) - 1);
          col = Math.max(0, (Number.isFinite(nums[1]) ? nums[1] : 1) - 1);
          break;
        case 's':
          saved = { row, col };
          break;
        case 'u':
          ({ row, col } = saved);
          break;
        case 'h':
        case 'l':
          if (priv && n === 7) wrap = final === 'h';
          break;
        case 'm':
          break;
        default:
          throw new Error(`renderScreen: unsupported CSI ${params}${final}`);
      }
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') row += 1;
    else if (ch === '\b') col = Math.max(0, col - 1);
    else {
      if (col >= width) {
        if (wrap) {
          row += 1;
          col = 0;
        } else col = width - 1;
      }
      const cur = line(row);
      while (cur.length < col) cur.push(' ');
      cur[col] = ch;
      col += 1;
    }
  }
  line(row);
  const out = lines.map((l) => l.join('').replace(/\s+$/, ''));
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}
