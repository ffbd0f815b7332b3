import { PlotDataError } from './errors.js';

/**
 * Streaming extraction of numeric columns from a measurement CSV (modes.md 3: comma separated,
 * nothing quoted, CRLF or LF line ends, Python float text such as `0.0`, `1e-05`, `-0.0`, `nan`).
 *
 * Pure code over `Uint8Array` chunks: no fs, no text decoding of data rows. The caller pushes
 * chunks of any size (a line may span chunks) and gets column blocks back. Only the wanted
 * columns are parsed; the rest of a line after the last wanted column is skipped with a native
 * `indexOf`, so the cost is dominated by the wanted fields.
 */

export interface CsvColumnSpec {
  /** Exact header text, e.g. `Current (A)`. */
  name: string;
  /** Missing required columns throw `PlotDataError`; missing optional ones come back as `null`. */
  required: boolean;
}

export interface CsvColumnBlock {
  /** One array per requested column, in request order; `null` for a missing optional column.
   *  Arrays are reused for the next block: copy what you keep. Only `[0, rows)` is valid. */
  columns: (Float64Array | null)[];
  rows: number;
  /** Index of the block's first data row in the file (0-based, header excluded). */
  firstRow: number;
}

export interface CsvParseSummary {
  header: string[];
  rows: number;
  /** Which requested columns were present. */
  present: boolean[];
}

export interface CsvColumnParser {
  push(chunk: Uint8Array): void;
  /** Flushes the last (possibly unterminated) line and the last block. */
  end(): CsvParseSummary;
}

export interface CsvColumnParserOptions {
  columns: readonly CsvColumnSpec[];
  onBlock: (block: CsvColumnBlock) => void;
  /** Rows per block (default 65 536). */
  blockRows?: number;
}

const NL = 10;
const CR = 13;
const COMMA = 44;

/** Exact powers of ten representable as doubles (10^0 … 10^22). */
const POW10: Float64Array = (() => {
  const p = new Float64Array(23);
  let v = 1;
  for (let i = 0; i < 23; i++) {
    p[i] = v;
    v *= 10;
  }
  return p;
})();

const latin1 = new TextDecoder('latin1');

function parseFloatSlow(buf: Uint8Array, start: number, end: number): number {
  const text = latin1.decode(buf.subarray(start, end)).trim().toLowerCase();
  if (text === 'nan' || text === '-nan') return NaN;
  if (text === 'inf' || text === 'infinity') return Infinity;
  if (text === '-inf' || text === '-infinity') return -Infinity;
  if (text === '') return NaN;
  const v = Number(text);
  return Number.isNaN(v) ? NaN : v;
}

/** Where the last `scanFloat` stopped (module state avoids allocating a result object per field). */
let scanEnd = 0;

/**
 * Reads a decimal float (`-12.5`, `0.0018000000000000002`, `9.999999974752427e-07`) starting at
 * `start` and stops at the first byte that cannot continue it (or at `limit`); the stop position
 * is left in `scanEnd`. Returns NaN (with `scanEnd === start`) when there is no digit.
 * Up to 17 significant digits are accumulated exactly in a double, so the result is within
 * one or two ulp of `Number(text)`, far below anything a plot can show.
 */
