import { parquetWriteFile } from 'hyparquet-writer';
import { readParquet } from './src/catalog/parquet.js';
const n = 15_000;
parquetWriteFile({ filename: '/tmp/noidx.parquet', rowGroupSize: n, columnData: [
  { name: 'item_id', data: Array.from({ length: n }, (_, i) => i + 1), offsetIndex: false },
  { name: 'description', data: Array.from({ length: n }, (_, i) => `d${i}`), offsetIndex: false },
  { name: 'brand', data: Array.from({ length: n }, () => 'b'), offsetIndex: false },
  { name: 'category', data: Array.from({ length: n }, () => 'c'), offsetIndex: false },
  { name: 'image_url', data: Array.from({ length: n }, () => 'u'), offsetIndex: false },
]});
const r = readParquet('/tmp/noidx.parquet', { orgId: 'o', namespace: 'n' });
let i = 0, bad = 0; const t = Date.now();
for await (const x of r.rows) { i++; if (!x.ok || x.item.itemId !== String(i)) bad++; }
console.log(i, bad, Date.now() - t, 'ms');
