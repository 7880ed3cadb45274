/**
 * Rows for sink tests: every column of a table filled with a value of its type derived from `i`
 * (strings carry characters a store must escape: quotes, backslashes, tabs, newlines, UTF-8).
 */
import { tableDef, type Row, type TableName } from '../../src/store/schema.js';

export function sampleRow(table: TableName, i: number, base = 1_795_000_000): Row {
  const row: Row = {};
  for (const c of tableDef(table).columns) {
    if (c.nullable && i % 3 === 1) {
      row[c.name] = null;
      continue;
    }
    switch (c.type) {
      case 'f64':
        row[c.name] = c.name === 'ts' ? base + i * 0.001 + 0.000001 : i / 7;
        break;
      case 'i64':
        row[c.name] = i * 1_000_003;
        break;
      case 'i32':
        row[c.name] = i % 65536;
        break;
      case 'bool':
        row[c.name] = i % 2 === 0;
        break;
      case 'str':
        row[c.name] = c.name === 'node' ? 'node-a' : c.name === 'uid' || c.name === 'id' ? `C${table}${i}` : `v${i} 'q' \\ \t "é" ✓\n`;
        break;
      case 'f64[]':
        row[c.name] = i % 4 === 0 ? [] : [i + 0.5, i + 1.25];
        break;
      case 'str[]':
        row[c.name] = i % 4 === 0 ? [] : [`a${i}`, "b'\\"];
        break;
    }
  }
  return row;
}