function scanFloat(buf: Uint8Array, start: number, limit: number): number {
  let i = start;
  let neg = false;
  let c = i < limit ? buf[i]! : 0;
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) {
    i++;
  }
  let mant = 0;
  let sig = 0;
  let exp10 = 0;
  let digits = 0;
  while (i < limit) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) break;
    if (sig < 17) {
      mant = mant * 10 + d;
      if (mant !== 0) sig++;
    } else {
      exp10++;
    }
    digits++;
    i++;
  }
  if (i < limit && buf[i] === 46) {
    i++;
    while (i < limit) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) break;
      if (sig < 17) {
        mant = mant * 10 + d;
        if (mant !== 0) sig++;
        exp10--;
      }
      digits++;
      i++;
    }
  }
  if (digits === 0) {
    scanEnd = start;
    return NaN;
  }
  if (i < limit && (buf[i] === 101 || buf[i] === 69)) {
    let k = i + 1;
    let eneg = false;
    if (buf[k] === 45) {
      eneg = true;
      k++;
    } else if (buf[k] === 43) {
      k++;
    }
    let ev = 0;
    let edigits = 0;
    while (k < limit) {
      const d = buf[k]! - 48;
      if (d < 0 || d > 9) break;
      ev = ev * 10 + d;
      edigits++;
      k++;
    }
    if (edigits > 0) {
      i = k;
      exp10 += eneg ? -ev : ev;
    }
  }
  scanEnd = i;
  let v: number;
  if (mant === 0) v = 0;
  else if (exp10 === 0) v = mant;
  else if (exp10 < 0) v = exp10 >= -22 ? mant / POW10[-exp10]! : exp10 >= -300 ? mant / 1e22 / 10 ** (-exp10 - 22) : Number(latin1.decode(buf.subarray(start, i)));
  else v = exp10 <= 22 ? mant * POW10[exp10]! : mant * 10 ** exp10;
  return neg ? -v : v;
}

/**
 * Parses a decimal float in `buf[start, end)` (Python repr or plain decimal notation, plus
 * `nan`, `inf`, `-inf`); NaN for anything else.
 */
export function parseAsciiFloat(buf: Uint8Array, start: number, end: number): number {
  const v = scanFloat(buf, start, end);
  return scanEnd === end && end > start ? v : parseFloatSlow(buf, start, end);
}

