// tap-reference prints npm tap-parser's final counts for TAP files: the
// reference that pony-report's own TAP parser (reporters/tap) is checked
// against.
//
//	npm ci
//	node tap-reference.mjs FILE...              # one JSON object per line, with "file"
//	node tap-reference.mjs --out DIR FILE...    # writes DIR/BASENAME.tap-parser.json
//
// The counts are tap-parser's FinalResults: top-level test points only
// (subtests are summarised by their parent's line). Its fail counts the
// failing test points and its protocol failures ("tapError"s: a broken
// plan, a duplicate number, a non-TAP line under pragma +strict…), which
// "failures" lists, each by its tapError, in order.
import { Parser } from 'tap-parser'
import { readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'

function counts(data) {
  return new Promise((resolve) => {
    const p = new Parser((r) =>
      resolve({
        ok: r.ok,
        count: r.count,
        pass: r.pass,
        fail: r.fail,
        todo: r.todo,
        skip: r.skip,
        bailout: r.bailout,
        failures: r.failures.filter((f) => f.tapError).map((f) => f.tapError),
        plan: {
          start: r.plan.start,
          end: r.plan.end,
          skipAll: r.plan.skipAll,
          skipReason: r.plan.skipReason,
        },
      }),
    )
    p.end(data)
  })
}

const args = process.argv.slice(2)
let out = null
if (args[0] === '--out') {
  out = args[1]
  args.splice(0, 2)
}
if (args.length === 0) {
  console.error('usage: node tap-reference.mjs [--out DIR] FILE...')
  process.exit(2)
}
for (const file of args) {
  const c = await counts(readFileSync(file))
  if (out) {
    writeFileSync(join(out, basename(file) + '.tap-parser.json'), JSON.stringify(c, null, 2) + '\n')
  } else {
    process.stdout.write(JSON.stringify({ file, ...c }) + '\n')
  }
}