/** Creates a push parser that extracts the requested columns into Float64Array blocks. */
export function createCsvColumnParser(options: CsvColumnParserOptions): CsvColumnParser {
  const blockRows = options.blockRows ?? 65_536;
  if (!Number.isInteger(blockRows) || blockRows < 1) throw new RangeError('blockRows must be a positive integer');
  const specs = options.columns;
  const onBlock = options.onBlock;

  let header: string[] | null = null;
  let present: boolean[] = specs.map(() => false);
  /** field index → output column index, or -1. */
  let fieldMap = new Int32Array(0);
  let lastWantedField = -1;
  let columns: (Float64Array | null)[] = [];
  let rowInBlock = 0;
  let blockFirstRow = 0;
  let totalRows = 0;
  let carry: Uint8Array | null = null;
  let headerBytes: Uint8Array | null = null;

  function flushBlock(): void {
    if (rowInBlock === 0) return;
    onBlock({ columns, rows: rowInBlock, firstRow: blockFirstRow });
    blockFirstRow += rowInBlock;
    rowInBlock = 0;
  }

  function acceptHeader(line: Uint8Array): void {
    let text = latin1.decode(line);
    if (text.charCodeAt(0) === 0xfeff || text.startsWith('\u00ef\u00bb\u00bf')) text = text.replace(/^(\ufeff|\u00ef\u00bb\u00bf)/, '');
    const names = text.replace(/\r?\n?$/, '').split(',').map((s) => s.trim());
    header = names;
    fieldMap = new Int32Array(names.length).fill(-1);
    present = specs.map((spec, k) => {
      const f = names.indexOf(spec.name);
      if (f >= 0) {
        fieldMap[f] = k;
        if (f > lastWantedField) lastWantedField = f;
        return true;
      }
      return false;
    });
    const missing = specs.filter((s, k) => s.required && !present[k]).map((s) => s.name);
    if (missing.length > 0) {
      throw new PlotDataError(`CSV lacks column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`, {
        missing,
        header: names,
      });
    }
    columns = specs.map((_, k) => (present[k] ? new Float64Array(blockRows) : null));
  }

  /** Parses complete lines in buf[start, end); `end` is just past a '\n' or the end of data. */
  function parseLines(buf: Uint8Array, start: number, end: number): void {
    let i = start;
    const map = fieldMap;
    const nFields = map.length;
    const lastWanted = lastWantedField;
    while (i < end) {
      // Blank line (or a lone CR): skip.
      const c0 = buf[i];
      if (c0 === NL) {
        i++;
        continue;
      }
      if (c0 === CR && (i + 1 >= end || buf[i + 1] === NL)) {
        i += 2;
        continue;
      }
      if (rowInBlock === blockRows) flushBlock();
      const row = rowInBlock;
      let field = 0;
      let fs = i;
      let lineDone = false;
      while (!lineDone) {
        let j: number;
        let c: number;
        const k = field < nFields ? map[field]! : -1;
        if (k >= 0) {
          // Wanted: parse while scanning; the number must end at a delimiter.
          let v = scanFloat(buf, fs, end);
          j = scanEnd;
          c = j < end ? buf[j]! : NL;
          if (!(c === COMMA || c === NL || c === CR) || j === fs) {
            while (j < end) {
              c = buf[j]!;
              if (c === COMMA || c === NL || c === CR) break;
              j++;
            }
            if (j >= end) c = NL;
            v = parseFloatSlow(buf, fs, j);
          }
          columns[k]![row] = v;
        } else {
          // Not wanted: skip to the delimiter.
          j = fs;
          c = NL;
          while (j < end) {
            const b = buf[j]!;
            if (b === COMMA || b === NL || b === CR) {
              c = b;
              break;
            }
            j++;
          }
        }
        if (c === COMMA) {
          field++;
          fs = j + 1;
          if (field > lastWanted) {
            // Nothing else wanted on this line: jump to its end.
            const nl = buf.indexOf(NL, fs);
            i = nl < 0 || nl >= end ? end : nl + 1;
            lineDone = true;
          }
        } else {
          // CR or NL (or end of data).
          const nl = c === NL ? j : buf.indexOf(NL, j);
          i = nl < 0 || nl >= end ? end : nl + 1;
          lineDone = true;
        }
      }
      // Fields missing from a short line are NaN.
      for (let f = field + 1; f <= lastWanted && f < nFields; f++) {
        const k = map[f]!;
        if (k >= 0) columns[k]![row] = NaN;
      }
      rowInBlock++;
      totalRows++;
    }
  }

  function pushBody(chunk: Uint8Array): void {
    let start = 0;
    if (carry !== null) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        carry = concatBytes(carry, chunk);
        return;
      }
      const line = concatBytes(carry, chunk.subarray(0, nl + 1));
      carry = null;
      parseLines(line, 0, line.length);
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last < start) {
      if (start < chunk.length) carry = chunk.slice(start);
      return;
    }
    parseLines(chunk, start, last + 1);
    if (last + 1 < chunk.length) carry = chunk.slice(last + 1);
  }

  return {
    push(chunk: Uint8Array): void {
      if (chunk.length === 0) return;
      if (header === null) {
        const nl = chunk.indexOf(NL);
        if (nl < 0) {
          headerBytes = headerBytes === null ? chunk.slice() : concatBytes(headerBytes, chunk);
          return;
        }
        const line = headerBytes === null ? chunk.subarray(0, nl + 1) : concatBytes(headerBytes, chunk.subarray(0, nl + 1));
        headerBytes = null;
        acceptHeader(line);
        if (nl + 1 < chunk.length) pushBody(chunk.subarray(nl + 1));
        return;
      }
      pushBody(chunk);
    },
    end(): CsvParseSummary {
      if (header === null && headerBytes !== null) {
        acceptHeader(headerBytes);
        headerBytes = null;
      }
      if (carry !== null) {
        const tail = carry;
        carry = null;
        parseLines(tail, 0, tail.length);
      }
      flushBlock();
      return { header: header ?? [], rows: totalRows, present };
    },
  };
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
